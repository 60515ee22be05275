"""The product series move where the work is done, by what was committed (in process: the
embedded default's tasks run after the commit; tests/socialsite/metrics/test_end_to_end.py has
them from real workers)."""

import pytest
from prometheus_client import REGISTRY

from accounts import services as accounts_services
from media import services as media_services
from messaging import services as messaging_services
from posts import services as posts_services
from socialsite.errors import ServiceError
from tests.conftest import image_bytes
from tests.passwords import _fast_password_hashing  # noqa: F401 -- autouse

pytestmark = pytest.mark.django_db

PASSWORD = "Counted-Horse-5521"


class Moved:
    """moved(name, **labels): how much a series moved since this was made."""

    def __init__(self):
        self.before = {}

    def value(self, name, labels):
        return REGISTRY.get_sample_value(name, labels) or 0.0

    def __call__(self, name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return self.value(name, labels) - self.before.setdefault(key, 0.0)

    def start(self, *series):
        for name, labels in series:
            self.before[(name, tuple(sorted(labels.items())))] = self.value(name, labels)
        return self


def moved(*series):
    return Moved().start(*series)


def test_posts_likes_messages_and_fanouts_count_once_committed(act, post_by, follow, ana, bo):
    count = moved(
        ("socialsite_posts_created_total", {}),
        ("socialsite_likes_created_total", {}),
        ("socialsite_messages_created_total", {}),
        ("socialsite_fanout_lag_seconds_count", {}),
    )
    follow(bo, ana)
    post = post_by(ana, "counted")
    with pytest.raises(ServiceError):  # refused: nothing committed, nothing counted
        act(posts_services.post_create, author=ana, content="   ")
    act(posts_services.like_create, user=bo, post_id=post.pk)
    act(posts_services.like_create, user=bo, post_id=post.pk)  # the same like again
    act(messaging_services.message_send, sender=ana, receiver_id=bo.pk, content="hi")
    assert count("socialsite_posts_created_total") == 1
    assert count("socialsite_likes_created_total") == 1
    assert count("socialsite_messages_created_total") == 1
    assert count("socialsite_fanout_lag_seconds_count") == 1  # bo's timeline written, in process


def test_feed_reads_count_by_source(client_for, post_by, ana):
    count = moved(("socialsite_feed_reads_total", {"source": "store"}))
    post_by(ana, "mine")
    assert client_for(ana).get("/api/v1/feed").status_code == 200
    assert count("socialsite_feed_reads_total", source="store") == 1


def test_sign_ups_and_sign_ins_count_success_and_failure_by_where(api, client, act, django_capture_on_commit_callbacks):
    labels = [("api", "success"), ("api", "failure"), ("web", "success"), ("web", "failure")]
    count = moved(
        ("socialsite_signups_total", {"via": "api"}),
        *(("socialsite_logins_total", {"via": via, "result": result}) for via, result in labels),
    )
    body = {"email": "counted@example.com", "username": "counted", "password": PASSWORD}
    with django_capture_on_commit_callbacks(execute=True):  # counted once committed
        assert api.post("/api/v1/auth/register", body).status_code == 201
    assert api.post("/api/v1/auth/jwt/login", {"username": "counted", "password": PASSWORD}).status_code == 200
    assert api.post("/api/v1/auth/jwt/login", {"username": "counted", "password": "nope" + PASSWORD}).status_code == 401
    assert client.post("/accounts/login/", {"login": "counted", "password": PASSWORD}).status_code == 302
    client.logout()
    assert client.post("/accounts/login/", {"login": "counted", "password": "nope"}).status_code == 200
    assert count("socialsite_signups_total", via="api") == 1
    assert count("socialsite_logins_total", via="api", result="success") == 1
    assert count("socialsite_logins_total", via="api", result="failure") == 1
    assert count("socialsite_logins_total", via="web", result="success") == 1
    assert count("socialsite_logins_total", via="web", result="failure") == 1
    with pytest.raises(ServiceError):  # a refused sign-up counts nothing
        act(accounts_services.user_register, email="counted@example.com", username="counted2", password=PASSWORD)
    assert count("socialsite_signups_total", via="api") == 1


def test_media_processing_is_timed_and_failures_counted(user_api, act, django_capture_on_commit_callbacks):
    count = moved(
        ("socialsite_media_processing_seconds_count", {"kind": "image", "outcome": "ready"}),
        ("socialsite_media_failures_total", {"kind": "image"}),
    )
    with django_capture_on_commit_callbacks(execute=True):  # processed after the commit, in process
        good = user_api.post("/api/v1/media", {"file": _file("a.png", image_bytes(size=(32, 24)))}, format="multipart")
    assert good.status_code == 202, good.content
    assert count("socialsite_media_processing_seconds_count", kind="image", outcome="ready") == 1
    with django_capture_on_commit_callbacks(execute=False):  # its processing never runs: still processing
        stuck = user_api.post("/api/v1/media", {"file": _file("b.png", image_bytes(size=(8, 8)))}, format="multipart")
    act(media_services.media_fail, media_id=stuck.json()["id"], message="gave up")  # as the sweeper does
    act(media_services.media_fail, media_id=stuck.json()["id"], message="gave up")  # failed already: no-op
    assert count("socialsite_media_failures_total", kind="image") == 1


def _file(name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/png")
