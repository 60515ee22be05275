"""OpenTelemetry tracing, on only when OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/operations.md "Logs and traces").

`setup()` runs once per process that serves or works: asgi.py and wsgi.py (each gunicorn worker
imports wsgi.py after the fork) and every Celery worker process (socialsite.celery). It installs
an SDK tracer provider that sends spans over OTLP/HTTP to that endpoint, and instruments Django,
Celery, psycopg and Redis. Without the variable neither the tracer, the exporter nor an
instrumentation is imported.

A task is published after the request's span has ended (after the response, or by the relay in
another process), so the outbox row keeps the request's W3C `traceparent` (`traceparent()` at
enqueue) and the publish runs under it (`parent()`): Celery's instrumentation starts its publish
span there and puts it in the task's headers, and the worker's task span continues the trace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

_enabled = False


def wanted() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def setup() -> bool:
    """Install the tracer provider and the instrumentations (once). True when tracing is on."""
    global _enabled
    if _enabled or not wanted():
        return _enabled
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER and the exporter's
    # OTEL_EXPORTER_OTLP_* variables are read by the SDK itself.
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or "socialsite"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()  # adds its middleware: before Django loads the middleware
    CeleryInstrumentor().instrument()
    PsycopgInstrumentor().instrument(enable_commenter=False)
    RedisInstrumentor().instrument()
    _enabled = True  # nothing logged here: asgi.py runs this before Django has set up logging
    return True


def shutdown() -> None:
    """Send the spans still batched (a worker child exiting)."""
    if _enabled:
        from opentelemetry import trace

        provider = trace.get_tracer_provider()
        if hasattr(provider, "shutdown"):
            provider.shutdown()


def traceparent() -> str:
    """The W3C traceparent of the current span, or "" (tracing off, or no span)."""
    if not _enabled:
        return ""
    from opentelemetry.propagate import inject

    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent", "")


@contextmanager
def parent(value: str) -> Iterator[None]:
    """Run the block as a child of the span `value` (a traceparent) names."""
    if not (_enabled and value):
        yield
        return
    from opentelemetry import context
    from opentelemetry.propagate import extract

    token = context.attach(extract({"traceparent": value}))
    try:
        yield
    finally:
        context.detach(token)
