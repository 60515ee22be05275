"""Media's sweepers (socialsite.repair): processing that stopped, uploads no post took."""

from media import services
from socialsite import repair


@repair.check("stalled media queued again or failed")
def stalled_media():
    return services.media_resume_stalled()


@repair.check("unattached uploads deleted")
def unattached_media():
    return services.media_prune_unattached()
