"""Under ASGI (Daphne) the middleware stack switches between async and sync once, around the view:
each switch is a hop between the event loop and the sync thread, which a busy loop (hundreds of
sockets) makes every request wait for. django-prometheus's After middleware, innermost and async
capable, once ran async and added a hop per request for its process_response."""

from asgiref.sync import iscoroutinefunction
from django.core.handlers.asgi import ASGIHandler


class CountingASGIHandler(ASGIHandler):
    def __init__(self):
        self.switches = []
        super().__init__()

    def adapt_method_mode(self, is_async, method, method_is_async=None, debug=False, name=None):
        if method_is_async is None:
            method_is_async = iscoroutinefunction(method)
        if name and name.startswith("middleware ") and is_async != method_is_async:
            self.switches.append(name.removeprefix("middleware "))
        return super().adapt_method_mode(is_async, method, method_is_async, debug, name)


def test_the_asgi_middleware_stack_switches_modes_once_around_the_view(settings):
    handler = CountingASGIHandler()
    # The innermost middleware is sync and wraps the async view handler; every one outside it is sync too.
    assert handler.switches == [settings.MIDDLEWARE[-1]]
