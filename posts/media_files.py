"""Local media files (SERVE_MEDIA, the embedded default): avatars as they are; a post's media
signed (media.signed_urls), or if its post is one anyone may see; raw uploads never."""

import uuid

from django.conf import settings
from django.http import Http404
from django.views.static import serve as serve_file

from media.models import Media
from media.signed_urls import POST_MEDIA, UPLOADS, valid_for
from posts.models import Post


def serve(request, path):
    """Local media (SERVE_MEDIA): avatars as they are; a post's media signed, or if its post is
    one anyone may see; raw uploads never. 404, not 403: an address proves nothing."""
    if path.startswith(UPLOADS):
        raise Http404
    cache = "public, max-age=86400"
    if path.startswith(POST_MEDIA):
        left = valid_for(path, request.GET)
        if left is not None:
            cache = f"public, max-age={left}, immutable"  # only the signed address reaches it
        elif not _anyone_may_see(path[len(POST_MEDIA) :].split("/", 1)[0]):
            raise Http404
    response = serve_file(request, path, document_root=settings.MEDIA_ROOT)
    response["Cache-Control"] = cache
    return response


def _anyone_may_see(media_id):
    try:
        media_id = uuid.UUID(media_id)
    except ValueError:
        return False
    post = Media.objects.filter(pk=media_id).values_list("post_id", flat=True).first()
    return post is not None and Post.objects.visible_to(None).filter(pk=post).exists()
