"""Benchmark plain HTTP, old shape against new: `python manage.py bench_http [--duration 5]`.

On PostgreSQL and Redis, on the bench_feed data (built at --scale if no `bench_*` users exist):

- old: one Daphne, as `make run` starts it (`python -m socialsite.serve`);
- new: the production shape, as `make serve` starts it (`python -m socialsite.production`: nginx,
  gunicorn, Daphne), without its Celery worker and beat, so both shapes do the same work.

Both shapes are up at once (the idle one costs next to nothing) and their cells alternate, old
then new for each endpoint and concurrency, so a busy neighbour on the machine weighs on both
alike. Same data and environment (DEBUG=false, rate limits out of reach, the broker of
CELERY_BROKER_URL with nothing consuming it: a post's fan-out is queued, not done). wrk drives
each cell over loopback for --duration seconds with a Lua script that
rotates 50 bench readers (a JWT each; the home page with a session cookie each) and, for the post
detail, 200 ids of public bench posts. Each cell reports requests/s, p50 and p99 latency (wrk's),
the CPU time the shape's processes spent per request (from /proc: less sensitive to a busy
machine than the rates), answers other than 2xx and socket errors (connect, read, write,
timeout), and the most PostgreSQL
connections that shape's processes held (pg_stat_activity sampled every 50 ms, by the
application names they are started with). The posts that POST /api/v1/posts made are deleted at the end and the queues
purged, so a later worker has nothing of theirs to do.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.test import Client

from accounts import tokens
from accounts.models import Follow
from feeds.management.commands import bench_feed
from feeds.store import author_key, get_store, home_key
from posts.models import Post
from socialsite.benchmarks import (
    BenchmarkCommand,
    HttpServer,
    Processes,
    database_url,
    free_port,
    machine_line,
    process_env,
    require_postgres_and_redis,
)

SHAPES = ("old", "new")
ENDPOINTS = {
    # name: (label, method, path or None for the post ids, auth)
    "feed": ("GET /api/v1/feed", "GET", "/api/v1/feed", "jwt"),
    "top": ("GET /api/v1/feed?order=top", "GET", "/api/v1/feed?order=top", "jwt"),
    "post": ("GET /api/v1/posts/{id}", "GET", None, "jwt"),
    "create": ("POST /api/v1/posts", "POST", "/api/v1/posts", "jwt"),
    "home": ("GET / (signed in)", "GET", "/", "session"),
    # The shape's own floor: a view that reads nothing, so its row is HTTP and middleware alone.
    "floor": ("GET /healthz (floor)", "GET", "/healthz", "jwt"),
}
READERS = 50
POST_IDS = 200
APP_PREFIX = "socialsite-"  # PGAPPNAME of every process either shape starts
SAMPLE_SECONDS = 0.05

LUA = """
local values = %(values)s
local method, path, body = %(method)s, %(path)s, %(body)s
local header = %(header)s
local threads, counter = {}, 0
bad = 0  -- a global: done() reads it from each thread with thread:get

function setup(thread)
  thread:set("offset", #threads * 7)
  table.insert(threads, thread)
end

function init(args)
  counter = offset
end

request = function()
  counter = counter + 1
  local value = values[(counter %% #values) + 1]
  local headers = {}
  local target = path
  if header == "id" then
    target = "/api/v1/posts/" .. value[2]
    headers["Authorization"] = value[1]
  else
    headers[header] = value
  end
  if body then headers["Content-Type"] = "application/json" end
  return wrk.format(method, target, headers, body)
end

response = function(status, headers, body)
  if status < 200 or status > 299 then bad = bad + 1 end
end

done = function(summary, latency, requests)
  local non2xx = 0
  for _, thread in ipairs(threads) do non2xx = non2xx + thread:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "non2xx": %%d, "socket": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), non2xx,
    e.connect + e.read + e.write + e.timeout))
