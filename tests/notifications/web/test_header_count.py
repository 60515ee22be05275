"""The header bell's count is cached per user and dropped by every write that changes it."""

import re

import pytest

from accounts import services as accounts_services
from notifications import services
from notifications.models import Notification
from posts import services as posts_services

pytestmark = pytest.mark.django_db

BELL = re.compile(r'data-notifications-bell data-count="(\d+)"')


def bell(client):
    return int(BELL.search(client.get("/notifications/settings").content.decode()).group(1))


@pytest.fixture
def liked(act, ana, bo, cy):
    """ana's post, liked by bo and cy: two unread notifications."""
    post = act(posts_services.post_create, author=ana, content_type="text", content="like me")
    for fan in (bo, cy):
        act(posts_services.like_create, user=fan, post_id=post.pk)
    return post


def test_the_count_is_read_once_then_cached(client, ana, liked, django_assert_max_num_queries):
    client.force_login(ana)
    assert bell(client) == 2
    with django_assert_max_num_queries(20) as queries:
        assert bell(client) == 2
    assert not [q for q in queries.captured_queries if "notifications_notification" in q["sql"]]


def test_the_count_follows_every_change(client, act, ana, bo, cy, liked):
    client.force_login(ana)
    assert bell(client) == 2
    act(posts_services.like_delete, user=cy, post_id=liked.pk)  # withdrawn
    assert bell(client) == 1
    act(posts_services.comment_create, author=bo, post_id=liked.pk, content="nice")  # a new one
    assert bell(client) == 2
    first = Notification.objects.filter(recipient=ana).earliest("created_at")
    act(services.mark_read, user=ana, notification_id=first.pk)
    assert bell(client) == 1
    act(accounts_services.mute_create, muter=ana, muted_user_id=bo.pk)  # her own mute hides bo's at once
    assert bell(client) == 0
    act(accounts_services.mute_delete, muter=ana, muted_user_id=bo.pk)
    assert bell(client) == 1
    act(services.mark_all_read, user=ana)
    assert bell(client) == 0


def test_a_block_drops_the_count_of_both(client, act, ana, bo, liked):
    client.force_login(ana)
    assert bell(client) == 2
    act(accounts_services.block_create, blocker=bo, blocked_user_id=ana.pk)
    assert bell(client) == 1
