"""The discovery panels (trends, who to follow) on the home sidebar and the search page, and
the bounded number of queries of every search page and panel."""

from datetime import timedelta

import pytest
from django.utils import timezone

from search.models import Trend
from tests.factories import UserFactory
from tests.posts.factories import HashtagFactory, busy_posts

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/"}
PAGE_MAX_QUERIES = 22  # header counters, results, panels: 20 (SQLite) or 19, whatever the page size
PANEL_MAX_QUERIES = 6  # session, user and the three suggestion queries: 5


def trend(name, score, hidden=False):
    return Trend.objects.create(
        hashtag=HashtagFactory(name=name),
        score=score,
        recent_posts=7,
        recent_authors=3,
        baseline_per_hour=0.1,
        computed_at=timezone.now(),
        hidden_at=timezone.now() - timedelta(minutes=1) if hidden else None,
    )


@pytest.fixture
def network(ana, bo, cy, follow):
    """ana follows bo, cy and dee; eve is followed by all three, fay by bo and cy, gus by dee."""
    dee, eve, fay, gus = (UserFactory(username=name) for name in ("dee", "eve", "fay", "gus"))
    for followed in (bo, cy, dee):
        follow(ana, followed)
    for follower, followed in [(bo, eve), (cy, eve), (dee, eve), (bo, fay), (cy, fay), (dee, gus)]:
        follow(follower, followed)
    return ana


def test_home_sidebar_loads_both_panels(client, ana):
    client.force_login(ana)
    html = client.get("/").content.decode()
    assert 'id="people-title"' in html and 'id="trends-title"' in html
    assert 'hx-get="/search/suggestions/" hx-trigger="load"' in html
    assert 'hx-get="/search/trends/" hx-trigger="load"' in html
    assert 'href="/search/">See who to follow</a>' in html  # without JavaScript


def test_suggestions_panel_says_who_follows_them(client, network, django_assert_max_num_queries):
    client.force_login(network)
    with django_assert_max_num_queries(PANEL_MAX_QUERIES):
        response = client.get("/search/suggestions/", **HTMX)
    html = response.content.decode()
    rows = [(s.user.username, s.followed_by) for s in response.context["suggestions"]]
    assert rows == [
        ("eve", "Followed by bo and 2 others"),
        ("fay", "Followed by bo and cy"),
        ("gus", "Followed by dee"),
    ]
    assert "Followed by bo and 2 others" in html and 'href="/u/eve/"' in html
    assert html.count('data-follow-state="none"') == 3
    assert '<input type="hidden" name="next" value="/">' in html  # back to the page, not the fragment


def test_suggestions_panel_when_there_are_none(client, user):
    client.force_login(user)
    html = client.get("/search/suggestions/", **HTMX).content.decode()
    assert "No suggestions right now." in html


def test_trends_panel_links_to_hashtag_pages(client, django_assert_max_num_queries):
    trend("launch", 9.5)
    trend("eclipse", 4.0)
    trend("spam", 99.0, hidden=True)
    with django_assert_max_num_queries(1):
        response = client.get("/search/trends/", **HTMX)
    html = response.content.decode()
    assert html.index('href="/tags/launch/">#launch</a>') < html.index('href="/tags/eclipse/">#eclipse</a>')
    assert "7 posts by 3 people in the last hour" in html and "spam" not in html
    Trend.objects.all().delete()
    assert "Nothing is trending right now." in client.get("/search/trends/", **HTMX).content.decode()


def test_search_page_shows_the_panels_inline(client, network):
    trend("launch", 9.5)
    client.force_login(network)
    html = client.get("/search/", {"q": "anything"}).content.decode()
    assert 'href="/tags/launch/">#launch</a>' in html and "Followed by bo and 2 others" in html
    assert "hx-trigger" not in html.split('<aside class="sidebar"')[1]


@pytest.mark.parametrize("n", [2, 24])
def test_search_pages_run_a_bounded_number_of_queries(
    client, network, n, follow, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    trend("launch", 9.5)
    with django_capture_on_commit_callbacks(execute=True):
        busy_posts(network, n)  # posts of every shape with #busy and #n0, #n2...
    for i in range(n):
        HashtagFactory(name=f"busy{i}")
        person = UserFactory(username=f"busy{i}")
        if i % 2:
            follow(network, person)
    client.force_login(network)
    for kind, found in (("post", "data-post-id="), ("user", 'class="user-row"'), ("hashtag", 'class="hashtag-row"')):
        with django_assert_max_num_queries(PAGE_MAX_QUERIES):
            response = client.get("/search/", {"q": "busy", "type": kind})
        assert response.status_code == 200
        assert response.content.decode().count(found) >= min(n, 20), kind
