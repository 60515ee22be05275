"""Checks of query parameters that the API and the pages share: a bad one is a ServiceError
(400 in the envelope), never ignored."""

from socialsite.errors import ServiceError


def reject_unknown(params, allowed, message="Unknown parameter.", problem="Unknown parameter."):
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ServiceError(message, code="invalid", fields={name: [problem] for name in unknown})


def limit(params, default, most):
    """`limit` as a whole number from 1 to `most`; `default` when absent."""
    raw = params.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise ServiceError(
            f"limit is 1 to {most}.", code="invalid", fields={"limit": [f"A whole number, 1 to {most}."]}
        )
    return int(raw)
