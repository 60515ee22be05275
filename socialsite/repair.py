"""Sweepers: checks that find work which stopped and set it going again.

A feature app declares its checks in its own `repair.py`:

    @repair.check("stalled fan-outs")
    def stalled_fanouts():
        return services.resume_stalled()   # how many it set going again

They run every REPAIR_SECONDS in a beat task (socialsite.tasks.repair) and by hand with
`manage.py repair`, after the outbox relay. Each check is idempotent and bounded per run, so a
run that overlaps another or is interrupted does no harm.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.utils.module_loading import autodiscover_modules

logger = logging.getLogger(__name__)

CHECKS: dict[str, Callable[..., Any]] = {}


def check(name):
    def register(function):
        CHECKS[name] = function
        return function

    return register


def run_all():
    """{check name: how many it set going again, or the error it raised}; the outbox relay first."""
    from socialsite import outbox

    autodiscover_modules("repair")
    results = {}
    for name, function in [("outbox messages published", outbox.relay), *CHECKS.items()]:
        try:
            results[name] = function()
        except Exception as exc:  # one broken check doesn't stop the others
            logger.exception("repair: %s failed", name)
            results[name] = f"error: {type(exc).__name__}"
    found = {name: value for name, value in results.items() if value}
    if found:
        logger.warning("repair: %s", ", ".join(f"{name}: {value}" for name, value in found.items()))
    return results
