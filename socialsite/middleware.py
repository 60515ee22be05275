"""Request checks every page and API call shares."""

from socialsite import views

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
