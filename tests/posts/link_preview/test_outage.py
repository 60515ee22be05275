"""Link previews while fetching fails (refused connections: the way out is down): posts are still
created, and once the breaker is open without a card and without a fetch; after the reset time
the next link post gets its card again."""

import pytest

from socialsite import breakers
from tests.outage import closed_port, half_open_soon

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_breakers")]


@pytest.fixture
def allow_local(settings):
    settings.LINK_PREVIEW_ALLOW_PRIVATE = ["127.0.0.1"]


def link_post(api, url, on_commit):
    with on_commit(execute=True):
        response = api.post("/api/v1/posts", {"content_type": "link", "content": f"see {url}"}, format="json")
    assert response.status_code == 201, response.content
    return api.get(f"/api/v1/posts/{response.json()['id']}").json()


def test_previews_are_skipped_while_fetches_fail_and_come_back(
    user_api, settings, allow_local, page_server, django_capture_on_commit_callbacks
):
    for _ in range(settings.BREAKER_FAIL_MAX):
        link_post(user_api, f"http://127.0.0.1:{closed_port()}/gone", django_capture_on_commit_callbacks)
    assert breakers.is_open("link_preview")

    post = link_post(user_api, page_server.url("/page"), django_capture_on_commit_callbacks)
    assert post["link_preview"] is None  # created, without a card
    assert page_server.paths() == []  # and without a fetch

    half_open_soon(settings)
    post = link_post(user_api, page_server.url("/page"), django_capture_on_commit_callbacks)
    assert post["link_preview"]["title"] == 'The "real" title & more'
    assert page_server.paths() == ["/page"]
    assert breakers.breaker("link_preview").current_state == "closed"


def test_pages_that_answer_with_errors_do_not_open_it(
    user_api, settings, allow_local, page_server, django_capture_on_commit_callbacks
):
    """A site that answers (404 here) is that site's problem: the breaker counts only the way out."""
    for _ in range(settings.BREAKER_FAIL_MAX + 1):
        link_post(user_api, page_server.url("/missing"), django_capture_on_commit_callbacks)
    assert breakers.breaker("link_preview").current_state == "closed"
    assert len(page_server.paths()) == settings.BREAKER_FAIL_MAX + 1
