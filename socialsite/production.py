"""`python -m socialsite.production [--port 8000]` (`make serve`): the production shape on one machine.

In the foreground, one supervisor for everything docs/operations.md "Serving" describes:

- nginx on the port: static files from STATIC_ROOT, the rest proxied over Unix sockets;
- gunicorn (`deploy/gunicorn.conf.py`): WSGI, gthread workers, for pages and REST;
- Daphne (`socialsite.serve`, graceful SIGTERM): `/ws/`, the SSE stream and the long-poll;
- a Celery worker and beat when CELERY_BROKER_URL is set.

They share one PROMETHEUS_MULTIPROC_DIR (./var/serve/<port>/metrics unless set), emptied at each
start, so `/metrics` on any web process adds up all of them (docs/operations.md "Metrics").

Ctrl-C or SIGTERM stops every child gracefully (nginx SIGQUIT, the others SIGTERM) and kills what is
still running STOP_SECONDS later; a child that exits by itself stops the rest (exit status 1). nginx
runs from ./var/serve/<port>/ (its config, pid, temp files and the Unix sockets), never /etc or /var.

Process counts come from the cores this process may use, each overridable by its variable, and
must fit PostgreSQL's max_connections (`budget`): checked before anything starts.

This module imports only the standard library at the top: deploy/gunicorn.conf.py imports `counts`.
"""

import argparse
import contextlib
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "socialsite.conf"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
STOP_SECONDS = 12  # Daphne's own deadline is 8 s, gunicorn's graceful_timeout 8 s
READY_SECONDS = 60
HEADROOM = 13  # superuser_reserved_connections (3) + an operator's psql, backups, monitoring (10)


@dataclass(frozen=True)
class Counts:
    cores: int
    web_workers: int  # gunicorn worker processes
    web_threads: int  # threads per gunicorn worker
    daphnes: int  # Daphne processes
    celery: int  # Celery prefork children

    @property
    def web_connections(self):
        """Requests gunicorn serves at once."""
        return self.web_workers * self.web_threads


def _int(environ, name, default):
    value = environ.get(name, "").strip()
    return int(value) if value else default


