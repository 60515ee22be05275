"""What the benchmark commands (bench_feed, bench_chat, bench_notifications) share.

- nearest-rank percentiles, a command that narrates its steps with their durations and prints
  one fixed-width table, and the machine line under it;
- for the end-to-end benchmarks, which need PostgreSQL and Redis (`require_postgres_and_redis`),
  the real processes they start on the same database and Redis: `Daphne` and `CeleryWorker`,
  inside `Processes`, which stops them on the way out (also after an error, Ctrl-C or SIGTERM);
  `process_env()` is their environment and `open_socket` opens an authenticated socket to a
  Daphne as a mobile app does.
"""

import asyncio
import contextlib
import ctypes
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from itertools import islice
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

STARTUP_SECONDS = 60
GENEROUS_RATE = "1000000/m"
# Rate limits the processes get: a benchmark acts far faster than a person.
THROTTLES = ("THROTTLE_MESSAGE", "THROTTLE_API", "THROTTLE_ANON", "THROTTLE_LOGIN", "THROTTLE_SIGNUP")


def percentile(samples, q):
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def pct_ms(samples, q):
    return ms(percentile(samples, q)) if samples else "n/a"


def mark(ok):
    return "met" if ok else "MISSED"


# --- Data: raw rows, fast ---------------------------------------------------------------------------


def copy_rows(model, names, rows, chunk=20_000):
    """Insert raw rows (tuples in the order of field `names`) fast: COPY on PostgreSQL,
    executemany elsewhere. Unlike bulk_create, it keeps the given created_at."""
    fields = [model._meta.get_field(name) for name in names]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    rows = iter(rows)
    count = 0
    while batch := list(islice(rows, chunk)):
        count += len(batch)
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row([json.dumps(v) if isinstance(v, dict) else v for v in row])
            else:
                marks = ", ".join(["%s"] * len(fields))
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608 -- names from _meta
                    [[f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)] for row in batch],
                )
    return count


