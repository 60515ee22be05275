"""?order=top: recency decay × engagement × affinity, ranked once per session of paging."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from freezegun import freeze_time

from feeds.selectors import TOP_RANKINGS_KEPT, top_score
from posts import services as posts_services
from posts.models import Post
from tests.factories import UserFactory
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db


def test_the_formula():
    now = timezone.now()
    row = {"likes_count": 0, "comments_count": 0, "shares_count": 0, "published_at": now}
    assert top_score(row, 0, now) == 1
    assert top_score({**row, "published_at": now - timedelta(hours=24)}, 0, now) == pytest.approx(0.5)
    busy = {**row, "likes_count": 3, "comments_count": 1, "shares_count": 1}  # engagement 3 + 2 + 3 = 8
    assert top_score(busy, 0, now) == pytest.approx(1 + 2.1972245773)  # 1 + ln(9)
    assert top_score(row, 8, now) == pytest.approx(1 + 2.1972245773)


def test_ranks_engagement_affinity_and_recency(client_for, follow, post, settle):
    reader = UserFactory()
    close_friend, acquaintance, popular = UserFactory(), UserFactory(), UserFactory()
    for author in (close_friend, acquaintance, popular):
        follow(reader, author)
    start = timezone.now()
    with freeze_time(start - timedelta(hours=30)):
        old_busy = post(popular, "yesterday's hit")
    with freeze_time(start - timedelta(hours=1)):
        from_friend = post(close_friend, "from a friend")
        plain = post(acquaintance, "plain")
        with freeze_time(start - timedelta(hours=2)):
            earlier = post(close_friend, "earlier, liked by the reader")
        settle(posts_services.like_create, user=reader, post_id=earlier.pk)  # affinity with close_friend
    for fan in UserFactory.create_batch(6):
        settle(posts_services.like_create, user=fan, post_id=old_busy.pk)
    with freeze_time(start - timedelta(days=5)):
        too_old = post(popular, "last week")
    Post.objects.filter(pk=too_old.pk).update(likes_count=1000)
    with freeze_time(start):
        client = client_for(reader)
        body = client.get("/api/v1/feed", {"order": "top", "limit": 2}).json()
        first = [p["id"] for p in body["results"]]
        rest = client.get(body["next"]).json()
    ranked = first + [p["id"] for p in rest["results"]]
    # earlier: (1 + ln 2) engagement × (1 + ln 2) affinity × 0.5^(2/24) ≈ 2.71
    # from_friend: 1 × (1 + ln 2) × 0.5^(1/24) ≈ 1.65; old_busy: (1 + ln 7) × 1 × 0.5^(30/24) ≈ 1.24
    # plain: 1 × 1 × 0.5^(1/24) ≈ 0.97; the week-old post is outside the 3-day window.
    assert ranked == [str(earlier.pk), str(from_friend.pk), str(old_busy.pk), str(plain.pk)]
    assert rest["next"] is None and body["previous"] is None


def stored_rankings():
    """The ?order=top keys the cache holds (Redis or the in-process cache)."""
    backend = cache._cache
    keys = list(backend) if isinstance(backend, dict) else backend.get_client().scan_iter(match="*feed:top:*")
    return [key for key in (k.decode() if isinstance(k, bytes) else k for k in keys) if "feed:top:" in key]


def test_refreshes_replace_the_users_ranking(client_for, follow, post):
    """One key per user however often they refresh: the newest TOP_RANKINGS_KEPT rankings page on,
    older cursors expire (each refresh used to add a key of its own)."""
    reader, author = UserFactory(), UserFactory()
    follow(reader, author)
    post(author, "first")
    client = client_for(reader)
    cursors = []
    for number in range(TOP_RANKINGS_KEPT + 2):
        post(author, f"new {number}")  # every refresh ranks a different set
        body = client.get("/api/v1/feed", {"order": "top", "limit": 1}).json()
        cursors.append(body["next"])
    assert len(stored_rankings()) == 1
    for kept in cursors[-TOP_RANKINGS_KEPT:]:
        assert client.get(kept).status_code == 200
    assert_error(client.get(cursors[0]), 400, "invalid_cursor")
    # The same ranking again reuses its entry: both kept cursors still page.
    client.get("/api/v1/feed", {"order": "top", "limit": 1})
    assert client.get(cursors[-2]).status_code == 200
    assert len(stored_rankings()) == 1
