"""/search/: the header box, result tabs over search.selectors, filters, offsets and errors."""

import re

import pytest

from accounts import services as accounts_services
from posts.models import Post
from tests.factories import UserFactory
from tests.posts.factories import MediaFactory

pytestmark = pytest.mark.django_db

CARD = re.compile(r'<article class="card post" id="post-[^"]+" data-post-id="([^"]+)"')


def cards(response):
    return CARD.findall(response.content.decode())


def page(client, status=200, **params):
    response = client.get("/search/", params)
    assert response.status_code == status, response.content[:2000]
    return response, response.content.decode()


def test_every_page_has_the_header_search_box(client, user):
    for url in ("/", "/search/", f"/u/{user.username}/"):
        html = client.get(url).content.decode()
        assert '<form class="header-search" role="search" method="get" action="/search/">' in html
        assert '<label class="sr-only" for="header-search">Search socialsite</label>' in html
        assert 'id="header-search"' in html and 'name="q"' in html


def test_no_query_shows_the_form_and_the_panels(client, user):
    response, html = page(client)
    assert 'id="search-q"' in html and "Search for posts, people and hashtags." in html
    assert 'id="trends-title"' in html and 'id="people-title"' not in html  # suggestions need a sign-in
    assert cards(response) == []
    client.force_login(user)
    _, html = page(client, q="   ", type="user")
    assert 'id="people-title"' in html and 'aria-current="page">People</a>' in html


def test_posts_tab_renders_post_cards_and_tabs_keep_the_query(client, ana, bo, post_by):
    fox = post_by(ana, "the quick brown fox jumps over the lazy dog")
    post_by(bo, "nothing to see here")
    response, html = page(client, q="jumping fox")
    assert cards(response) == [str(fox.pk)]
    assert 'aria-current="page">Posts</a>' in html
    assert 'href="/search/?q=jumping+fox&amp;type=user"' in html
    assert 'href="/search/?q=jumping+fox&amp;type=hashtag"' in html
    assert 'value="jumping fox"' in html
    _, html = page(client, q="zebra")
    assert "No posts match “zebra”." in html


def test_people_tab_with_follow_buttons(client, ana, bo, cy, follow):
    for person, name in ((bo, "Bo Diddley"), (cy, "Bo Peep")):
        person.profile.display_name = name
        person.profile.save()
    follow(ana, bo)
    client.force_login(ana)
    _, html = page(client, q="bo", type="user")
    assert 'aria-current="page">People</a>' in html
    assert 'href="/u/bo/"' in html and "Bo Diddley" in html and "Bo Peep" in html
    assert f'action="/users/{bo.pk}/unfollow/"' in html and f'action="/users/{cy.pk}/follow/"' in html
    # Anonymous: a sign-in link instead of a form.
    client.logout()
    _, html = page(client, q="bo", type="user")
    assert "Bo Diddley" in html and "data-follow-state" not in html and "/accounts/login/?next=/search/" in html


def test_hashtag_tab_links_to_the_hashtag_page(client, ana, post_by):
    post_by(ana, "Lift-off! #Launch")
    _, html = page(client, q="laun", type="hashtag")
    assert '<a class="hashtag-row__name" href="/tags/launch/">#launch</a>' in html
    assert "1 post" in html


def test_private_accounts_posts_stay_private(client, ana, bo, cy, post_by, act):
    act(accounts_services.follow_create, follower=cy, followed_user_id=bo.pk)
    bo.profile.is_private = True
    bo.profile.save()
    secret = post_by(bo, "a private fox jumps")
    public = post_by(ana, "a public fox jumps")
    assert cards(page(client, q="fox")[0]) == [str(public.pk)]  # anonymous
    client.force_login(ana)  # a stranger
    assert cards(page(client, q="fox")[0]) == [str(public.pk)]
    client.force_login(cy)  # a follower (from before the account went private)
    assert set(cards(page(client, q="fox")[0])) == {str(public.pk), str(secret.pk)}


