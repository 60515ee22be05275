"""Addresses of media files: signed and expiring, so a photo of a followers-only post can't be
loaded by whoever learns its address (docs/security.md, "Media").

Every URL of a post's media variant carries an expiry and a signature. The expiry is the end of
the next MEDIA_URL_WINDOW_SECONDS window but two, so the address is the same for every viewer and
every page within a window (browsers and caches keep it), and a cached payload's addresses (an hour,
posts/payloads.py) still work for at least a window. Locally the signature is an HMAC of the path
and the expiry, checked by `posts.media_files.serve`; on S3 it is a presigned URL (the bucket is
private). Media of a post anyone may see also loads without a signature locally, so old links
keep working.
"""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.storage import default_storage, storages
from django.utils.crypto import constant_time_compare, salted_hmac

from media.storage import STORAGE_PREFIX

SALT = "posts.media_urls"  # from when this was posts/media_urls.py: a new salt would void every address
POST_MEDIA = f"{STORAGE_PREFIX}/"  # posts/media/<media id>/<variant>
UPLOADS = "uploads/"  # raw uploads, before processing: never served


def expiry(now=None):
    window = settings.MEDIA_URL_WINDOW_SECONDS
    now = time.time() if now is None else now
    return int(now // window * window + 3 * window)


def signature(path, expires):
    return salted_hmac(SALT, f"{path}\n{expires}", algorithm="sha256").hexdigest()


def url(path, request=None):
    """The signed URL of a stored post media file, absolute when a request is given."""
    expires = expiry()
    if "signed_media" in settings.STORAGES:  # S3: presigned by the storage
        return storages["signed_media"].url(path, expire=max(1, expires - int(time.time())))
    address = f"{default_storage.url(path)}?{urlencode({'expires': expires, 'signature': signature(path, expires)})}"
    return request.build_absolute_uri(address) if request is not None and address.startswith("/") else address


def valid_for(path, query, now=None):
    """Seconds the signature in `query` is still good for this path, or None."""
    try:
        expires = int(query.get("expires", ""))
    except ValueError:
        return None
    left = expires - (time.time() if now is None else now)
    if left <= 0 or not constant_time_compare(query.get("signature", ""), signature(path, expires)):
        return None
    return int(left)