end
"""


def lua_string(text):
    return json.dumps(text)  # a JSON string is a valid Lua string literal for this ASCII


def lua_table(values):
    return "{" + ", ".join(lua_table(v) if isinstance(v, list | tuple) else lua_string(v) for v in values) + "}"


class OldDaphne(HttpServer):
    """The old shape: one Daphne as `make run` starts it."""

    app_names = [f"{APP_PREFIX}run"]

    def __init__(self, name, env, log_dir, port):
        argv = [sys.executable, "-m", "socialsite.serve", "-b", "127.0.0.1", "-p", port, "socialsite.asgi:application"]
        super().__init__(name, argv, env, log_dir, port)


class Production(HttpServer):
    """The new shape: `python -m socialsite.production` (nginx on the port, gunicorn, Daphne), no Celery."""

    app_names = [f"{APP_PREFIX}web", f"{APP_PREFIX}realtime-%"]  # the launcher names them (PGAPPNAME)

    def __init__(self, name, env, log_dir, port):
        argv = [sys.executable, "-m", "socialsite.production", "--port", port, "--no-celery"]
        super().__init__(name, argv, env, log_dir, port)


class PeakConnections:
    """The most connections of the shape's processes to this database, sampled in a thread."""

    def __init__(self, app_names):
        self.app_names = app_names  # LIKE patterns
        self.peak = 0
        self.stop = threading.Event()

    def __enter__(self):
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def run(self):
        with psycopg.connect(database_url(), autocommit=True) as conn:
            while not self.stop.is_set():
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name LIKE ANY(%s)",
                    [self.app_names],
                ).fetchone()
                self.peak = max(self.peak, row[0] if row else 0)
                self.stop.wait(SAMPLE_SECONDS)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)


def tree_cpu_seconds(root):
    """User + system CPU of a process and all its descendants (children reaped included), from /proc."""
    parents, times = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


def forget_timeline_entries(posts):
    """Take `posts` out of every timeline they may be in (their authors' and all their followers'),
    before a bulk delete that skips withdraw_post: entries left behind make later runs' feed reads
    fetch and drop dead ids on every page."""
    by_author = defaultdict(list)
    for pk, author_id in posts.values_list("id", "author_id"):
        by_author[author_id].append(str(pk))
    keys = {author_id: [home_key(author_id), author_key(author_id)] for author_id in by_author}
    for author_id, follower_id in Follow.objects.filter(followed_id__in=by_author).values_list(
        "followed_id", "follower_id"
    ):
        keys[author_id].append(home_key(follower_id))
    store = get_store()
    for author_id, ids in by_author.items():
        store.remove_many(keys[author_id], ids)


