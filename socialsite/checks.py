"""System checks of settings read from the environment, run by `migrate` (so `make run` and
`make serve`) and `check`: a bad value refuses to start instead of failing requests later."""

from django.conf import settings
from django.core import checks

from socialsite.ratelimit import parse_rate


@checks.register(checks.Tags.security)
def throttle_rates(app_configs, **kwargs):
    """Every THROTTLE_* rate parses ("25/5m"): a bad one failed each request of its scope with a 500."""
    errors = []
    for name in sorted(n for n in dir(settings) if n.startswith("THROTTLE_")):
        try:
            parse_rate(getattr(settings, name))
        except (TypeError, ValueError) as exc:
            errors.append(
                checks.Error(f"{name}: {exc}", hint="A count and a period: 30/m, 25/5m, 20/h.", id="socialsite.E001")
            )
    return errors
