"""The fetch_link_preview task in-process: a link post made through the service gets its card."""

import datetime
import uuid

import pytest

from posts import services
from posts.link_preview.errors import PreviewTimeout
from posts.link_preview.services import post_link_preview
from posts.tasks import fetch_link_preview

pytestmark = pytest.mark.django_db


@pytest.fixture
def allow_local(settings):
    settings.LINK_PREVIEW_ALLOW_PRIVATE = ["127.0.0.1"]


def create_link_post(author, content, capture):
    with capture(execute=True) as callbacks:
        post = services.post_create(author=author, content_type="link", content=content)
    post.refresh_from_db()
    return post, callbacks


def test_creating_a_link_post_fills_its_preview(user, page_server, allow_local, django_capture_on_commit_callbacks):
    url = page_server.url("/page")
    post, _ = create_link_post(user, f"Worth reading: {url} #news", django_capture_on_commit_callbacks)

    assert page_server.paths() == ["/page"]  # fetched once, by the task queued on commit
    assert post.link_url == url
    preview = dict(post.link_preview)
    fetched_at = datetime.datetime.fromisoformat(preview.pop("fetched_at"))
    assert fetched_at.tzinfo is not None
    assert preview == {
        "title": 'The "real" title & more',
        "description": "What the page is about.",
        "site_name": "Example Site",
        "image": page_server.url("/img/card.png"),
        "url": url,
    }
    assert page_server.paths() == ["/page"]


def test_the_task_is_idempotent(user, page_server, allow_local, django_capture_on_commit_callbacks):
    post, _ = create_link_post(user, page_server.url("/page"), django_capture_on_commit_callbacks)
    stored = post.link_preview
    updated_at = post.updated_at

    fetch_link_preview.delay(str(post.pk))
    fetch_link_preview.delay(post.pk)

    post.refresh_from_db()
    assert post.link_preview == stored
    assert post.updated_at == updated_at  # a card is not an edit
    assert page_server.paths() == ["/page"]


def test_editing_the_link_fetches_the_new_one(user, page_server, allow_local, django_capture_on_commit_callbacks):
    post, _ = create_link_post(user, page_server.url("/page"), django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(post=post, editor=user, content=f"now {page_server.url('/plain')}")
    post.refresh_from_db()
    assert post.link_preview["url"] == page_server.url("/plain")
    assert post.link_preview["title"] == "Café & bar"

    # Editing the text around the same link fetches nothing again.
    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(post=post, editor=user, content=f"still {page_server.url('/plain')}")
    assert page_server.paths() == ["/page", "/plain"]


def test_a_private_address_is_stored_as_an_error(user, page_server, django_capture_on_commit_callbacks):
    url = page_server.url("/page")
    post, _ = create_link_post(user, f"see {url}", django_capture_on_commit_callbacks)

    assert post.link_preview["error"] == "private_address"
    assert post.link_preview["url"] == url
    assert "title" not in post.link_preview
    assert page_server.hits == []


def test_failures_are_stored_once(user, page_server, allow_local, django_capture_on_commit_callbacks):
    post, _ = create_link_post(user, page_server.url("/json"), django_capture_on_commit_callbacks)
    assert post.link_preview["error"] == "not_html"
    fetch_link_preview.delay(post.pk)
    assert page_server.paths() == ["/json"]


def test_text_posts_and_deleted_or_missing_posts_are_skipped(
    user, page_server, allow_local, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        text_post = services.post_create(author=user, content_type="text", content=f"a {page_server.url('/page')}")
    assert page_server.paths() == []  # a text post queues no fetch
    fetch_link_preview.delay(text_post.pk)
    text_post.refresh_from_db()
    assert text_post.link_preview == {}

    with django_capture_on_commit_callbacks(execute=False):
        link_post = services.post_create(author=user, content_type="link", content=page_server.url("/page"))
    services.post_delete(post=link_post, actor=user)
    fetch_link_preview.delay(link_post.pk)
    fetch_link_preview.delay(str(uuid.uuid4()))
    link_post.refresh_from_db()
    assert link_post.link_preview == {}
    assert page_server.hits == []


@pytest.mark.timeout(30)
def test_a_timeout_is_raised_for_a_retry_and_stored_on_the_last_try(
    user, page_server, allow_local, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        post = services.post_create(author=user, content_type="link", content=page_server.url("/slow"))

    with pytest.raises(PreviewTimeout):
        post_link_preview(post_id=post.pk, final=False)
    post.refresh_from_db()
    assert post.link_preview == {}

    # Without a worker (eager), the task stores the timeout at once instead of retrying in place.
    fetch_link_preview.delay(post.pk)
    post.refresh_from_db()
    assert post.link_preview["error"] == "timeout"
    assert post.link_preview["url"] == page_server.url("/slow")


def test_the_task_is_routed_to_the_default_queue():
    from socialsite.celery import app

    route = app.amqp.router.route({}, fetch_link_preview.name)
    assert route["queue"].name == "default"
    assert fetch_link_preview.max_retries == 2
