import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialsite.settings")
application = get_wsgi_application()

# Everything loaded so far lives as long as the process: keep it out of the collector's full
# passes, which otherwise walk it all and stall a request for tens of milliseconds.
gc.freeze()
