import gc
import os

from django.core.asgi import get_asgi_application

from socialsite import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialsite.settings")
tracing.setup()  # with OTEL_EXPORTER_OTLP_ENDPOINT; before Django builds its middleware
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up)

from socialsite.realtime.auth import TokenOrSessionAuthMiddleware  # noqa: E402
from socialsite.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": TokenOrSessionAuthMiddleware(URLRouter(websocket_urlpatterns)),
    }
)

# Everything loaded so far lives as long as the process: keep it out of the collector's full
# passes, which otherwise walk it all and stall a request for tens of milliseconds.
gc.freeze()
