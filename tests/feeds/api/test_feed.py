"""GET /api/v1/feed: hybrid fan-out, consistency, pagination and bad input.

Each test runs against the configured engines: Redis timelines and PostgreSQL in CI, the
in-process store and SQLite on a bare machine. Fan-out tasks run in-process after commit.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as accounts_services
from feeds.models import Celebrity, Fanout
from feeds.store import author_key, get_store, home_key
from posts import moderation
from posts import services as posts_services
from tests.factories import UserFactory
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

FEED = "/api/v1/feed"


def feed(client, **params):
    response = client.get(FEED, params)
    assert response.status_code == 200, response.content
    return response.json()


def ids(client, **params):
    return [p["id"] for p in feed(client, **params)["results"]]


def all_pages(client, limit):
    seen, url = [], f"{FEED}?limit={limit}"
    while url:
        body = client.get(url).json()
        seen += [p["id"] for p in body["results"]]
        url = body["next"]
    return seen


def timeline(user):
    (entries,) = get_store().range_many([home_key(user.pk)], count=1000)
    return None if entries is None else [e.post_id for e in entries]


@pytest.fixture
def reader(db):
    return UserFactory(username="reader")


@pytest.fixture
def reader_api(client_for, reader):
    return client_for(reader)


def test_followees_own_posts_and_shares_newest_first(reader, reader_api, follow, post, settle):
    friend, stranger = UserFactory(), UserFactory()
    follow(reader, friend)
    first = post(friend, "first")
    post(stranger, "not followed")
    mine = post(reader, "my own")
    share, _ = settle(posts_services.share_create, user=friend, post_id=first.pk, content="look")
    body = feed(reader_api)
    assert [p["id"] for p in body["results"]] == [str(share.pk), str(mine.pk), str(first.pk)]
    assert body["results"][0]["shared_post"]["id"] == str(first.pk)
    assert body["next"] is None and "since=" in body["previous"]


def test_payload_matches_the_post_endpoint(reader, reader_api, follow, post, settle):
    friend = UserFactory()
    follow(reader, friend)
    item = post(friend, "Hi #Sunday @reader")
    settle(posts_services.like_create, user=reader, post_id=item.pk)
    (from_feed,) = feed(reader_api)["results"]
    assert from_feed == reader_api.get(f"/api/v1/posts/{item.pk}").json()
    settle(posts_services.comment_create, author=friend, post_id=item.pk, content="fresh counters")
    (again,) = feed(reader_api)["results"]
    assert (again["comments_count"], again["liked_by_me"]) == (1, True)


def test_pushed_and_pulled_posts_merge_in_order_without_duplicates(reader, reader_api, follow, post, fans, threshold):
    normal, star = UserFactory(), UserFactory()
    follow(reader, normal)
    follow(reader, star)
    fans(star, threshold - 1)
    assert Celebrity.objects.filter(author=star).exists()
    made = [post(normal if i % 2 else star, f"post {i}") for i in range(8)]
    expected = [str(p.pk) for p in reversed(made)]
    assert ids(reader_api, limit=50) == expected
    assert all_pages(reader_api, 3) == expected
    # Pushed posts are in the reader's timeline; the celebrity's only in its author timeline.
    pushed = {str(p.pk) for p in made if p.author == normal}
    pulled = {str(p.pk) for p in made if p.author == star}
    assert set(timeline(reader)) == pushed
    (author_timeline,) = get_store().range_many([author_key(star.pk)], count=100)
    assert {e.post_id for e in author_timeline} == pulled
    assert {f.mode for f in Fanout.objects.filter(post__author=star)} == {"pull"}
    assert {f.mode for f in Fanout.objects.filter(post__author=normal)} == {"push"}


def test_crossing_the_threshold_both_ways_loses_and_repeats_nothing(
    reader, reader_api, follow, post, fans, threshold, settle
):
    author = UserFactory()
    follow(reader, author)
    before = post(author, "pushed")
    extra = fans(author, threshold - 1)  # now a celebrity
    assert Celebrity.objects.get(author=author).state == "celebrity"
    during = post(author, "pulled")
    assert ids(reader_api) == [str(during.pk), str(before.pk)]
    settle(accounts_services.follow_delete, follower=extra[0], followed_user_id=author.pk)  # back below
    assert not Celebrity.objects.filter(author=author).exists()
    assert set(timeline(reader)) == {str(before.pk), str(during.pk)}  # the demotion pushed what was pulled
    after = post(author, "pushed again")
    assert ids(reader_api) == [str(after.pk), str(during.pk), str(before.pk)]


def test_unfollow_follow_delete_hide_block_and_mute(reader, reader_api, follow, post, settle):
    friend, other = UserFactory(), UserFactory()
    follow(reader, friend)
    follow(reader, other)
    kept, deleted, hidden = post(friend, "kept"), post(friend, "deleted"), post(friend, "hidden")
    theirs = post(other, "other")
    settle(posts_services.post_delete, post=deleted, actor=friend)
    moderator = UserFactory(is_staff=True, is_superuser=True)
    settle(moderation.hide_content, moderator=moderator, reason="spam", target=hidden)
    assert ids(reader_api) == [str(theirs.pk), str(kept.pk)]
    assert str(deleted.pk) not in timeline(reader) and str(hidden.pk) not in timeline(reader)

    settle(accounts_services.mute_create, muter=reader, muted_user_id=other.pk)
    assert ids(reader_api) == [str(kept.pk)]
    settle(accounts_services.mute_delete, muter=reader, muted_user_id=other.pk)
    assert ids(reader_api) == [str(theirs.pk), str(kept.pk)]

    settle(accounts_services.follow_delete, follower=reader, followed_user_id=friend.pk)
    assert ids(reader_api) == [str(theirs.pk)]
    assert str(kept.pk) not in timeline(reader)
    follow(reader, friend)  # following again merges their recent posts back
    assert str(kept.pk) in timeline(reader)
    assert ids(reader_api) == [str(theirs.pk), str(kept.pk)]

    settle(accounts_services.block_create, blocker=other, blocked_user_id=reader.pk)
    assert ids(reader_api) == [str(kept.pk)]


def test_restored_post_comes_back(reader, reader_api, follow, post, settle):
    friend = UserFactory()
    follow(reader, friend)
    item = post(friend, "appeal me")
    moderator = UserFactory(is_staff=True, is_superuser=True)
    settle(moderation.remove_content, moderator=moderator, reason="x", target=item)
    assert ids(reader_api) == []
    settle(moderation.restore_content, moderator=moderator, reason="appeal", target=item)
    assert ids(reader_api) == [str(item.pk)] and str(item.pk) in timeline(reader)


def test_visibility_is_checked_at_read_time(reader, reader_api, follow, post, settle):
    friend = UserFactory()
    follow(reader, friend)
    ids(reader_api)  # builds the reader's timeline
    public = post(friend, "everyone")
    for_others = post(friend, "only @someone", visibility="mentioned")
    to_me = post(friend, "hi @reader", visibility="mentioned")
    assert str(for_others.pk) not in timeline(reader)  # mentioned posts go only to those named
    assert ids(reader_api) == [str(to_me.pk), str(public.pk)]
    settle(posts_services.post_update, post=public, editor=friend, visibility="mentioned")
    assert ids(reader_api) == [str(to_me.pk)]


def test_a_post_waiting_for_its_media_arrives_as_new_when_published(reader, reader_api, follow, post, settle):
    from media.models import Media
    from tests.posts.factories import MediaFactory

    friend = UserFactory()
    follow(reader, friend)
    video = MediaFactory(owner=friend, kind="video", status="processing")
    slow = settle(posts_services.post_create, author=friend, content_type="video", content="clip", media_ids=[video.pk])
    quick = post(friend, "composed later, published first")
    cursor = feed(reader_api)["previous"]
    assert ids(reader_api) == [str(quick.pk)]
    Media.objects.filter(pk=video.pk).update(status="ready", variants={"video": {"path": "v.mp4"}})
    settle(posts_services.post_media_settled, post_id=slow.pk)
    assert ids(reader_api) == [str(slow.pk), str(quick.pk)]
    assert [p["id"] for p in reader_api.get(cursor).json()["results"]] == [str(slow.pk)]  # shows as new


def test_inactive_reader_is_skipped_then_rebuilt_on_first_read(reader, reader_api, follow, post):
    friend = UserFactory()
    follow(reader, friend)
    ids(reader_api)  # builds the timeline
    get_store().flush()
    type(reader).objects.filter(pk=reader.pk).update(last_active=timezone.now() - timedelta(days=30))
    first = post(friend, "while away")
    assert timeline(reader) is None  # fan-out skipped the idle reader
    assert ids(reader_api) == [str(first.pk)]  # answered from the database, then kept
    assert timeline(reader) == [str(first.pk)]


def test_paging_is_stable_while_posts_arrive(reader, reader_api, follow, post):
    friend = UserFactory()
    follow(reader, friend)
    old = [post(friend, f"old {i}") for i in range(5)]
    page = feed(reader_api, limit=2)
    newer = [post(friend, f"new {i}") for i in range(3)]
    rest = page["results"]
    url = page["next"]
    while url:
        body = reader_api.get(url).json()
        rest += body["results"]
        url = body["next"]
    assert [p["id"] for p in rest] == [str(p.pk) for p in reversed(old)]
    # `since` hands out the oldest newer posts first, so polling its `previous` link skips nothing.
    since = reader_api.get(page["previous"]).json()
    assert [p["id"] for p in since["results"]] == [str(newer[1].pk), str(newer[0].pk)]
    assert since["next"] is None
    last = reader_api.get(since["previous"]).json()
    assert [p["id"] for p in last["results"]] == [str(newer[2].pk)]
    assert reader_api.get(last["previous"]).json()["results"] == []
    by_id = ids(reader_api, since=str(old[-1].pk), limit=10)
    assert by_id == [str(p.pk) for p in reversed(newer)]


def test_reading_past_a_full_timeline_continues_from_the_database(reader, reader_api, follow, post, settings):
    settings.FEED_TIMELINE_CAP = 4
    friend = UserFactory()
    follow(reader, friend)
    ids(reader_api)
    made = [post(friend, f"p{i}") for i in range(9)]
    assert len(timeline(reader)) == 4
    assert all_pages(reader_api, 3) == [str(p.pk) for p in reversed(made)]


def test_reading_past_a_full_celebrity_timeline_continues_from_the_database(
    reader, reader_api, follow, post, fans, threshold, settings
):
    settings.FEED_AUTHOR_TIMELINE_CAP = 3
    star = UserFactory()
    follow(reader, star)
    fans(star, threshold - 1)
    made = [post(star, f"p{i}") for i in range(7)]
    assert all_pages(reader_api, 2) == [str(p.pk) for p in reversed(made)]


def test_redis_down_serves_from_the_database(reader, reader_api, follow, post, settings, caplog):
    friend = UserFactory()
    follow(reader, friend)
    made = [post(friend, f"p{i}") for i in range(3)]
    # Nothing listens on port 9: every store and cache call fails fast.
    settings.FEED_REDIS_URL = "redis://127.0.0.1:9/0"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    caplog.set_level("WARNING")
    assert ids(reader_api) == [str(p.pk) for p in reversed(made)]
    assert ids(reader_api, limit=1, cursor=feed(reader_api, limit=1)["next"].split("cursor=")[1]) == [str(made[1].pk)]
    assert any("feed store unavailable" in r.message for r in caplog.records)


def test_bad_input(reader_api, api, reader):
    assert_error(api.get(FEED), 401)
    assert_error(reader_api.get(FEED, {"order": "best"}), 400)
    assert_error(reader_api.get(FEED, {"order": ""}), 400)  # an empty order is no order, not the default
    assert_error(reader_api.get(FEED, {"cursor": "12.not-a-uuid"}), 400, "invalid_cursor")
    assert_error(reader_api.get(FEED, {"cursor": "'; DROP TABLE posts_post; --"}), 400, "invalid_cursor")
    assert_error(reader_api.get(FEED, {"order": "top", "cursor": "gone:20"}), 400, "invalid_cursor")
    hidden = posts_services.post_create(author=UserFactory(private=True), content_type="text", content="secret")
    assert_error(reader_api.get(FEED, {"since": str(hidden.pk)}), 400, "invalid_cursor")
    assert_error(reader_api.get(FEED, {"limit": "lots"}), 400, "invalid")  # one rule for every list


@pytest.mark.parametrize("n", [3, 30])
def test_queries_are_bounded(reader, reader_api, follow, post, n, django_assert_max_num_queries):
    authors = UserFactory.create_batch(3)
    for author in authors:
        follow(reader, author)
    for i in range(n):
        post(authors[i % 3], f"post {i} #tag @{reader.username}")
    with django_assert_max_num_queries(12):
        assert len(ids(reader_api, limit=50)) == n
    with django_assert_max_num_queries(6):  # payloads cached, graph cached
        assert len(ids(reader_api, limit=50)) == n


def test_redis_down_home_page_still_renders(reader, follow, post, settings, caplog):
    from django.test import Client

    friend = UserFactory()
    follow(reader, friend)
    item = post(friend, "still here")
    settings.FEED_REDIS_URL = "redis://127.0.0.1:9/0"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    client = Client()
    client.force_login(reader)
    response = client.get("/")
    assert response.status_code == 200
    assert f"/posts/{item.pk}/" in response.content.decode()
