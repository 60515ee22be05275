"""Idempotency-Key on the API's creates: POST /posts, comments, shares and media uploads."""

import io
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone
from freezegun import freeze_time

from media.models import Media
from posts.models import Comment, Post
from socialsite import tasks
from socialsite.api import idempotency
from socialsite.models import IdempotencyKey
from tests.conftest import image_bytes, require
from tests.factories import UserFactory
from tests.socialsite.api.helpers import assert_error

REPLAYED = "Idempotent-Replayed"


class Endpoint:
    """One idempotent create: how to send it and how many rows it has made."""

    def __init__(self, name, target):
        self.name, self.target = name, target

    @property
    def url(self):
        if self.name == "posts":
            return "/api/v1/posts"
        if self.name == "media":
            return "/api/v1/media"
        return f"/api/v1/posts/{self.target.pk}/{self.name}"

    def send(self, client, text="hello", key=None, url=None, color=(200, 40, 90)):
        headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
        url = url or self.url
        if self.name == "media":
            handle = io.BytesIO(image_bytes("PNG", size=(32, 24), color=color))
            handle.name = "photo.png"
            return client.post(url, {"file": handle, "alt_text": text}, format="multipart", **headers)
        body = {"content": text}
        if self.name == "posts":
            body["content_type"] = "text"
        return client.post(url, body, format="json", **headers)

    def rows(self):
        model = {"posts": Post, "shares": Post, "comments": Comment, "media": Media}[self.name]
        return model.objects.count()


def stored_files():
    root = Path(settings.MEDIA_ROOT)
    return sum(1 for path in root.rglob("*") if path.is_file()) if root.exists() else 0


@pytest.fixture(params=["posts", "comments", "shares", "media"])
def endpoint(request, other_user, post_by):
    return Endpoint(request.param, post_by(other_user, "a public post to comment on and share"))


def assert_created(response):
    assert response.status_code in (201, 202), response.content
    assert REPLAYED not in response


@pytest.mark.django_db
class TestReplay:
    def test_the_same_key_answers_the_first_result_and_creates_nothing(self, endpoint, client_for, user):
        client = client_for(user)
        before, files = endpoint.rows(), stored_files()
        first = endpoint.send(client, key="a1b2c3")
        assert_created(first)
        again = endpoint.send(client, key="a1b2c3")
        assert again.status_code == first.status_code
        assert again.content == first.content  # byte for byte, keys in the same order
        assert again[REPLAYED] == "true"
        assert endpoint.rows() == before + 1
        if endpoint.name == "media":
            assert stored_files() == files + 1  # the replay stored no second file

    def test_the_same_key_with_another_body_is_422(self, endpoint, client_for, user):
        client = client_for(user)
        assert_created(endpoint.send(client, "first", key="k"))
        rows = endpoint.rows()
        assert_error(endpoint.send(client, "second", key="k"), 422, "idempotency_key_reused")
        assert endpoint.rows() == rows

    def test_another_users_key_is_independent(self, endpoint, client_for, user):
        client = client_for(user)
        other = client_for(UserFactory())
        before = endpoint.rows()
        first = endpoint.send(client, key="shared-key")
        second = endpoint.send(other, key="shared-key")
        assert_created(first)
        assert_created(second)
        assert second.json()["id"] != first.json()["id"]
        assert endpoint.rows() == before + 2

    def test_without_a_key_every_request_creates(self, endpoint, client_for, user):
        client = client_for(user)
        before = endpoint.rows()
        assert_created(endpoint.send(client))
        assert_created(endpoint.send(client))
        assert endpoint.rows() == before + 2
        assert not IdempotencyKey.objects.exists()

    @pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "tab\there", "new\nline"])
    def test_a_malformed_key_is_400(self, endpoint, client_for, user, key):
        before = endpoint.rows()
        assert_error(endpoint.send(client_for(user), key=key), 400, "invalid_idempotency_key")
        assert endpoint.rows() == before and not IdempotencyKey.objects.exists()

    def test_an_expired_key_creates_again(self, endpoint, client_for, user):
        before = endpoint.rows()
        with freeze_time(timezone.now() - timedelta(hours=25)):
            first = endpoint.send(client_for(user), key="old")
        assert_created(first)
        again = endpoint.send(client_for(user), key="old")
        assert_created(again)
        assert again.json()["id"] != first.json()["id"]
        assert endpoint.rows() == before + 2
        assert IdempotencyKey.objects.get().created_at > timezone.now() - timedelta(minutes=1)


