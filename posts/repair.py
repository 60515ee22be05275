"""The posts' sweepers (socialsite.repair): posts left waiting for their media."""

from posts import services
from socialsite import repair


@repair.check("posts left pending media settled")
def stuck_posts():
    return services.posts_settle_stuck()
