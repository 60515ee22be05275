"""Request checks and answers every page and API call shares."""

from django.conf import settings
from django_prometheus import middleware as prometheus

from socialsite import outbox, views
from socialsite.breakers import DependencyUnavailable

NUL = "\x00"


class RefuseNulMiddleware:
    """A NUL character in the path or the query string is a 400, before any view: PostgreSQL
    refuses NUL in text, so it reached the database as a 500 (the API's JSON bodies are checked by
    socialsite.api.parsers; forms refuse it field by field)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.GET
        if NUL in request.path or any(NUL in key or any(NUL in value for value in query.getlist(key)) for key in query):
            return views.bad_request(request, message="NUL characters aren't allowed in an address.")
        return self.get_response(request)


class OwnErrorPagesMiddleware:
    """The site's own 404 and 500 pages with DEBUG on too (`make run`): Django's technical pages
    told a new user about URLconfs and settings. DEBUG_ERROR_PAGES=true brings them back."""

    TECHNICAL = b"because you have <code>DEBUG = True</code>"  # in both of Django's technical pages

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code in (404, 500)
            and settings.DEBUG
            and not settings.DEBUG_ERROR_PAGES
            and not response.streaming
            and self.TECHNICAL in response.content
        ):
            return views.page_not_found(request) if response.status_code == 404 else views.server_error(request)
        return response


class DependencyUnavailableMiddleware:
    """A web page whose work needs a dependency that is down (an SMS provider behind allauth's
    code pages, say) answers 503 with the reason and Retry-After, not the 500 page. The API's
    exception handler does the same in the JSON envelope."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DependencyUnavailable):
            return views.service_unavailable(request, exception)
        return None


class PublishAfterResponseMiddleware:
    """With a broker, what a request's transactions queued in the outbox is published once the
    response has been sent (Django closes a response after the server wrote it), so the client
    doesn't wait for the broker (publishing two tasks took 1.1-1.6 ms, timed in fanout_post). A
    streaming response (SSE) could run for minutes: its rows go at once. Embedded (no broker)
    tasks still run at the commit, so a response can carry their result (POST /media)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with outbox.held() as committed:
            response = self.get_response(request)
        if committed:
            if response.streaming:
                outbox.publish(committed)
            else:
                response._resource_closers.append(lambda: outbox.publish(committed))
        return response


class PrometheusAfterMiddleware(prometheus.PrometheusAfterMiddleware):
    """django-prometheus's, sync only. Innermost, it would run async under ASGI (Daphne), and its
    process_response would cost every request one more hop between the event loop and the sync
    thread; with the rest of the stack sync, the stack switches modes once, around the view."""

    async_capable = False