@pytest.mark.django_db
class TestRules:
    @pytest.fixture
    def posts(self):
        return Endpoint("posts", None)

    def test_a_key_of_255_printable_characters_works(self, posts, client_for, user):
        key = "".join(chr(32 + i % 95) for i in range(255))
        client = client_for(user)
        first = posts.send(client, key=key)
        assert_created(first)
        assert posts.send(client, key=key).json() == first.json()
        assert IdempotencyKey.objects.get().key == key

    def test_a_key_still_answers_just_before_it_expires(self, posts, client_for, user):
        with freeze_time(timezone.now() - timedelta(hours=23)):
            first = posts.send(client_for(user), key="recent")
        again = posts.send(client_for(user), key="recent")
        assert again[REPLAYED] == "true" and again.json() == first.json()

    def test_the_same_key_on_another_endpoint_is_422(self, posts, client_for, user, other_user, post_by):
        client = client_for(user)
        assert_created(posts.send(client, key="one"))
        comments = Endpoint("comments", post_by(other_user))
        assert_error(comments.send(client, key="one"), 422, "idempotency_key_reused")
        assert not Comment.objects.exists()

    def test_a_refusal_is_not_kept_so_the_fixed_request_can_reuse_the_key(self, posts, client_for, user):
        client = client_for(user)
        refused = client.post(posts.url, {"content_type": "nope"}, format="json", HTTP_IDEMPOTENCY_KEY="fix-me")
        assert_error(refused, 400, "invalid")
        assert not IdempotencyKey.objects.exists()
        assert_created(posts.send(client, key="fix-me"))

    def test_a_refused_upload_is_not_kept(self, client_for, user):
        media = Endpoint("media", None)
        client = client_for(user)
        empty = io.BytesIO(b"")
        empty.name = "empty.png"
        refused = client.post(media.url, {"file": empty}, format="multipart", HTTP_IDEMPOTENCY_KEY="up")
        assert refused.status_code == 400
        assert_created(media.send(client, key="up"))

    def test_an_upload_with_other_file_content_is_422(self, client_for, user):
        media = Endpoint("media", None)
        client = client_for(user)
        assert_created(media.send(client, key="up", color=(1, 2, 3)))
        assert_error(media.send(client, key="up", color=(3, 2, 1)), 422, "idempotency_key_reused")
        assert Media.objects.count() == 1

    def test_an_unrelated_endpoint_ignores_the_header(self, client_for, user, other_user, post_by):
        post = post_by(other_user)
        client = client_for(user)
        for expected in (201, 200):
            response = client.post(f"/api/v1/posts/{post.pk}/likes", HTTP_IDEMPOTENCY_KEY="like")
            assert response.status_code == expected and REPLAYED not in response
        assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_beat_prunes_expired_keys(user):
    now = timezone.now()
    old = IdempotencyKey.objects.create(user=user, key="old", fingerprint="f", created_at=now - timedelta(hours=25))
    fresh = IdempotencyKey.objects.create(user=user, key="new", fingerprint="f", created_at=now - timedelta(hours=23))
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"].endswith("prune_idempotency_keys"))
    assert entry["task"] == tasks.prune_idempotency_keys.name
    assert tasks.prune_idempotency_keys.delay().get() == 1
    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not IdempotencyKey.objects.filter(pk=old.pk).exists()


