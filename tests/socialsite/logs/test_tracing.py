"""OpenTelemetry is switched on by OTEL_EXPORTER_OTLP_ENDPOINT alone (socialsite.tracing); the
trace itself, from a request into its task, is followed in tests/e2e/test_logs_traces.py."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import json, sys
import {module}
from socialsite import tracing
from django.conf import settings
# redis-py 8 imports the SDK's metrics module itself when it is installed; ours are these.
loaded = any(name in sys.modules for name in ("opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.http",
             "opentelemetry.instrumentation.django", "opentelemetry.instrumentation.celery"))
from opentelemetry import trace
print(json.dumps({{
    "sdk_loaded": loaded,
    "provider": type(trace.get_tracer_provider()).__name__,
    "django_middleware": any("opentelemetry" in name for name in settings.MIDDLEWARE),
    "traceparent": tracing.traceparent(),
}}))
"""


def probe(module, **env):
    environ = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        cwd=ROOT,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_without_an_otlp_endpoint_no_tracer_provider_is_installed():
    seen = probe("socialsite.asgi")
    assert seen == {
        "sdk_loaded": False,
        "provider": "ProxyTracerProvider",
        "django_middleware": False,
        "traceparent": "",
    }
