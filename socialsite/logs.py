"""Structured logs (docs/operations.md "Logs and traces").

Every process logs through the standard library's handlers with structlog's ProcessorFormatter, so
structlog's loggers (django-structlog's request and task lines) and plain `logging.getLogger(...)`
calls (Django, Celery, Daphne, gunicorn, ours) come out alike: one JSON object a line
(LOG_FORMAT=json) or readable lines (console). Both carry what structlog's context holds: the
request's `request_id` and `user_id` (django_structlog's RequestMiddleware), a task's `task_id`
and the `request_id` of the request that queued it (its Celery receiver, from the task's headers).

This module imports nothing of Django at the top: gunicorn's master reads `logging_config` too.
"""

from __future__ import annotations

import re
import time
from typing import Any

import structlog
from structlog.typing import EventDict

FORMATS = ("json", "console")

# X-Request-ID from a client or a proxy: kept if it looks like an id (nginx's $request_id is 32 hex
# digits, a UUID 36 characters), else replaced by one of ours. It goes into logs, socket frames and
# task headers, so no spaces, quotes, control characters or unbounded lengths.
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
HEADER = "X-Request-ID"

# Values of these keys never reach a log line; the same words in a query string are masked too.
SECRET_KEYS = re.compile(r"pass(word)?|secret|token|authorization|cookie|api_?key", re.IGNORECASE)
SECRET_QUERY = re.compile(
    r"((?:access_token|refresh_token|token|code|password|secret|key|signature|sig)=)[^&\s]*", re.IGNORECASE
)
MASK = "***"


def _mask_secrets(logger: Any, method: str, event: EventDict) -> EventDict:
    for key, value in event.items():
        if key != "event" and value is not None and SECRET_KEYS.search(key):
            event[key] = MASK
    request = event.get("request")
    if isinstance(request, str):
        event["request"] = mask_query(request)
    return event


def _drop_message(logger: Any, method: str, event: EventDict) -> EventDict:
    # ExtraAdder copies the record's formatted `message` too: the same text as `event`.
    event.pop("message", None)
    return event


def _one_line_per_request(logger: Any, method: str, event: EventDict) -> EventDict:
    # django-structlog logs a request twice; its `request_finished` line carries all the first
    # one does but the user agent (nginx logs that), and each line costs a request tens of µs.
    if event.get("event") == "request_started":
        raise structlog.DropEvent
    return event


def mask_query(text: str) -> str:
    """`GET /path?access_token=abc` -> `GET /path?access_token=***`."""
    return SECRET_QUERY.sub(rf"\g<1>{MASK}", text)


# What both kinds of record go through before rendering: structlog's own (through
# wrap_for_formatter) and the standard library's ("foreign", as ProcessorFormatter calls them).
_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,  # request_id, user_id, task_id on stdlib lines too
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """The `LOGGING` dict (dictConfig) of a process: one handler on the root logger, to stderr."""
    if log_format not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    ending = [structlog.processors.format_exc_info] if log_format == "json" else []
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            log_format: {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": [*_SHARED, structlog.stdlib.ExtraAdder(), _drop_message, _mask_secrets],
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *ending,
                    renderer,
                ],
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": log_format}},
        "root": {"handlers": ["console"], "level": level},
    }


def configure_structlog() -> None:
    """structlog's loggers hand their events to the standard library's handlers (logging_config)."""
    structlog.configure(
        processors=[
            _one_line_per_request,
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            _mask_secrets,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def current_request_id() -> str:
    """The request id bound in this context (a request, a task it queued, a socket frame), or ""."""
    request_id: str = structlog.contextvars.get_contextvars().get("request_id") or ""
    return request_id


def sane_request_id(value: str | None) -> str | None:
    return value if value and REQUEST_ID.fullmatch(value) else None


# --- django-structlog's request signals (connected in socialsite.apps) ----------------------------


def bind_request(request: Any, log_kwargs: dict[str, Any], **kwargs: Any) -> None:
    """request_started: take the client's (or nginx's) X-Request-ID when it is sane; mask secrets."""
    request._log_started = time.monotonic()
    upstream = sane_request_id(request.headers.get(HEADER))
    if upstream:
        structlog.contextvars.bind_contextvars(request_id=upstream)
    log_kwargs["request"] = mask_query(log_kwargs["request"])


def finish_request(request: Any, response: Any, log_kwargs: dict[str, Any], **kwargs: Any) -> None:
    """request_finished: the view's route name and the duration; the id goes back in the response."""
    match = getattr(request, "resolver_match", None)
    log_kwargs["view"] = match.view_name if match is not None else None
    started = getattr(request, "_log_started", None)
    if started is not None:
        log_kwargs["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
    log_kwargs["request"] = mask_query(log_kwargs["request"])
    set_response_header(response)


def fail_request(request: Any, log_kwargs: dict[str, Any], **kwargs: Any) -> None:
    """request_failed (an exception): the same fields as request_finished."""
    finish_request(request, None, log_kwargs)


def set_response_header(response: Any, **kwargs: Any) -> None:
    request_id = current_request_id()
    if response is not None and request_id:
        response[HEADER] = request_id
