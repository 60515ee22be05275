"""Real processes for end-to-end tests: Daphne and a Celery worker on the test database.

Each process gets the test process's REDIS_URL / CELERY_BROKER_URL and a DATABASE_URL
that points at the database pytest-django created, so what the test sees through the
ORM is what Daphne and the worker see. Processes are stopped in the fixture finalizer,
before pytest-django flushes the database; their output is printed when the test failed.
"""

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.db import connection
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 25
PASSWORD = "e2e-Correct-Horse-7431"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"e2e_report_{report.when}", report)


def test_database_url():
    """A DATABASE_URL for the database this test process is using (the test database)."""
    conf = connection.settings_dict
    if connection.vendor == "sqlite":  # the engine may be a wrapper (django-prometheus's)
        return f"sqlite:///{Path(conf['NAME']).resolve()}"
    if connection.vendor == "postgresql":
        credentials = quote(conf["USER"] or "", safe="")
        if conf.get("PASSWORD"):
            credentials += ":" + quote(conf["PASSWORD"], safe="")
        host = conf["HOST"] or "localhost"
        port = conf["PORT"] or 5432
        return f"postgres://{credentials}@{host}:{port}/{quote(conf['NAME'], safe='')}"
    raise AssertionError(f"no DATABASE_URL form for {conf['ENGINE']}")


test_database_url.__test__ = False  # a helper, not a test


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Process:
    def __init__(self, name, argv, env, log_dir):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        # A file, not a pipe, so a chatty process never blocks; closed in stop().
        self._log = open(self.log_path, "wb")  # noqa: SIM115
        self.popen = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def alive(self):
        return self.popen.poll() is None

    def output(self):
        return self.log_path.read_text(errors="replace")

    def wait_for(self, ready, what, timeout=STARTUP_SECONDS):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                pytest.fail(f"{self.name} exited with {self.popen.returncode} before {what}:\n{self.output()}")
            if ready():
                return
            time.sleep(0.1)
        pytest.fail(f"{self.name}: no {what} within {timeout} s:\n{self.output()}")

    def stop(self):
        if self.alive:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self._log.close()


@dataclass
class Daphne:
    process: Process
    port: int

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}/ws/"


@pytest.fixture
def service_env(tmp_path, transactional_db):
    """The environment for Daphne and the worker: the test database, the test process's services."""
    media_root = tmp_path / "served-media"
    media_root.mkdir()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=test_database_url(),
        DEBUG="true",
        MEDIA_ROOT=str(media_root),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
        EMBEDDED_BEAT="false",  # periodic tasks only where a test asks (test_embedded_beat.py)
        # The Redis cache is shared between runs; don't let earlier runs' counters throttle this one.
        THROTTLE_SIGNUP="10000/1m",
        THROTTLE_LOGIN="10000/1m",
        THROTTLE_API="10000/1m",
        THROTTLE_ANON="10000/1m",
    )
    return env


@pytest.fixture
def spawn(request, tmp_path, transactional_db):
    """spawn(name, argv, env) -> Process, stopped when the test ends (before the database flush)."""
    started = []

    def start(name, argv, env):
        process = Process(name, [str(arg) for arg in argv], env, tmp_path)
        started.append(process)
        return process

    yield start

    crashed = [process.name for process in started if not process.alive]
    for process in reversed(started):
        process.stop()
    reports = [getattr(request.node, f"e2e_report_{when}", None) for when in ("setup", "call")]
    if crashed or any(report is not None and report.failed for report in reports):
        for process in started:
            print(f"\n----- {process.name} (exit code {process.popen.returncode}) -----\n{process.output()[-30000:]}")


@pytest.fixture
def start_daphne(spawn, service_env):
    """start_daphne(port=None, **env_overrides) -> a Daphne serving socialsite.asgi:application, /healthz up.

    Started as production starts it: `python -m socialsite.serve` (Daphne with a graceful SIGTERM).
    """
    count = 0

    def start(port=None, **overrides):
        nonlocal count
        count += 1
        port = port or free_port()
        env = {**service_env, **overrides}
        process = spawn(
            f"daphne-{count}",
            [sys.executable, "-m", "socialsite.serve", "-b", "127.0.0.1", "-p", port, "socialsite.asgi:application"],
            env,
        )
        daphne = Daphne(process, port)

        def healthy():
            try:
                return requests.get(f"{daphne.url}/healthz", timeout=1).status_code == 200
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or slow on a loaded machine
                return False

        process.wait_for(healthy, "answer on /healthz")
        return daphne

    return start


@pytest.fixture
def daphne(start_daphne):
    return start_daphne()


@pytest.fixture
def celery_worker(spawn, service_env):
    name = f"e2e-{uuid.uuid4().hex[:8]}@%h"
    process = spawn(
        "celery-worker",
        [
            *(sys.executable, "-m", "celery", "-A", "socialsite", "worker"),
            *("--loglevel=INFO", "--concurrency=1", "--pool=solo", "-n", name),
            # No -Q: the worker must consume every declared queue. No cluster chatter: a fast start.
            *("--without-mingle", "--without-gossip", "--without-heartbeat"),
        ],
        service_env,
    )
    process.wait_for(lambda: " ready." in process.output(), "'ready.' in its log")
    return process


# --- Talking to it ----------------------------------------------------------------------------------------


@dataclass
class Account:
    id: str
    username: str
    access_token: str

    @property
    def auth(self):
        return {"Authorization": f"Bearer {self.access_token}"}


def wait_until(condition, timeout=15):
    """Poll `condition` every 0.1 s until it holds or `timeout` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def register_and_login(base_url):
    username = f"e2e{uuid.uuid4().hex[:10]}"
    response = requests.post(
        f"{base_url}/api/v1/auth/register",
        json={"email": f"{username}@example.com", "username": username, "password": PASSWORD},
        timeout=15,
    )
    assert response.status_code == 201, response.text
    user_id = response.json()["id"]
    response = requests.post(
        f"{base_url}/api/v1/auth/jwt/login", json={"username": username, "password": PASSWORD}, timeout=15
    )
    assert response.status_code == 200, response.text
    return Account(id=user_id, username=username, access_token=response.json()["access_token"])


def open_socket(daphne, account=None, query="", **kwargs):
    """A real WebSocket to Daphne's /ws/, as a mobile app opens it: bearer header, no Origin."""
    kwargs.setdefault("additional_headers", account.auth if account is not None else None)
    return connect(daphne.ws_url + query, open_timeout=10, close_timeout=2, **kwargs)


def receive(ws, timeout=10):
    return json.loads(ws.recv(timeout=timeout))


def receive_event(ws, name, *, skip=(), timeout=10):
    """The next `name` frame, passing over frames of the independent kinds in `skip`, which may come
    before or after it (a follow's notification.new: before it when tasks run in-process after
    commit, later or never when a worker makes it). Any other frame fails."""
    while True:
        frame = receive(ws, timeout)
        if frame["event"] == name:
            return frame
        assert frame["event"] in skip, (name, frame)


def ready_socket(daphne, account):
    ws = open_socket(daphne, account)
    assert receive(ws) == {"event": "session.ready", "data": {"user_id": account.id}}
    return ws
