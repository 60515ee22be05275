"""Checks of query parameters and ids that the API and the pages share: a bad parameter is a
ServiceError (400 in the envelope), never ignored; a malformed id is a NotFoundError (404)."""

import uuid
from collections.abc import Iterable, Mapping

from socialsite.errors import NotFoundError, ServiceError


def uuid_or_none(value: object) -> uuid.UUID | None:
    """`value` as a UUID, or None: for a caller whose answer to a malformed id isn't a 404."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def parse_uuid(value: object, message: str = "Not found.") -> uuid.UUID:
    """`value` as a UUID; anything else is no such object (404, `message`)."""
    parsed = uuid_or_none(value)
    if parsed is None:
        raise NotFoundError(message)
    return parsed


def reject_unknown(
    params: Iterable[str],
    allowed: Iterable[str],
    message: str = "Unknown parameter.",
    problem: str = "Unknown parameter.",
) -> None:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ServiceError(message, code="invalid", fields={name: [problem] for name in unknown})


def limit(params: Mapping[str, str], default: int, most: int) -> int:
    """`limit`, the one rule of every list (docs/api.md): `default` when absent, at most `most`
    (a larger one is taken as `most`), and anything but a whole number from 1 a 400."""
    raw = params.get("limit")
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ServiceError(
            f"limit is a whole number from 1 (at most {most} are given).",
            code="invalid",
            fields={"limit": [f"A whole number from 1; {most} at most are given."]},
        )
    return min(int(raw), most)