def test_more_results_by_offset(client, ana, post_by):
    for n in range(23):
        post_by(ana, f"otters number {n}")
    response, html = page(client, q="otters")
    first = cards(response)
    assert len(first) == 20
    assert 'href="/search/?q=otters&amp;offset=20" rel="next">More results' in html
    response, html = page(client, q="otters", offset="20")
    rest = cards(response)
    assert len(rest) == 3 and not set(rest) & set(first)
    assert "More results" not in html and 'href="/search/?q=otters" rel="prev">← Previous results' in html
    # A hand-edited offset starts at the top instead of failing.
    for bad in ("-5", "abc", "1e3", "²", "99999999"):
        assert cards(page(client, q="otters", offset=bad)[0]) == first


def test_post_filters(client, ana, bo, post_by):
    mine = post_by(ana, "sunset over the pier")
    photo = post_by(bo, "sunset photo", content_type="image", media_ids=[MediaFactory(owner=bo).pk])
    Post.objects.filter(pk=photo.pk).update(status=Post.Status.PUBLISHED)
    assert set(cards(page(client, q="sunset")[0])) == {str(mine.pk), str(photo.pk)}
    assert cards(page(client, q="sunset", author="ana")[0]) == [str(mine.pk)]
    assert cards(page(client, q="sunset", author="@bo", has_media="true")[0]) == [str(photo.pk)]
    assert cards(page(client, q="sunset", content_type="text")[0]) == [str(mine.pk)]
    # The filter form sends empty fields: they mean "any".
    response, html = page(client, q="sunset", type="post", author="", since="", until="", has_media="", content_type="")
    assert len(cards(response)) == 2 and '<details class="search-filters">' in html
    _, html = page(client, q="sunset", author="ana")
    assert '<details class="search-filters" open>' in html and 'value="ana"' in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "fox", "since": "yesterday"}, "since is an ISO date or date-time."),
        ({"q": "fox", "since": "2024-02-01", "until": "2024-01-01"}, "since is after until."),
        ({"q": "fox", "type": "planet"}, "Unknown search type."),
        ({"q": "fox", "type": "hashtag", "author": "ana"}, "Unknown filter for type=hashtag."),
        ({"q": "fox", "type": "user", "followed_by_me": "true"}, "Sign in to filter by whom you follow."),
        ({"q": "fox", "author": "nobody-here"}, "No such author."),
        ({"q": "x" * 201}, "The query is too long (at most 200 characters)."),
    ],
)
def test_bad_parameters_are_a_friendly_400(client, params, message):
    response, html = page(client, status=400, **params)
    assert f'<div class="notice notice--danger" role="alert">\n        <p>{message}</p>' in html
    assert "Traceback" not in html and 'id="search-q"' in html and 'id="trends-title"' in html
    assert cards(response) == []


def test_people_tab_filter_for_signed_in_users(client, ana, bo, cy, follow):
    follow(ana, bo)
    UserFactory(username="bob")
    client.force_login(ana)
    _, html = page(client, q="bo", type="user", followed_by_me="true")
    assert 'href="/u/bo/"' in html and 'href="/u/bob/"' not in html
    assert 'name="followed_by_me" value="true" checked' in html


def test_the_page_and_the_api_share_one_rate_limit(client, user, monkeypatch):
    from django.core.cache import cache

    from search.api.views import SearchThrottle

    cache.clear()
    monkeypatch.setattr(SearchThrottle, "THROTTLE_RATES", {"search": "3/m"})
    client.force_login(user)
    page(client, q="fox")
    page(client, q="fox")
    assert client.get("/api/v1/search", {"query": "fox"}).status_code == 200  # the third, by the API
    response, html = page(client, status=429, q="fox")
    assert "Too many searches; wait a minute." in html and int(response["Retry-After"]) >= 1
    assert client.get("/api/v1/search", {"query": "fox"}).status_code == 429
    page(client)  # the empty form still shows: it searches nothing


def test_pages_with_a_comment_box_load_autocomplete_once(client, ana, bo, post_by, act):
    from posts import services as posts_services

    post = post_by(ana, "comment here")
    first = act(posts_services.comment_create, author=bo, post_id=post.pk, content="first")
    act(posts_services.comment_create, author=ana, post_id=post.pk, content="second", parent_comment_id=first.pk)
    client.force_login(bo)
    for url in (f"/posts/{post.pk}/", f"/posts/{post.pk}/comments/{first.pk}/", "/posts/new/"):
        html = client.get(url).content.decode()
        assert html.count("js/autocomplete.js") == 1, url
        assert "data-autocomplete=" in html, url