class BenchmarkCommand(BaseCommand):
    def execute(self, *args, **options):
        call_command("migrate", verbosity=0)  # a new bench database (as docs/performance.md names them) has no tables
        return super().execute(*args, **options)

    def say(self, text=""):
        self.stdout.write(text)
        self.stdout.flush()

    def step(self, text):
        self._step_started = time.perf_counter()
        self.say(f"… {text}")

    def done(self, text=""):
        self.say(f"  done in {time.perf_counter() - self._step_started:.1f} s {text}".rstrip())

    def table(self, rows):
        """Print rows of cells in left-aligned columns; the first row is the header, None a rule."""
        columns = len(rows[0])
        widths = [max(len(row[i]) for row in rows if row) for i in range(columns)]
        for row in rows:
            if row is None:
                self.say("  ".join("-" * w for w in widths))
            else:
                self.say("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def machine_line(load_before, load_after):
    """Cores, RAM, OS, Python, PostgreSQL and Redis versions, and the load average around the run."""
    total_ram = "?"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                total_ram = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0].split()[0]
    import redis

    redis_version = redis.Redis.from_url(settings.REDIS_URL).info("server").get("redis_version", "?")
    return (
        f"machine: {os.cpu_count()} cores, {total_ram} RAM, {platform.system()} {platform.release()};"
        f" Python {platform.python_version()}; PostgreSQL {pg_version}, Redis {redis_version}, all on this host;"
        f" load average {load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )


# --- Real processes on the configured engines ------------------------------------------------------


def require_postgres_and_redis(command, postgres_why, redis_why):
    """CommandError unless the database is PostgreSQL and the channel layer is Redis, both reachable."""
    if connection.vendor != "postgresql":
        raise CommandError(f"{command} needs PostgreSQL: set DATABASE_URL=postgres://… ({postgres_why}).")
    from channels.layers import get_channel_layer
    from channels_redis.core import RedisChannelLayer

    if not settings.REDIS_URL or not isinstance(get_channel_layer(), RedisChannelLayer):
        raise CommandError(f"{command} needs Redis: set REDIS_URL=redis://… ({redis_why}).")
    try:
        connection.ensure_connection()
    except Exception as exc:
        raise CommandError(f"PostgreSQL is not reachable: {exc}")
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        raise CommandError(f"Redis at REDIS_URL is not reachable: {exc}")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url():
    """A DATABASE_URL naming the database this process is connected to.

    Built from the live connection rather than copied from the environment, so the processes a
    benchmark starts always see what it writes (under pytest, that is the test database).
    """
    conf = connection.settings_dict
    credentials = quote(conf["USER"] or "", safe="")
    if conf.get("PASSWORD"):
        credentials += ":" + quote(conf["PASSWORD"], safe="")
    host = conf["HOST"] or "localhost"
    port = conf["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(conf['NAME'], safe='')}"


def process_env():
    """The environment of a started process: this one's, on this process's database and Redis,
    production-like (DEBUG=false: no per-query bookkeeping; the same keys, so this process's
    tokens verify), LOG_LEVEL=WARNING and the rate limits out of reach."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        DEBUG="false",
        SECRET_KEY=settings.SECRET_KEY,
        JWT_SIGNING_KEY=settings.SIMPLE_JWT["SIGNING_KEY"],
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_HTTPS="false",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(dict.fromkeys(THROTTLES, GENEROUS_RATE))
    return env


def _die_with_parent():  # pragma: no cover -- runs in the child between fork and exec
    """Linux: the child gets SIGTERM if this process dies without stopping it (e.g. SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


class ServiceProcess:
    """A child process from the project root, its output in a log file."""

    def __init__(self, name, argv, env, log_dir):
        self.name = name
        self.log_path = Path(log_dir) / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 -- a file, not a pipe: never blocks; closed in stop()
        self.popen = subprocess.Popen(  # noqa: S603 -- fixed argv, no shell
            [str(arg) for arg in argv],
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )

    @property
    def pid(self):
        return self.popen.pid

    @property
    def alive(self):
        return self.popen.poll() is None

    def describe(self):
        return f"{self.name} pid {self.pid}"

    def ready(self):
        return True

    def tail(self, chars=4000):
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def check_alive(self, when):
        if not self.alive:
            raise CommandError(f"{self.describe()} exited with {self.popen.returncode} {when}:\n{self.tail()}")

    def rss_kib(self):
        """VmRSS of the process, in KiB."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return None

    def open_files(self):
        """File descriptors the process holds."""
        try:
            return len(os.listdir(f"/proc/{self.pid}/fd"))
        except OSError:
            return None

    def cpu_seconds(self):
        """User + system CPU time of the process so far."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.alive:
            self.popen.terminate()
            try:
                self.popen.wait(20)  # Daphne closes its sockets, a worker finishes its task
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self._log.close()


class HttpServer(ServiceProcess):
    """A server process on a loopback port; ready once /healthz answers there."""

    def __init__(self, name, argv, env, log_dir, port):
        self.port = port
        super().__init__(name, argv, env, log_dir)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def describe(self):
        return f"{self.name} pid {self.pid} port {self.port}"

    def ready(self):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"{self.url}/healthz", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False


class Daphne(HttpServer):
    """A Daphne process serving socialsite.asgi:application on a free local port, started as production
    starts it (`python -m socialsite.serve`: Daphne with a graceful SIGTERM)."""

    def __init__(self, name, env, log_dir):
        port = free_port()
        argv = [sys.executable, "-m", "socialsite.serve", "-b", "127.0.0.1", "-p", port]
        super().__init__(name, [*argv, "socialsite.asgi:application"], env, log_dir, port)

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}/ws/"


class CeleryWorker(ServiceProcess):
    """A Celery worker (`celery -A socialsite worker`, one solo process) on the given queues; ready once
    it logs `ready.`. It consumes the broker of the environment it is given (CELERY_BROKER_URL)."""

    def __init__(self, name, env, log_dir, queues):
        argv = [
            *(sys.executable, "-m", "celery", "-A", "socialsite", "worker", "-Q", ",".join(queues)),
            *("--concurrency", "1", "--pool", "solo", "--loglevel", "INFO", "-n", f"{name}-{os.getpid()}@%h"),
            *("--without-mingle", "--without-gossip", "--without-heartbeat"),  # no cluster chatter: a fast start
        ]
        super().__init__(name, argv, env, log_dir)

    def ready(self):
        return " ready." in self.tail(chars=1_000_000)


class Processes:
    """The processes a benchmark starts. As a context manager: on the way out, also after an error,
    Ctrl-C or SIGTERM (turned into KeyboardInterrupt meanwhile), every one is stopped; after a
    failure their logs are kept and named on stderr."""

    def __init__(self, command, prefix, keep_logs=False):
        self.command = command
        self.prefix = prefix
        self.keep_logs = keep_logs  # also after a run that went well
        self.started = []

    def __enter__(self):
        self.previous = None
        if hasattr(signal, "SIGTERM"):
            try:
                self.previous = signal.signal(signal.SIGTERM, _interrupt)  # stop them on `kill` too
            except ValueError:  # not the main thread
                self.previous = None
        self.log_dir = tempfile.mkdtemp(prefix=f"{self.prefix}-")
        return self

    def __exit__(self, exc_type, exc, traceback):
        for process in reversed(self.started):
            process.stop()
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        if (exc_type is not None or self.keep_logs) and self.started:
            self.command.stderr.write(f"Process logs kept in {self.log_dir}")
        else:
            shutil.rmtree(self.log_dir, ignore_errors=True)
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            raise CommandError("Interrupted; the processes it started are stopped.") from None
        return False

    def daphne(self, name, env):
        return self._add(Daphne(name, env, self.log_dir))

    def celery_worker(self, name, env, queues):
        return self._add(CeleryWorker(name, env, self.log_dir, queues))

    def _add(self, process):
        self.started.append(process)
        return process

    def wait_ready(self, processes=None, timeout=STARTUP_SECONDS):
        """Wait until these processes (all started ones by default) are ready."""
        deadline = time.monotonic() + timeout
        waiting = list(self.started if processes is None else processes)
        while waiting:
            for process in list(waiting):
                process.check_alive("before it was ready")
                if process.ready():
                    waiting.remove(process)
            if waiting and time.monotonic() > deadline:
                raise CommandError(f"{waiting[0].describe()}: not ready within {timeout} s:\n{waiting[0].tail()}")
            if waiting:
                time.sleep(0.2)

    def check_alive(self, when, processes=None):
        for process in self.started if processes is None else processes:
            process.check_alive(when)

    def summary(self):
        """What was started and how it ended: `daphne-A pid 12 port 34567 (exit 0), …`."""
        return ", ".join(f"{p.describe()} (exit {p.popen.returncode})" for p in self.started)


async def open_socket(url, token, timeout=60):
    """An authenticated socket, as a mobile app opens it (bearer header, no Origin), after session.ready."""
    from websockets.asyncio.client import connect

    ws = await connect(
        url,
        additional_headers={"Authorization": f"Bearer {token}"},
        proxy=None,
        open_timeout=timeout,
        ping_interval=None,  # Daphne pings every 20 s; this client answers
        close_timeout=2,
    )
    try:
        first = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    except BaseException:
        await ws.close()
        raise
    if first.get("event") != "session.ready":
        await ws.close()
        raise RuntimeError(f"expected session.ready, got {first!r}")
    return ws