def counts(environ=os.environ):
    """The documented formula (docs/operations.md "Serving"), each number overridable.

    A Python process runs Python on one core at a time (the GIL): one gunicorn worker per core
    keeps the cores busy, at least 2 so a worker being replaced never leaves none; 8 threads per
    worker cover the time a request waits on PostgreSQL and Redis. Sockets, SSE and long-polls
    mostly wait: one Daphne holds thousands, one per 4 cores. Celery gets half the cores on a
    machine that also serves (a worker-only machine runs Celery with its own default).
    """
    cores = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    return Counts(
        cores=cores,
        web_workers=_int(environ, "WEB_WORKERS", max(2, cores)),
        web_threads=_int(environ, "WEB_THREADS", 8),
        daphnes=_int(environ, "DAPHNE_PROCESSES", max(1, cores // 4)),
        celery=_int(environ, "CELERY_CONCURRENCY", max(1, cores // 2)),
    )


def budget(n, environ=os.environ, *, broker=True, replica=False):
    """[(what, connections)] at most, by the formula of docs/operations.md "The connection budget".

    A read replica (`replica`) gets the web processes' pools only: Celery and beat read the primary."""
    pool_max = _int(environ, "DB_POOL_MAX_SIZE", 10)
    pool_min = _int(environ, "DB_POOL_MIN_SIZE", 1)
    lines = [
        (f"gunicorn: {n.web_workers} workers x min({n.web_threads} threads, pool {pool_max})",
         n.web_workers * min(n.web_threads, pool_max)),
        (f"Daphne: {n.daphnes} x pool {pool_max}", n.daphnes * pool_max),
    ]  # fmt: skip
    if broker and not replica:
        lines += [(f"Celery: {n.celery} children x (pool min {pool_min} + 1)", n.celery * (pool_min + 1)), ("beat", 2)]
    lines.append(("headroom: reserved 3 + operators 10", HEADROOM))
    return lines


# --- nginx ------------------------------------------------------------------------------------------


def nginx_binary():
    found = (
        os.environ.get("NGINX")
        or shutil.which("nginx")
        or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    )
    if not found:
        raise SystemExit("nginx is not installed: apt-get install nginx-light (or set NGINX=/path/to/nginx)")
    return found


def render_nginx(*, listen, run_dir, static_root, realtime_sockets, web_socket, tls_cert=None, tls_key=None):
    """deploy/nginx/socialsite.conf with its {{placeholders}} filled in."""
    listen_line = f"listen {listen} ssl;" if tls_cert else f"listen {listen};"
    tls = f"ssl_certificate {tls_cert};\n        ssl_certificate_key {tls_key};" if tls_cert else ""
    values = {
        "run_dir": str(run_dir),
        "user": "user root root;" if os.geteuid() == 0 else "",  # else nginx warns that `user` needs root
        "mime_types": os.environ.get("NGINX_MIME_TYPES", "/etc/nginx/mime.types"),
        "web_upstream": f"server unix:{web_socket};",
        "realtime_upstream": "\n        ".join(f"server unix:{path};" for path in realtime_sockets),
        "listen": listen_line,
        "tls": tls,
        "static_root": str(static_root).rstrip("/") + "/",
    }
    text = NGINX_TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    return text


# --- Supervising ------------------------------------------------------------------------------------


def _die_with_parent():  # pragma: no cover -- runs in the child between fork and exec
    """Linux: the child gets SIGTERM if the supervisor dies without stopping it (e.g. SIGKILL)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Child:
    def __init__(self, name, argv, env, stop_signal=signal.SIGTERM):
        self.name, self.stop_signal = name, stop_signal
        # Their own session: a terminal's Ctrl-C reaches the supervisor only, which then stops each
        # child the way it stops gracefully (nginx: SIGQUIT; SIGINT would be its fast shutdown).
        self.popen = subprocess.Popen(  # noqa: S603 -- fixed argv, no shell
            [str(arg) for arg in argv],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
        )

    @property
    def alive(self):
        return self.popen.poll() is None


class Supervisor:
    def __init__(self, args):
        self.args = args
        self.children = []
        self.stopping = None

    def log(self, text):
        print(f"socialsite.production: {text}", file=sys.stderr, flush=True)

    def start(self, name, argv, env, stop_signal=signal.SIGTERM):
        self.children.append(Child(name, argv, env, stop_signal))

    def on_signal(self, signum, frame):
        if self.stopping is not None:  # a second Ctrl-C: don't wait
            for child in self.children:
                if child.alive:
                    child.popen.kill()
            return
        self.stopping = signal.Signals(signum).name

    def stop_all(self):
        for child in self.children:
            if child.alive:
                child.popen.send_signal(child.stop_signal)
        deadline = time.monotonic() + STOP_SECONDS
        for child in self.children:
            try:
                child.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.log(f"{child.name} still running {STOP_SECONDS} s after the signal: killed")
                child.popen.kill()
                child.popen.wait()

    def wait_healthy(self, url):
        # Our own nginx on this machine: its certificate may well be self-signed.
        unverified = ssl.create_default_context()
        unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE
        handlers = [urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=unverified)]
        opener = urllib.request.build_opener(*handlers)
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline and self.stopping is None:
            if any(not child.alive for child in self.children):
                return False
            try:
                with opener.open(url, timeout=2) as response:
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        return False

    def check_budget(self, alias, lines):
        from django.db import connections

        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute("SHOW max_connections")
            max_connections = int(cursor.fetchone()[0])
        connection.close()
        total = sum(count for _, count in lines)
        detail = "; ".join(f"{what} = {count}" for what, count in lines)
        server = "PostgreSQL's" if alias == "default" else f"the read replica {alias}'s"
        if total > max_connections:
            raise SystemExit(
                f"Connection budget exceeded: {detail}; total {total} > {server} max_connections"
                f" {max_connections}. Lower WEB_WORKERS, WEB_THREADS, DAPHNE_PROCESSES, CELERY_CONCURRENCY or"
                " DB_POOL_MAX_SIZE, or put PgBouncer in front (docs/operations.md)."
            )
        self.log(f"connection budget {total} of max_connections {max_connections} on {alias} ({detail})")

    def run(self):
        previous = {signum: signal.signal(signum, self.on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.launch()
            while self.stopping is None:
                exited = [child for child in self.children if not child.alive]
                if exited:
                    self.log(f"{exited[0].name} exited with {exited[0].popen.returncode}: stopping the others")
                    return 1
                time.sleep(0.2)
            self.log(f"{self.stopping}: stopping {len(self.children)} processes")
            return 0
        finally:
            self.stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def launch(self):
        args = self.args
        nginx_path = nginx_binary()  # before anything starts
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialsite.settings")
        import django

        django.setup()
        from django.conf import settings
        from django.db import DatabaseError, connections

        n = counts()
        broker = bool(os.environ.get("CELERY_BROKER_URL")) and not args.no_celery
        if connections["default"].vendor == "postgresql":
            self.check_budget("default", budget(n, broker=broker))
            for alias in settings.DATABASE_REPLICAS:  # each replica is a server with its own limit
                try:
                    self.check_budget(alias, budget(n, broker=broker, replica=True))
                except DatabaseError as exc:  # the router reads the primary until it answers
                    self.log(f"{alias} unreachable, its connection budget not checked: {exc}")

        run_dir = ROOT / "var" / "serve" / str(args.port)
        (run_dir / "logs").mkdir(parents=True, exist_ok=True)  # nginx opens logs/ before reading its config
        web_socket = run_dir / "gunicorn.sock"
        realtime_sockets = [run_dir / f"daphne-{i}.sock" for i in range(1, n.daphnes + 1)]
        for stale in (web_socket, *realtime_sockets):
            stale.unlink(missing_ok=True)
        conf = run_dir / "nginx.conf"
        conf.write_text(
            render_nginx(
                listen=f"{args.host}:{args.port}",
                run_dir=run_dir,
                static_root=settings.STATIC_ROOT,
                realtime_sockets=realtime_sockets,
                web_socket=web_socket,
                tls_cert=args.tls_cert,
                tls_key=args.tls_key,
            )
        )

        env = dict(os.environ)
        from socialsite import metrics

        env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(run_dir / "metrics"))
        metrics.reset_multiproc_dir(env["PROMETHEUS_MULTIPROC_DIR"])
        # Behind this nginx: it overwrites X-Forwarded-Proto and appends the peer to X-Forwarded-For,
        # so both can be trusted (one proxy; more if a load balancer stands in front).
        env.setdefault("NUM_PROXIES", "1")
        env.setdefault("SECURE_PROXY_SSL", "true")
        env["WEB_WORKERS"], env["WEB_THREADS"] = str(n.web_workers), str(n.web_threads)
        self.log(
            f"{n.cores} cores: gunicorn {n.web_workers} workers x {n.web_threads} threads, {n.daphnes} Daphne"
            + (f", Celery worker with {n.celery} children and beat" if broker else ", no Celery worker or beat")
        )
        python = sys.executable
        gunicorn = ["-m", "gunicorn", "-c", GUNICORN_CONF, "-b", f"unix:{web_socket}", "socialsite.wsgi:application"]
        self.start("gunicorn", [python, *gunicorn], {**env, "PGAPPNAME": "socialsite-web"})
        for number, path in enumerate(realtime_sockets, 1):
            argv = [python, "-m", "socialsite.serve", "-u", path, "socialsite.asgi:application"]
            self.start(f"daphne-{number}", argv, {**env, "PGAPPNAME": f"socialsite-realtime-{number}"})
        if broker:
            celery = [python, "-m", "celery", "-A", "socialsite"]
            worker = [*celery, "worker", "--loglevel=INFO", f"--concurrency={n.celery}"]
            self.start("celery-worker", worker, {**env, "PGAPPNAME": "socialsite-worker"})
            beat = [*celery, "beat", "--loglevel=INFO", "-s", run_dir / "celerybeat-schedule"]
            self.start("celery-beat", beat, {**env, "PGAPPNAME": "socialsite-beat"})
        # nginx last, once its upstreams listen: no request of the first seconds finds a socket missing.
        deadline = time.monotonic() + READY_SECONDS
        while not all(path.exists() for path in (web_socket, *realtime_sockets)):
            if time.monotonic() > deadline or self.stopping or any(not child.alive for child in self.children):
                return
            time.sleep(0.1)
        nginx = [nginx_path, "-p", run_dir, "-c", conf, "-e", "stderr"]
        self.start("nginx", nginx, env, stop_signal=signal.SIGQUIT)

        scheme = "https" if args.tls_cert else "http"
        host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host  # noqa: S104 -- only compared
        url = f"{scheme}://{host}:{args.port}"
        if self.wait_healthy(f"{url}/healthz"):
            self.log(f"serving on {url} (Ctrl-C stops)")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m socialsite.production", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"), help="nginx's address")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")), help="nginx's port")
    parser.add_argument("--tls-cert", help="certificate (PEM): nginx terminates TLS on the port")
    parser.add_argument("--tls-key", help="the certificate's key (PEM)")
    parser.add_argument(
        "--no-celery", action="store_true", help="no worker or beat even with CELERY_BROKER_URL (they run elsewhere)"
    )
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    return Supervisor(args).run()


if __name__ == "__main__":
    sys.exit(main())
