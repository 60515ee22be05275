import gc
import os

from django.core.wsgi import get_wsgi_application

from socialsite import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialsite.settings")
# With OTEL_EXPORTER_OTLP_ENDPOINT; before Django builds its middleware. gunicorn imports this in
# each worker after the fork (preload_app = False), so each has its own exporter thread.
tracing.setup()
application = get_wsgi_application()

# Everything loaded so far lives as long as the process: keep it out of the collector's full
# passes, which otherwise walk it all and stall a request for tens of milliseconds.
gc.freeze()
