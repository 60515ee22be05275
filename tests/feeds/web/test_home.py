"""The home page: the signed-in user's feed (own posts, shares and followees' posts, newest first),
"Older posts" paging by cursor, and the /feed/new fragment behind the "N new posts" button."""

import re

import pytest
from django.urls import reverse

from accounts import services as account_services
from posts import services as post_services
from tests.factories import UserFactory
from tests.posts.factories import busy_posts

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
CARD = re.compile(r'<article class="card post" id="post-[^"]+" data-post-id="([^"]+)"')
NEWEST = re.compile(r'data-newest-cursor="([^"]*)"')
OLDER = re.compile(r'href="/\?cursor=([^"]+)"')
HOME_MAX_QUERIES = 16  # 14 today, with either 3 or 30 posts of every shape


@pytest.fixture
def effects(django_capture_on_commit_callbacks):
    """Run the on_commit side effects (fan-out, events) of what happens inside, as in production."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def post(effects):
    def make(author, content="hello world"):
        with effects():
            return post_services.post_create(author=author, content_type="text", content=content)

    return make


@pytest.fixture
def follow(effects):
    def make(follower, followed):
        with effects():
            account_services.follow_create(follower=follower, followed_user_id=followed.pk)

    return make


def cards(response):
    return CARD.findall(response.content.decode())


def test_anonymous_gets_the_landing_page(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("account_signup") in html and reverse("account_login") in html
    assert "data-feed-live" not in html and "js/feed.js" not in html
    assert reverse("home") == "/"


def test_feed_shows_own_and_followed_posts_newest_first(client, user, post, follow, effects):
    author, stranger = UserFactory(), UserFactory()
    follow(user, author)
    mine = post(user, "my own words")
    theirs = post(author, "from someone I follow")
    post(stranger, "a stranger's post")
    with effects():
        shared, _ = post_services.share_create(user=user, post_id=theirs.pk)
    latest = post(author, "the latest")
    client.force_login(user)

    response = client.get("/")

    assert response.status_code == 200
    assert cards(response) == [str(p.pk) for p in (latest, shared, theirs, mine)]
    html = response.content.decode()
    assert "a stranger&#x27;s post" not in html and "a stranger's post" not in html
    assert "/static/js/feed.js" in html and "/static/css/feed.css" in html
    assert "<script>" not in html and "style=" not in html
    assert NEWEST.search(html).group(1).endswith(f".{latest.pk}")
    assert 'data-new-url="/feed/new"' in html
    assert "Follow people to fill your feed" not in html
    assert "Older posts" not in html
    # Who to follow (search's panel, loaded after the page) stays beside the feed.
    assert 'id="people-title"' in html and 'hx-get="/search/suggestions/"' in html


def test_empty_feed_suggests_people_to_follow(client, user):
    client.force_login(user)
    response = client.get("/")
    html = response.content.decode()
    assert "Follow people to fill your feed" in html
    assert 'hx-get="/search/suggestions/"' in html
    assert cards(response) == []
    assert 'data-newest-cursor=""' in html


def test_older_posts_page_with_the_cursor(client, user, post, follow):
    author = UserFactory()
    follow(user, author)
    made = [post(author, f"post {i}") for i in range(25)]
    newest_first = [str(p.pk) for p in reversed(made)]
    client.force_login(user)

    first = client.get("/")
    assert cards(first) == newest_first[:20]
    cursor = OLDER.search(first.content.decode()).group(1)
    assert 'hx-get="/?cursor=' in first.content.decode()

    # HTMX: only the next cards (and no further "Older posts"), to append in place.
    fragment = client.get("/", {"cursor": cursor.replace("%2E", ".")}, **HTMX)
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert "<html" not in html and "Older posts" not in html
    assert cards(fragment) == newest_first[20:]

    # Without JavaScript: a full page of older posts, without the live button.
    page = client.get("/", {"cursor": cursor.replace("%2E", ".")})
    assert "<html" in page.content.decode() and "data-feed-live" not in page.content.decode()
    assert cards(page) == newest_first[20:]


def test_new_posts_fragment_returns_only_newer_posts(client, user, post, follow):
    author = UserFactory()
    follow(user, author)
    old = post(author, "already seen")
    client.force_login(user)
    since = NEWEST.search(client.get("/").content.decode()).group(1)
    newer = [post(author, "new one"), post(user, "new two")]

    response = client.get(reverse("feed_new"), {"since": since})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert cards(response) == [str(newer[1].pk), str(newer[0].pk)]
    assert NEWEST.search(html).group(1).endswith(f".{newer[1].pk}")
    # A post id works as `since` too; nothing newer keeps the cursor.
    assert cards(client.get(reverse("feed_new"), {"since": str(old.pk)})) == [str(newer[1].pk), str(newer[0].pk)]
    latest = NEWEST.search(html).group(1)
    nothing = client.get(reverse("feed_new"), {"since": latest})
    assert cards(nothing) == [] and NEWEST.search(nothing.content.decode()).group(1) == latest


def test_bad_cursors_answer_400_not_500(client, user):
    client.force_login(user)
    bad = client.get(reverse("feed_new"), {"since": "not-a-cursor"})
    assert bad.status_code == 400
    assert "<html" not in bad.content.decode() and "Not a valid cursor" in bad.content.decode()
    page = client.get("/", {"cursor": "garbage"})
    assert page.status_code == 400 and "<html" in page.content.decode()
    fragment = client.get("/", {"cursor": "garbage"}, **HTMX)
    assert fragment.status_code == 400 and "<html" not in fragment.content.decode()
    # A post the viewer can't see is no cursor either.
    assert client.get(reverse("feed_new"), {"since": "00000000-0000-0000-0000-000000000000"}).status_code == 400


def test_new_posts_needs_a_signed_in_user(client):
    response = client.get(reverse("feed_new"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_home_refuses_writes(client, user):
    client.force_login(user)
    assert client.post("/").status_code == 405


@pytest.mark.parametrize("n", [3, 30])
def test_home_queries_are_bounded(client, user, follow, effects, n, django_assert_max_num_queries):
    author = UserFactory()
    with effects():
        friend = busy_posts(author, n)
    follow(user, author)
    follow(user, friend)
    client.force_login(user)
    client.get("/")  # warm the session and per-user caches, as any earlier request would
    with django_assert_max_num_queries(HOME_MAX_QUERIES):
        response = client.get("/")
    assert len(cards(response)) == min(n + 1, 20)
    with django_assert_max_num_queries(HOME_MAX_QUERIES):
        response = client.get(reverse("feed_new"), {"since": ""})
    assert len(cards(response)) == min(n + 1, 50)


def test_too_many_new_posts_ask_for_a_reload(client, user, post, follow, monkeypatch):
    from feeds import views

    monkeypatch.setattr(views, "NEW_POSTS_MAX", 2)
    author = UserFactory()
    follow(user, author)
    client.force_login(user)
    since = NEWEST.search(client.get("/").content.decode()).group(1)
    for i in range(3):
        post(author, f"new {i}")

    response = client.get(reverse("feed_new"), {"since": since})

    html = response.content.decode()
    assert response.status_code == 200 and "data-feed-reload" in html and cards(response) == []
    assert NEWEST.search(html).group(1) == since
    # Two are fine: in place.
    response = client.get(reverse("feed_new"), {"since": NEWEST.search(client.get("/").content.decode()).group(1)})
    assert "data-feed-reload" not in response.content.decode()


def test_welcome_name_is_cached_and_follows_renames(client, user, effects, django_assert_max_num_queries):
    client.force_login(user)
    client.get("/")  # warm
    with django_assert_max_num_queries(HOME_MAX_QUERIES) as queries:
        html = client.get("/").content.decode()
    assert not [q for q in queries.captured_queries if 'FROM "accounts_profile"' in q["sql"]]
    assert f"Welcome, {user.profile.name}</h1>" in html
    with effects():
        account_services.profile_update(user=user, display_name="New Name")
    assert "Welcome, New Name</h1>" in client.get("/").content.decode()
    with effects():
        account_services.profile_update(user=user, display_name="")
    assert f"Welcome, {user.username}</h1>" in client.get("/").content.decode()
