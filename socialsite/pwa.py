"""The installable web app: the manifest, the service worker and the offline page.

The service worker is served from the root (/sw.js) so that its scope is the whole site. It
precaches the offline page and the static files every page loads, and caches the other static
files as pages ask for them; its cache is named after a hash of the precached files' URLs and
contents, so a deploy that changes any of them installs a new worker, which drops the old
cache. Pages are never cached (they are per user): a navigation that fails offline shows
/offline/. The worker's code is static/js/sw.js, served here after one line of settings
(`self.SW_CONFIG`); it also shows Web Push notifications (notifications/push.py) and opens
their page on a click.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import ManifestStaticFilesStorage, staticfiles_storage
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

THEME_COLOR = "#4338ca"  # --color-accent in static/css/site.css
BACKGROUND_COLOR = "#f4f5fa"  # --bg

# What the offline page and most pages load. A file missing here still works: the worker caches
# any /static/ file the first time a page asks for it.
PRECACHE = [
    "css/site.css",
    "vendor/htmx.min.js",
    "js/realtime.js",
    "js/pwa.js",
    "img/logo.svg",
    "img/favicon.svg",
    "img/icons/icon-192.png",
]


@require_safe
@cache_control(max_age=3600)
def manifest(request: HttpRequest) -> HttpResponse:
    data = {
        "id": "/",
        "name": "socialsite",
        "short_name": "socialsite",
        "description": "Posts, messages and notifications from the people you follow.",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "icons": [
            {"src": static("img/icons/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": static("img/icons/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {
                "src": static("img/icons/maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    return JsonResponse(data, content_type="application/manifest+json")


@lru_cache(maxsize=1)
def _worker_config() -> dict[str, object]:
    """The precache list and the cache version, once per process (the files change with a deploy)."""
    urls = [static(path) for path in PRECACHE]
    digest = hashlib.sha256()
    for path, url in zip(PRECACHE, urls, strict=True):
        digest.update(url.encode())
        found = finders.find(path)
        if isinstance(found, str):  # the hashed URL says it in production; this covers the rest
            with open(found, "rb") as source:
                digest.update(hashlib.sha256(source.read()).digest())
    return {
        "version": digest.hexdigest()[:16],
        "precache": urls,
        "offline": "/offline/",
        "static": settings.STATIC_URL,
        # Hashed file names never change content: served from the cache without asking.
        "hashed": isinstance(staticfiles_storage, ManifestStaticFilesStorage),
        "icon": static("img/icons/icon-192.png"),
    }


@lru_cache(maxsize=1)
def _worker_script() -> bytes:
    found = finders.find("js/sw.js")
    if isinstance(found, str):
        with open(found, "rb") as source:
            code = source.read()
    else:  # pragma: no cover -- only collected files, no source folders
        with staticfiles_storage.open("js/sw.js") as source:
            code = source.read()
    return b"self.SW_CONFIG = " + json.dumps(_worker_config()).encode() + b";\n" + code


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    if settings.DEBUG:  # development: an edited sw.js or precached file shows on the next load
        _worker_config.cache_clear()
        _worker_script.cache_clear()
    response = HttpResponse(_worker_script(), content_type="text/javascript; charset=utf-8")
    # The browser checks for a new worker on every navigation; never serve it a stale copy.
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response


@require_safe
def offline(request: HttpRequest) -> HttpResponse:
    """The page the worker shows when a navigation fails offline: the same for everyone, so
    cached without anyone's data in it."""
    return render(request, "pwa/offline.html", {"theme_color": THEME_COLOR})
