"""Writes for link previews: fetch a link post's card and store it on the post."""

import logging

from django.utils import timezone

from posts.link_preview.errors import PreviewError, PreviewTimeout
from posts.link_preview.fetching import fetch_preview
from posts.models import Post
from socialsite import breakers

# Timeouts and refused connections count (the way out to the internet is down); a page that
# answered, even with an error, or a link refused by the guards, does not. One breaker for all
# sites: a few dead sites in a row skip everyone's previews for BREAKER_RESET_SECONDS.
BREAKER = breakers.breaker(
    "link_preview",
    exclude=[lambda exc: isinstance(exc, PreviewError) and exc.reason not in ("timeout", "connection")],
)

logger = logging.getLogger(__name__)


def _store(post_id, url, data):
    """Write the card only while the post still links to `url` and is not deleted."""
    # updated_at moves so cached payloads (keyed by it) pick up the card.
    return Post.objects.filter(pk=post_id, link_url=url, deleted_at__isnull=True).update(
        link_preview=data, updated_at=timezone.now()
    )


def post_link_preview(*, post_id, final=True):
    """Fetch and store the preview card of a link post. Idempotent.

    Skips a missing or deleted post, a post without a link, and a post whose preview (or error)
    for its current link is already stored. A timeout is raised as PreviewTimeout for the task
    to retry, unless `final`, when it is stored as the error; with the link-preview breaker open
    the post is left without a card. Returns the stored dict or None.
    """
    post = Post.objects.filter(pk=post_id, deleted_at__isnull=True).only("pk", "link_url", "link_preview").first()
    if post is None or not post.link_url:
        return None
    url = post.link_url
    if isinstance(post.link_preview, dict) and post.link_preview.get("url") == url:
        return None
    try:
        data = BREAKER.call(fetch_preview, url)
    except breakers.CircuitBreakerError:  # skipped: the post stays without a card
        logger.info("Link preview of post %s skipped: its fetches fail fast for now", post_id)
        return None
    except PreviewTimeout:
        if not final:
            raise
        data = {"error": "timeout", "url": url}
    except PreviewError as exc:
        logger.info("No link preview for post %s: %s", post_id, exc)
        data = {"error": exc.reason, "url": url}
    data["fetched_at"] = timezone.now().isoformat()
    _store(post_id, url, data)
    return data
