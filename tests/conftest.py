import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from channels.layers import channel_layers
from django.core.cache import cache
from PIL import Image
from rest_framework.test import APIClient

from accounts import services as accounts_services
from accounts import tokens
from posts import services as posts_services
from tests.factories import UserFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition, reason):
    """Skip when a service or tool is missing, except under CI=true, where that is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


FAULTS = Path(__file__).parent / "faults"


def pytest_collection_modifyitems(items):
    # The fault tests last, as they ran before tests/ mirrored the apps: after them (kill, SIGSTOP,
    # private brokers) bench_notifications' second post never reached its workers (issue 17's note).
    items.sort(key=lambda item: item.path.is_relative_to(FAULTS))


CHROMIUM = "/usr/bin/chromium"
# Flags for a root user on a machine with a closed network (see DESIGN.md).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium():
    require(os.path.exists(CHROMIUM), "Debian's Chromium is not installed (apt-get install chromium)")


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def wait_for_js(page, expression, arg=None, timeout_ms=20_000):
    """Poll a JS expression (or function of `arg`) from Python until it is truthy; its value.

    Not page.wait_for_function: when its first check fails it polls with eval inside the page,
    which the site's CSP (script-src 'self') refuses. page.evaluate isn't subject to the CSP.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while not (value := page.evaluate(expression, arg)):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_ms} ms: {expression}")
        time.sleep(0.05)
    return value


@pytest.fixture(scope="session", autouse=True)
def _release_test_database(django_db_setup, django_db_blocker):
    """Let pytest-django drop the PostgreSQL test database at the end.

    Threads of asgiref's executor (used by Channels' database_sync_to_async) keep their own
    connections open; left alone they block the DROP DATABASE.
    """
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _isolation(settings, tmp_path):
    cache.clear()
    from feeds.store import get_store

    get_store().flush()
    # A fresh channel layer per test: the Redis layer binds its locks to the first event loop
    # that uses it, and each test drives its sockets from its own loop.
    channel_layers.backends = {}
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SMS_BACKEND = "accounts.sms.LocmemSMSBackend"
    from accounts.sms import LocmemSMSBackend

    LocmemSMSBackend.outbox.clear()
    from socialsite import breakers

    breakers.close_all()  # an outage a test made (link previews of closed ports ...) ends with it
    yield


@pytest.fixture
def fast_breakers(settings):
    """Circuit breakers that open after 3 failures and stay open for the test's checks, however
    slow the machine; tests.outage.half_open_soon lets the trial call through."""
    settings.BREAKER_FAIL_MAX = 3
    settings.BREAKER_RESET_SECONDS = 30
    return settings


@pytest.fixture(autouse=True)
def _celery_in_process(request):
    """Run tasks in-process, as the embedded default does; e2e tests use a real worker instead."""
    if request.node.get_closest_marker("e2e"):
        yield
        return
    from socialsite.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def mfa_user(db):
    """A user with a verified email, an authenticator app and recovery codes (tests/accounts/auth/mfa.py)."""
    from tests.accounts.auth.mfa import verified_user, with_totp

    return with_totp(verified_user())


# The same three people in the messaging and notification tests (and their web pages').
@pytest.fixture
def ana(db):
    return UserFactory(username="ana")


@pytest.fixture
def bo(db):
    return UserFactory(username="bo")


@pytest.fixture
def cy(db):
    return UserFactory(username="cy")


# Services as a request and a worker run them: the call commits, then what it queued for after
# the commit (tasks, in-process here; socket events) runs. Used across the feature test folders.
@pytest.fixture
def act(django_capture_on_commit_callbacks):
    """act(fn, *args, **kwargs): call a service, then run its on_commit callbacks."""

    def call(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return call


@pytest.fixture
def follow(act):
    def make(follower, followed):
        return act(accounts_services.follow_create, follower=follower, followed_user_id=followed.pk)

    return make


@pytest.fixture
def post_by(act):
    """post_by(author, content="hello", **fields) -> the published (or pending) Post."""

    def make(author, content="hello", **fields):
        fields.setdefault("content_type", "text")
        post = act(posts_services.post_create, author=author, content=content, **fields)
        return post[0] if isinstance(post, tuple) else post

    return make


@pytest.fixture
def api():
    return APIClient()


def bearer(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {tokens.access_token(user)}"}


@pytest.fixture
def client_for():
    """client_for(user) -> an APIClient authenticated with the user's JWT."""

    def make(user):
        client = APIClient()
        client.credentials(**bearer(user))
        return client

    return make


@pytest.fixture
def user_api(client_for, user):
    return client_for(user)


def image_bytes(fmt="PNG", size=(640, 480), color=(200, 40, 90), exif=None):
    buffer = io.BytesIO()
    image = Image.new("RGB", size, color)
    kwargs = {"exif": exif} if exif is not None else {}
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def run_ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, timeout=120)


@pytest.fixture
def ffmpeg():
    require(shutil.which("ffmpeg") and shutil.which("ffprobe"), "ffmpeg not installed (apt-get install ffmpeg)")


@pytest.fixture
def clip(ffmpeg, tmp_path):
    """clip(seconds=2, size="640x360") -> bytes of an MP4 with H.264 video, AAC audio and metadata tags.

    `baseline=True` uses the H.264 baseline profile, which every browser plays."""

    def make(seconds=2, size="640x360", name="clip.mp4", baseline=False):
        path = tmp_path / name
        profile = ("-profile:v", "baseline") if baseline else ()
        run_ffmpeg(
            *("-f", "lavfi", "-i", f"testsrc=size={size}:rate=25"),
            *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"),
            *("-t", str(seconds), "-c:v", "libx264", *profile, "-pix_fmt", "yuv420p", "-c:a", "aac"),
            *("-metadata", "title=Secret title", "-metadata", "creation_time=2020-01-02T03:04:05Z"),
            *("-metadata", "location=+52.3700+004.8900/", "-metadata", "comment=private"),
            str(path),
        )
        return path.read_bytes()

    return make


@pytest.fixture
def refused_publishes():
    """(task name, headers) of each task Celery is about to hand to a broker (tasks not run in
    process); each publish is then refused, so nothing reaches a broker and the rows stay for the relay."""
    from celery.signals import before_task_publish

    from socialsite import outbox
    from socialsite.celery import app

    seen = []

    def refuse(sender=None, headers=None, **kwargs):
        seen.append((sender, dict(headers or {})))
        raise ConnectionRefusedError("refused by the test")

    before_task_publish.connect(refuse, weak=False)
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    yield seen
    app.conf.task_always_eager = eager
    before_task_publish.disconnect(refuse)
    outbox.breaker.closed_at = 0.0


def settings_in_a_new_process(expression, env, drop=lambda name: False):
    """Run `manage.py shell` printing json.dumps(<expression over settings `s`>) in a new process with
    the test process's environment minus the variables `drop` picks, plus `env`; the CompletedProcess."""
    clean = {name: value for name, value in os.environ.items() if not drop(name)}
    return subprocess.run(
        [
            *(sys.executable, "manage.py", "shell", "-c"),
            f"import json; from django.conf import settings as s; print(json.dumps({expression}, default=str))",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
