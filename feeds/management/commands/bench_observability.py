"""What metrics and structured logs cost a request: `python manage.py bench_observability [--requests 2000]`.

In one process, request by request in turn (so this host's drift hits both alike), the same
requests through Django's handler with:

- the whole middleware stack: django-prometheus's Before and After middlewares (requests by view
  and status, latency histograms) and django-structlog's RequestMiddleware (the request id, two
  JSON log lines a request), as settings.MIDDLEWARE has them;
- the metrics middlewares without the request logs;
- the same stack without those three middlewares.

What can't be switched per request is in both: the timed database backend and cache
(django-prometheus's wrappers, socialsite.cache's timer) and the product counters. Log lines go
to /dev/null, as cheap a sink as a container runtime's pipe. Endpoints: GET /healthz (no
database: the floor), GET /api/v1/posts/{id} and GET /api/v1/feed with a bearer token, on
bench_feed's data (built at --scale when there is none, as bench_http does).
"""

import functools
import logging
import os
import time

from django.conf import settings
from django.test import override_settings
from django.test.client import ClientHandler, RequestFactory
from rest_framework.throttling import SimpleRateThrottle

from accounts import tokens
from feeds.management.commands import bench_http
from socialsite.benchmarks import GENEROUS_RATE, BenchmarkCommand, pct_ms

REQUEST_LOGS = "django_structlog.middlewares.RequestMiddleware"
OBSERVABILITY = (
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "socialsite.middleware.PrometheusAfterMiddleware",
    REQUEST_LOGS,
)
WARM_UP = 100


class Command(BenchmarkCommand):
    help = "Per-request cost of the metrics and request-log middlewares, against the same stack without them."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=2000, help="requests timed per variant and endpoint")
        parser.add_argument("--scale", type=float, default=0.02, help="bench_feed's data when there is none")

    def handle(self, *args, **options):
        readers, post_ids = bench_http.Command(stdout=self.stdout, stderr=self.stderr).data(options["scale"])
        bearer = f"Bearer {tokens.access_token(readers[0])}"
        host = next((name.lstrip(".") for name in settings.ALLOWED_HOSTS if name != "*"), "localhost")
        factory = RequestFactory(HTTP_HOST=host)  # past ALLOWED_HOSTS; secure=True past the HTTPS redirect
        endpoints = [
            ("GET /healthz", lambda: factory.get("/healthz", secure=True)),
            (
                "GET /api/v1/posts/{id}",
                lambda: factory.get(f"/api/v1/posts/{post_ids[0]}", secure=True, HTTP_AUTHORIZATION=bearer),
            ),
            ("GET /api/v1/feed", lambda: factory.get("/api/v1/feed", secure=True, HTTP_AUTHORIZATION=bearer)),
        ]
        variants = {
            "with metrics and request logs": handler(settings.MIDDLEWARE),
            "metrics only": handler([name for name in settings.MIDDLEWARE if name != REQUEST_LOGS]),
            "without them": handler([name for name in settings.MIDDLEWARE if name not in OBSERVABILITY]),
        }
        requests = options["requests"]
        samples = {(endpoint, variant): [] for endpoint, _ in endpoints for variant in variants}
        self.step(f"{requests:,} requests per variant and endpoint, the variants in turn")
        # A benchmark asks far faster than a person: every scope's rate, read by each throttle per request.
        rates = SimpleRateThrottle.THROTTLE_RATES
        saved_rates = dict(rates)
        rates.update(dict.fromkeys(rates, GENEROUS_RATE))
        try:
            self.run(endpoints, variants, requests, samples)
        finally:
            rates.update(saved_rates)
        self.done()
        self.say()
        self.say(f"bench_observability: {requests:,} requests per cell, in process (no server), {connection_name()}")
        rows = [("endpoint", "variant", "p50", "p99")]
        for endpoint, _ in endpoints:
            for variant in variants:
                cell = samples[endpoint, variant]
                rows.append((endpoint, variant, pct_ms(cell, 50), pct_ms(cell, 99)))
            rows.append(None)
        self.table(rows[:-1])

    def run(self, endpoints, variants, requests, samples):
        with quiet_logs():
            for endpoint, make in endpoints:
                for round_ in range(WARM_UP + requests):
                    for variant, run in variants.items():
                        request = make()
                        started = time.perf_counter()
                        response = run(request)
                        elapsed = time.perf_counter() - started
                        if response.status_code != 200:
                            raise RuntimeError(f"{endpoint} answered {response.status_code} ({variant})")
                        if round_ >= WARM_UP:
                            samples[endpoint, variant].append(elapsed)


def handler(middleware):
    """A request handler (Django's test ClientHandler: the whole stack, CSRF checks off) built with
    this middleware list; it keeps the list it was built with after the override ends."""
    with override_settings(MIDDLEWARE=list(middleware)):
        built = ClientHandler(enforce_csrf_checks=False)
        built.load_middleware()

    def run(request):
        response = built.get_response(request)
        response.close()  # what the server does after writing it: request_finished, connections back
        return response

    return run


class quiet_logs:
    """Every log handler writes to /dev/null while the benchmark runs (the lines are still made).
    The sink is never closed: a handler that outlives the block writes to /dev/null, not to a
    closed file."""

    def __enter__(self):
        loggers = [
            logging.root,
            *(x for x in logging.root.manager.loggerDict.values() if isinstance(x, logging.Logger)),
        ]
        handlers = {each for logger in loggers for each in logger.handlers if isinstance(each, logging.StreamHandler)}
        self.saved = [(each, each.stream) for each in handlers]  # None for a file handler not yet opened
        for each in handlers:
            each.setStream(devnull())
        return self

    def __exit__(self, *exc):
        for each, stream in self.saved:
            each.flush()
            each.stream = stream  # setStream() can't put back a None


@functools.cache
def devnull():
    return open(os.devnull, "w")  # noqa: SIM115 -- one per process, never closed


def connection_name():
    from django.db import connection

    return f"{connection.vendor}, cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}"