@pytest.mark.django_db
def test_prune_works_in_batches(user):
    old = timezone.now() - timedelta(days=3)
    IdempotencyKey.objects.bulk_create(
        IdempotencyKey(user=user, key=str(n), fingerprint="f", created_at=old) for n in range(7)
    )
    assert idempotency.prune(batch=3) == 7
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_schema_documents_the_header_and_its_refusals(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    paths = ["/api/v1/posts", "/api/v1/media", "/api/v1/posts/{post_id}/comments", "/api/v1/posts/{post_id}/shares"]
    for path in paths:
        operation = schema["paths"][path]["post"]
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert "Idempotency-Key" in headers, path
        assert {"409", "422"} <= set(operation["responses"]), path


# --- Concurrency: real threads, real transactions ---------------------------------------------------


def in_threads(*functions):
    """Run each function in its own thread (with its own connection); their results in order."""
    results = [None] * len(functions)
    errors = []

    def run(index, function):
        try:
            results[index] = function()
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


@pytest.mark.django_db(transaction=True)
def test_two_requests_with_one_key_at_once_make_one_object(endpoint, client_for, user):
    """PostgreSQL: the second insert of the key waits for the first transaction, then replays.
    SQLite: the IMMEDIATE transactions run one after the other."""
    clients = [client_for(user), client_for(user)]
    before = endpoint.rows()
    start = threading.Barrier(2)

    def send(client):
        def call():
            start.wait(timeout=10)
            return endpoint.send(client, key="together")

        return call

    first, second = in_threads(send(clients[0]), send(clients[1]))
    assert endpoint.rows() == before + 1
    assert first.status_code == second.status_code and first.json() == second.json()
    assert sorted(REPLAYED in response for response in (first, second)) == [False, True]
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("outcome", ["rolled_back", "committed"])
def test_a_repeat_waits_for_the_request_holding_its_key(client_for, user, outcome):
    """The first request's transaction holds the key: the repeat waits, then runs (the first failed)
    or sees the first's row (here with another fingerprint: 422)."""
    posts = Endpoint("posts", None)
    client = client_for(user)
    held, released = threading.Event(), threading.Event()

    def hold_the_key():
        with transaction.atomic():
            IdempotencyKey.objects.create(user=user, key="held", fingerprint="another request", status_code=201)
            held.set()
            time.sleep(0.5)  # the repeat, sent meanwhile, must not answer before this transaction ends
            released.set()
            transaction.set_rollback(outcome == "rolled_back")

    def repeat():
        assert held.wait(timeout=10)
        response = posts.send(client, key="held")
        return response, released.is_set()

    _, (response, after_release) = in_threads(hold_the_key, repeat)
    assert after_release, "the repeat answered while the first request still held the key"
    if outcome == "rolled_back":
        assert_created(response)
        assert Post.objects.count() == 1
    else:
        assert_error(response, 422, "idempotency_key_reused")
        assert not Post.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_repeat_that_waits_too_long_is_409(client_for, user, monkeypatch):
    from django.db import connection

    require(connection.vendor == "postgresql", "DATABASE_URL is not PostgreSQL: the bounded wait is lock_timeout")
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    posts = Endpoint("posts", None)
    client = client_for(user)
    held, done = threading.Event(), threading.Event()

    def hold_the_key():
        with transaction.atomic():
            IdempotencyKey.objects.create(user=user, key="busy", fingerprint="f", status_code=201)
            held.set()
            done.wait(timeout=20)
            transaction.set_rollback(True)

    def repeat():
        assert held.wait(timeout=10)
        try:
            return posts.send(client, key="busy")
        finally:
            done.set()

    _, response = in_threads(hold_the_key, repeat)
    assert_error(response, 409, "idempotency_key_in_progress")
    assert response["Retry-After"] == "1"
    assert not Post.objects.exists()
    # The key is free again once the first request gave up.
    assert_created(posts.send(client, key="busy"))
