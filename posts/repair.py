"""The posts' sweepers (socialsite.repair): media processing that stopped, posts left waiting."""

from posts import media, services
from socialsite import repair


@repair.check("stalled media queued again or failed")
def stalled_media():
    return media.media_resume_stalled()


@repair.check("unattached uploads deleted")
def unattached_media():
    return media.media_prune_unattached()


@repair.check("posts left pending media settled")
def stuck_posts():
    return services.posts_settle_stuck()