class Command(BenchmarkCommand):
    help = "Old shape (one Daphne) against the production shape (nginx + gunicorn + Daphne), driven by wrk."

    def add_arguments(self, parser):
        parser.add_argument("--duration", type=int, default=5, help="Seconds per cell (default 5).")
        parser.add_argument("--shapes", default=",".join(SHAPES), help="old, new or both (default old,new).")
        parser.add_argument("--endpoints", default=",".join(ENDPOINTS), help=f"Of {', '.join(ENDPOINTS)}.")
        parser.add_argument("--concurrency", default="1,8,32", help="wrk connections per cell (default 1,8,32).")
        parser.add_argument("--scale", type=float, default=0.02, help="bench_feed's scale if it must build data.")
        parser.add_argument("--port", type=int, default=0, help="Old shape's port, new = port+1 (default: free).")
        parser.add_argument("--keep-logs", action="store_true", help="Keep the processes' logs.")

    def handle(self, *args, **options):
        require_postgres_and_redis("bench_http", "the shapes share one database", "and one cache and channel layer")
        shapes = self.pick(options["shapes"], SHAPES, "--shapes")
        endpoints = self.pick(options["endpoints"], ENDPOINTS, "--endpoints")
        try:
            concurrencies = [int(c) for c in options["concurrency"].split(",") if c.strip()]
        except ValueError:
            raise CommandError("--concurrency takes numbers: 1,8,32")
        if not concurrencies or min(concurrencies) < 1 or options["duration"] < 1:
            raise CommandError("--concurrency and --duration must be at least 1")
        wrk = shutil.which("wrk") or self.install_wrk()
        readers, post_ids = self.data(options["scale"])
        started = time.time()
        load_before = os.getloadavg()
        results = {}
        duration = options["duration"]
        env = process_env()
        if "new" in shapes or "home" in endpoints:
            self.collect_static(env)
        try:
            with (
                Processes(self, "bench_http", keep_logs=options["keep_logs"]) as processes,
                tempfile.TemporaryDirectory(prefix="bench_http-") as scripts,
            ):
                port = options["port"]
                servers = {}
                for shape in shapes:  # both up at once, the cells interleaved: load drift hits both alike
                    self.step(f"starting the {shape} shape")
                    servers[shape] = self.start(processes, shape, env, port)
                    processes.wait_ready([servers[shape]])
                    self.done(f"({servers[shape].url})")
                for name in endpoints:
                    script = Path(scripts) / f"{name}.lua"
                    script.write_text(self.lua(name, readers, post_ids))
                    for shape in shapes:
                        self.cell(wrk, servers[shape], script, 2, 1)  # warm-up: imports, pools, caches
                    for c in concurrencies:
                        for shape in shapes:
                            results[shape, name, c] = cell = self.cell(wrk, servers[shape], script, c, duration)
                            self.say(f"  {shape} {ENDPOINTS[name][0]} c={c}: {cell['rps']:.0f} req/s")
                    processes.check_alive("during the run")
        finally:
            self.clean_up(readers, started)
        self.report(shapes, endpoints, concurrencies, results, options, load_before)

    # --- Setup ----------------------------------------------------------------------------------

    def pick(self, value, known, flag):
        chosen = [v.strip() for v in value.split(",") if v.strip()]
        unknown = [v for v in chosen if v not in known]
        if unknown or not chosen:
            raise CommandError(f"{flag}: {', '.join(unknown) or 'none'}; choose from {', '.join(known)}")
        return chosen

    def install_wrk(self):
        apt = shutil.which("apt-get")
        if apt and os.geteuid() == 0:  # as root with apt: fetch it (the list first, which a new machine lacks)
            self.step("installing wrk (apt-get update; apt-get install wrk)")
            script = f"{apt} update -qq && {apt} install -y -qq wrk"
            subprocess.run(["sh", "-c", script], check=False, capture_output=True)  # noqa: S603,S607
            self.done()
        found = shutil.which("wrk")
        if not found:
            raise CommandError("bench_http needs wrk: apt-get install wrk (Debian/Ubuntu) or brew install wrk")
        return found

    def data(self, scale):
        """(readers, post ids): bench_feed's users and posts, built first when there are none."""
        user_model = get_user_model()
        bench = user_model.objects.filter(username__startswith=bench_feed.PREFIX, is_active=True)
        if not bench.exists():
            self.step(f"no bench_* users: building bench_feed's data at --scale {scale}")
            users = max(1, round(bench_feed.FULL_USERS * scale))
            posts = max(1, round(bench_feed.FULL_POSTS * scale))
            threshold = min(settings.FEED_FANOUT_THRESHOLD, max(4, users // 10))
            builder = bench_feed.Command(stdout=self.stdout, stderr=self.stderr)
            builder.build(bench_feed.Dataset(users=users, posts=posts, threshold=threshold, seed=42))
            self.done()
        # Readers who follow someone, so their feeds have posts.
        readers = list(bench.filter(profile__following_count__gt=0).order_by("username")[:READERS])
        if len(readers) < READERS:
            readers = list(bench.order_by("username")[:READERS])
        post_ids = list(
            Post.objects.filter(
                author__username__startswith=bench_feed.PREFIX,
                visibility=Post.Visibility.PUBLIC,
                status=Post.Status.PUBLISHED,
                deleted_at=None,
                hidden_at=None,
            )
            .order_by("-created_at")
            .values_list("id", flat=True)[:POST_IDS]
        )
        if not readers or not post_ids:
            raise CommandError("no bench_* users or posts to read: run `manage.py bench_feed --reset --scale 0.02`")
        return readers, [str(pk) for pk in post_ids]

    def collect_static(self, env):
        """The home page under DEBUG=false needs the manifest that collectstatic writes."""
        if (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
            return
        self.step("collectstatic (DEBUG=false needs its manifest)")
        argv = [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"]
        subprocess.run(argv, cwd=settings.BASE_DIR, env=env, check=True)  # noqa: S603
        self.done()

    def start(self, processes, shape, env, port):
        if shape == "old":
            old_env = {**env, "PGAPPNAME": f"{APP_PREFIX}run"}
            return processes._add(OldDaphne("daphne-old", old_env, processes.log_dir, port or free_port()))
        return processes._add(Production("production", env, processes.log_dir, port + 1 if port else free_port()))

    # --- One cell -------------------------------------------------------------------------------

    def lua(self, name, readers, post_ids):
        _, method, path, auth = ENDPOINTS[name]
        if auth == "session":
            values, header = [f"sessionid={self.session(reader)}" for reader in readers], "Cookie"
        else:
            bearers = [f"Bearer {tokens.access_token(reader)}" for reader in readers]
            if path is None:
                values, header = [[bearers[i % len(bearers)], pk] for i, pk in enumerate(post_ids)], "id"
            else:
                values, header = bearers, "Authorization"
        body = json.dumps({"content": f"bench_http post {uuid.uuid4().hex[:8]}"}) if method == "POST" else None
        return LUA % {
            "values": lua_table(values),
            "method": lua_string(method),
            "path": lua_string(path or ""),
            "body": lua_string(body) if body else "nil",
            "header": lua_string(header),
        }

    def session(self, user):
        client = Client()
        client.force_login(user, backend=settings.AUTHENTICATION_BACKENDS[0])
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    def cell(self, wrk, server, script, c, duration):
        argv = [wrk, "-t", str(min(c, 2)), "-c", str(c), "-d", f"{duration}s", "--timeout", "10s", "-s", script]
        argv.append(server.url)
        cpu_before = tree_cpu_seconds(server.pid)
        with PeakConnections(server.app_names) as peak:
            run = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=False)  # noqa: S603
        cpu = tree_cpu_seconds(server.pid) - cpu_before
        line = next((x for x in run.stdout.splitlines() if x.startswith("WRKJSON ")), None)
        if run.returncode != 0 or line is None:
            raise CommandError(f"wrk failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
        found = json.loads(line.removeprefix("WRKJSON "))
        seconds = found["duration_us"] / 1e6
        return {
            "rps": found["requests"] / seconds if seconds else 0.0,
            "p50": found["p50_us"] / 1000,
            "p99": found["p99_us"] / 1000,
            "non2xx": found["non2xx"],
            "socket": found["socket"],
            "requests": found["requests"],
            "pg": peak.peak,
            "cpu_ms": cpu * 1000 / found["requests"] if found["requests"] else 0.0,
        }

    def clean_up(self, readers, started):
        """Delete the posts the run made, and purge the fan-outs they queued."""
        since = datetime.fromtimestamp(started, tz=UTC)
        made = Post.objects.filter(author__in=readers, created_at__gte=since)
        if made.exists():
            self.step("deleting the posts the run made and purging their queued tasks")
            forget_timeline_entries(made)
            count, _ = made.delete()
            if not settings.CELERY_TASK_ALWAYS_EAGER:
                from socialsite.celery import app

                app.control.purge()
            self.done(f"({count} rows)")

    # --- Report ---------------------------------------------------------------------------------

    def report(self, shapes, endpoints, concurrencies, results, options, load_before):
        self.say()
        self.say(
            f"bench_http: {options['duration']} s per cell, wrk over loopback, {READERS} bench readers; "
            "old = one Daphne (make run), new = nginx + gunicorn + Daphne (make serve)"
        )
        header = ["endpoint", "c"]
        for shape in shapes:
            header += [
                *(f"{shape} req/s", f"{shape} p50", f"{shape} p99", f"{shape} cpu/req"),
                *(f"{shape} errors", f"{shape} pg conns"),
            ]
        rows = [header, None]
        for name in endpoints:
            for c in concurrencies:
                row = [ENDPOINTS[name][0], str(c)]
                for shape in shapes:
                    cell = results[shape, name, c]
                    row += [
                        f"{cell['rps']:.0f}",
                        f"{cell['p50']:.1f} ms",
                        f"{cell['p99']:.1f} ms",
                        f"{cell['cpu_ms']:.1f} ms",
                        f"{cell['non2xx']}/{cell['socket']}",
                        str(cell["pg"]),
                    ]
                rows.append(row)
        self.table(rows)
        self.say("errors: answers other than 2xx / socket errors (connect, read, write, timeout); both must be 0")
        self.say(
            "cpu/req: CPU time of the shape's processes (Daphne; nginx, gunicorn, Daphne) per request,"
            " not PostgreSQL's, Redis's or wrk's"
        )
        self.say(machine_line(load_before, os.getloadavg()))
