"""Time the home page and two API calls in-process, before and after a change, side by side in one run (issue 18).

    tools/bench_requests.py --before /work/main --after /work/wt4 [--rounds 3] [--n 60]

Each round runs this file as a worker under each checkout in turn (the same database, Redis and
data set: `manage.py bench_feed --scale 0.02 --reset` first), so both see the same machine load.
A worker signs in as a reader through Django's test Client (session cookie) and as a writer with
a bearer token (APIClient), warms up (20 requests of each kind), then times with
time.perf_counter, one request at a time:

- GET /                    the signed-in home page (20 post cards, header badges)
- the same with no post payload or card body cached (deleted before each request, untimed)
- GET /api/v1/posts/{id}   the reader's 20 feed posts in turn
- POST /api/v1/posts       a text post without mentions or hashtags (removed at the end)

and counts each one's queries once (an execute_wrapper, outside the timed loop). Prints p50,
p90 and queries per request for before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

READER = "bench_373"  # follows ~190 accounts at --scale 0.02
WRITER = "bench_1999"


def worker(n: int) -> dict:
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from rest_framework.test import APIClient

    from accounts import tokens
    from accounts.models import User
    from feeds import selectors
    from posts.models import Post

    host = {"HTTP_HOST": "localhost"}
    reader = User.objects.get(username=READER)
    writer = User.objects.get(username=WRITER)
    web = Client(**host)
    web.force_login(reader)
    api = APIClient(**host)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.access_token(reader)}")
    poster = APIClient(**host)
    poster.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.access_token(writer)}")
    ids = [str(row["id"]) for row in selectors.home_feed(viewer=reader, limit=20).rows]

    def home():
        response = web.get("/")
        assert response.status_code == 200, response.status_code

    def forget_posts():
        """Drop every cached post payload and card body (what a page's first reader pays for)."""
        client = cache._cache.get_client(None, write=True) if hasattr(cache, "_cache") else None
        if client is None:  # the in-process cache: all of it
            cache.clear()
            return
        for pattern in ("*post-payload:*", "*post-card:*"):
            keys = list(client.scan_iter(match=pattern, count=1000))
            if keys:
                client.delete(*keys)

    def home_cold():
        forget_posts()
        start = time.perf_counter()
        home()
        return time.perf_counter() - start

    counter = iter(range(10**9))

    def detail():
        response = api.get(f"/api/v1/posts/{ids[next(counter) % len(ids)]}")
        assert response.status_code == 200, response.status_code

    def create():
        response = poster.post("/api/v1/posts", {"content": "bench-http post"}, format="json")
        assert response.status_code == 201, response.content

    results = {}
    for name, call in (("home", home), ("home_cold", home_cold), ("detail", detail), ("create", create)):
        for _ in range(len(ids)):  # warm: every post's cached payload, the session, the counts
            call()
        queries: list[str] = []

        def count(execute, sql, *rest, into=queries):
            into.append(sql)
            return execute(sql, *rest)

        with connection.execute_wrapper(count):
            call()
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            took = call()  # home_cold times itself, without the cache clean-up
            samples.append((took if took is not None else time.perf_counter() - start) * 1000)
        results[name] = {"samples": samples, "queries": len(queries)}
    Post.objects.filter(author=writer, content="bench-http post").delete()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", default="/work/main")
    parser.add_argument("--after", default=os.getcwd())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--worker", action="store_true")
    args = parser.parse_args()
    if args.worker:
        sys.path.insert(0, os.getcwd())
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialsite.settings")
        os.environ.setdefault("THROTTLE_API", "1000000/5m")  # still checked on every call, never hit
        print(json.dumps(worker(args.n)))
        return
    merged: dict[str, dict[str, dict]] = {"before": {}, "after": {}}
    for _ in range(args.rounds):
        for label, code in (("before", args.before), ("after", args.after)):
            out = subprocess.run(  # noqa: S603 -- this file, run as a worker
                [sys.executable, os.path.abspath(__file__), "--worker", "--n", str(args.n)],
                cwd=code,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            for name, result in json.loads(out.strip().splitlines()[-1]).items():
                into = merged[label].setdefault(name, {"samples": [], "queries": result["queries"]})
                into["samples"] += result["samples"]
    print(f"{'request':<24}{'before p50':>12}{'p90':>8}{'queries':>9}{'after p50':>12}{'p90':>8}{'queries':>9}")
    for name, title in (
        ("home", "GET /"),
        ("home_cold", "GET /, no post cached"),
        ("detail", "GET /api/v1/posts/{id}"),
        ("create", "POST /api/v1/posts"),
    ):
        cells = []
        for label in ("before", "after"):
            r = merged[label][name]
            q = statistics.quantiles(r["samples"], n=10)
            cells.append(f"{statistics.median(r['samples']):>10.2f}ms{q[8]:>6.1f}ms{r['queries']:>9}")
        print(f"{title:<24}{cells[0]}{cells[1]}")
    print(f"({args.rounds} rounds × {args.n} timed requests per checkout, alternating)")


if __name__ == "__main__":
    main()
