"""The inbox and a conversation run a bounded number of queries whatever their size."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
# +1 on a cold cache: the warning banner (posts.moderation.warnings_to_show, cached per user).
INBOX_MAX_QUERIES = 11  # 10 today: session, user, last_active, page count, page, members, requests, 3 nav badges
CONVERSATION_MAX_QUERIES = 14  # 12 for a group, 13 for a 1:1 (its block check); one is the reactions


@pytest.fixture
def busy_inbox(ana, say, group):
    """busy_inbox(n) -> n conversations of ana's, 1:1s and groups, each with a few messages."""

    def make(n):
        for i in range(n):
            friends = [UserFactory(username=f"friend{i}x{j}") for j in range(3)]
            if i % 2:
                conversation = say(friends[0], "hello", to=ana).conversation_id
                talkers = friends[:1]
            else:
                conversation = group(friends[0], ana, *friends[1:], title=f"Group {i}" if i % 4 else "")
                talkers = friends[:2]
            for friend in talkers:
                say(friend, f"news from {friend.username}", conversation=conversation)
            say(ana, "thanks", conversation=conversation)

    return make


@pytest.mark.parametrize("n", [2, 12])
def test_inbox_queries(client, ana, busy_inbox, n, django_assert_max_num_queries):
    busy_inbox(n)
    client.force_login(ana)
    with django_assert_max_num_queries(INBOX_MAX_QUERIES):
        response = client.get("/messages/")
    assert response.content.decode().count('<li class="conversation-row') == n
    with django_assert_max_num_queries(INBOX_MAX_QUERIES):
        assert client.get("/messages/", **HTMX).status_code == 200
    with django_assert_max_num_queries(INBOX_MAX_QUERIES):
        assert client.get("/messages/requests/").status_code == 200


@pytest.mark.parametrize("kind", ["group", "direct"])
@pytest.mark.parametrize("n", [3, 40])
def test_conversation_queries(client, ana, bo, cy, say, group, kind, n, django_assert_max_num_queries):
    if kind == "group":
        members = [UserFactory(username=f"member{i}") for i in range(4)]
        team = group(ana, bo, cy, *members, title="Big group")
        senders = [ana, bo, cy, *members]
    else:
        team = say(bo, "message 0", to=ana).conversation_id
        senders = [ana, bo]
    for i in range(1 if kind == "direct" else 0, n):
        say(senders[i % len(senders)], f"message {i}", conversation=team)
    client.force_login(ana)
    url = reverse("conversation", args=[team])
    with django_assert_max_num_queries(CONVERSATION_MAX_QUERIES):
        response = client.get(url)
    assert response.content.decode().count(' id="message-') == min(n, 30)
    with django_assert_max_num_queries(CONVERSATION_MAX_QUERIES):
        assert client.get(f"{url}?before={n}", **HTMX).status_code == 200


@pytest.mark.parametrize("n", [2, 12])
def test_inbox_queries_with_group_lines_and_removals(client, ana, group, n, django_assert_max_num_queries):
    from messaging import services

    for i in range(n):
        owner = UserFactory(username=f"owner{i}")
        team = group(owner, ana, title=f"Group {i}")
        services.conversation_rename(actor=owner, conversation_id=team, title=f"Renamed {i}")
        if i % 2:
            services.member_remove(actor=owner, conversation_id=team, user_id=str(ana.pk))
    client.force_login(ana)
    with django_assert_max_num_queries(INBOX_MAX_QUERIES + 1):  # one for the removals' last lines
        response = client.get("/messages/")
    assert response.content.decode().count('<li class="conversation-row') == n
