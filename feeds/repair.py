"""The feed's sweeper (socialsite.repair): fan-outs that stopped moving are resumed."""

from feeds import services
from socialsite import repair


@repair.check("stalled fan-outs resumed")
def stalled_fanouts():
    return services.resume_stalled()
