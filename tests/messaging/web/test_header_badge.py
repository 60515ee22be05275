"""The nav's Messages badge is cached per user and dropped by every write that changes it."""

import re

import pytest

from accounts import services as accounts_services
from messaging import services

pytestmark = pytest.mark.django_db

BADGE = re.compile(r"data-chat-unread>(\d+)<")


def badge(client):
    found = BADGE.search(client.get("/notifications/settings").content.decode())
    return int(found.group(1)) if found else 0


def test_the_badge_is_read_once_then_cached(client, ana, bo, say, django_assert_max_num_queries):
    accounts_services.follow_create(follower=ana, followed_user_id=bo.pk)
    say(bo, "hello", to=ana)
    client.force_login(ana)
    assert badge(client) == 1
    with django_assert_max_num_queries(20) as queries:
        assert badge(client) == 1
    assert not [q for q in queries.captured_queries if "messaging_membership" in q["sql"]]


def test_the_badge_follows_every_change(client, act, ana, bo, cy, say, group):
    accounts_services.follow_create(follower=ana, followed_user_id=bo.pk)
    client.force_login(ana)
    assert badge(client) == 0
    first = act(say, bo, "one", to=ana)
    assert badge(client) == 1
    act(say, bo, "two", to=ana)
    assert badge(client) == 2
    act(services.message_delete, actor=bo, message_id=first.pk)
    assert badge(client) == 1
    act(services.conversation_read, reader=ana, conversation_id=first.conversation_id)
    assert badge(client) == 0
    request = act(say, cy, "a request", to=ana)  # cy isn't followed: a message request
    assert badge(client) == 1
    act(services.conversation_accept, user=ana, conversation_id=request.conversation_id)
    assert badge(client) == 1  # now one unread in the inbox
    act(say, ana, "a reply reads it", conversation=request.conversation_id)
    assert badge(client) == 0
    talk = group(bo, ana, cy, title="talk")
    act(say, bo, "news", conversation=talk)
    assert badge(client) == 1
    act(services.member_remove, actor=ana, conversation_id=talk, user_id="me")
    assert badge(client) == 0
