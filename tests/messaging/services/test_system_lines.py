"""Lines about a group (renamed, added, removed, left, a new admin): in the history with the
conversation's seq, never unread, never a message notification, never editable; GROUP_ADDED and
GROUP_REMOVED notifications; a removed member keeps the conversation read-only in the inbox."""

import threading

import pytest
from django.db import connections

from accounts import services as accounts_services
from messaging import selectors, services
from messaging.models import Conversation, Membership, Message
from notifications import tasks as notification_tasks
from notifications.models import Notification
from socialsite.errors import NotFoundError
from tests.factories import UserFactory
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

CONVERSATIONS = "/api/v1/conversations"
MESSAGES = "/api/v1/messages"


def history(client, conversation_id):
    response = client.get("/api/v1/users/me/messages", {"conversation_id": str(conversation_id)})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def lines(user, conversation_id):
    """(kind, content) of what the user may read there, oldest first (through the selector)."""
    return [(m.kind, m.content) for m in selectors.messages(user=user, conversation_id=conversation_id).order_by("seq")]


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """with committed(): requests inside run their after-commit work (tasks, events), as in production."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def notified(user, kind):
    return list(Notification.objects.filter(recipient=user, type=kind))


@pytest.fixture
def team(ana, bo, act):
    """A group of ana (admin) and bo, with one message of bo's."""
    membership = act(services.conversation_group_create, creator=ana, title="Team", member_ids=[str(bo.pk)])
    act(services.message_send, sender=bo, conversation_id=membership.conversation_id, content="hello")
    Notification.objects.all().delete()  # ana's "message" notification: the tests count their own
    return membership.conversation_id


class TestServices:
    def test_rename_is_a_line_with_the_next_seq_and_no_unread(self, ana, bo, team, act):
        act(services.conversation_rename, actor=ana, conversation_id=team, title="Trip")
        line = Message.objects.get(conversation_id=team, kind=Message.Kind.RENAMED)
        conversation = Conversation.objects.get(pk=team)
        assert (line.seq, conversation.last_seq, conversation.last_message_id) == (2, 2, line.pk)
        assert line.content == "ana renamed the group to “Trip”"
        assert line.system == {"actor_id": str(ana.pk), "target_ids": [], "title": "Trip"}
        assert line.sender_id == ana.pk
        # Nobody has a line to read: bo's unread count and badge don't move, nobody is notified.
        assert selectors.unread_totals(user=bo)["inbox"] == 0
        assert Membership.objects.get(conversation_id=team, user=bo).unread_count == 0
        assert not Notification.objects.filter(type=Notification.Type.MESSAGE).exists()
        # The same title again changes nothing and says nothing; an empty one removes the name.
        act(services.conversation_rename, actor=ana, conversation_id=team, title="Trip")
        act(services.conversation_rename, actor=ana, conversation_id=team, title="")
        assert lines(bo, team)[1:] == [
            ("renamed", "ana renamed the group to “Trip”"),
            ("renamed", "ana removed the group name"),
        ]

    def test_system_lines_never_count_as_unread(self, ana, bo, cy, team, act):
        act(services.message_send, sender=ana, conversation_id=team, content="one")
        act(services.members_add, actor=ana, conversation_id=team, user_ids=[str(cy.pk)])
        act(services.conversation_rename, actor=ana, conversation_id=team, title="Trip")
        assert Membership.objects.get(conversation_id=team, user=bo).unread_count == 1  # "one"
        first = Message.objects.get(conversation_id=team, content="hello")
        # Reading up to an older message recounts what is left: only "one", not the two lines.
        membership = act(services.conversation_read, reader=bo, conversation_id=team, message_id=str(first.pk))
        assert membership.unread_count == 1
        assert act(services.conversation_read, reader=bo, conversation_id=team).unread_count == 0

    def test_adding_says_who_and_tells_the_added_only(self, ana, bo, cy, team, act):
        dee = UserFactory(username="dee")
        act(services.members_add, actor=ana, conversation_id=team, user_ids=[str(dee.pk), str(cy.pk), str(bo.pk)])
        line = Message.objects.get(kind=Message.Kind.ADDED)
        assert line.content == "ana added dee and cy"  # bo already was a member
        assert line.system == {"actor_id": str(ana.pk), "target_ids": [str(dee.pk), str(cy.pk)]}
        # The added see the line that added them, not the history before it.
        assert lines(cy, team) == [("added", "ana added dee and cy")]
        assert lines(bo, team) == [("text", "hello"), ("added", "ana added dee and cy")]
        for user in (cy, dee):
            [row] = notified(user, Notification.Type.GROUP_ADDED)
            assert (row.actor_id, row.conversation_id, row.payload) == (ana.pk, team, {"excerpt": "Team"})
        assert not notified(bo, Notification.Type.GROUP_ADDED)
        assert not Notification.objects.filter(type=Notification.Type.MESSAGE).exists()
        # Adding members who already are says nothing.
        act(services.members_add, actor=ana, conversation_id=team, user_ids=[str(cy.pk)])
        assert Message.objects.filter(kind=Message.Kind.ADDED).count() == 1
        # A retried task notifies nobody twice.
        notification_tasks.on_group_membership(str(line.pk))
        assert len(notified(cy, Notification.Type.GROUP_ADDED)) == 1

    def test_removal_keeps_the_conversation_read_only_with_the_line(self, ana, bo, cy, team, act):
        act(services.members_add, actor=ana, conversation_id=team, user_ids=[str(cy.pk)])
        act(services.member_remove, actor=ana, conversation_id=team, user_id=str(bo.pk))
        line = Message.objects.get(kind=Message.Kind.REMOVED)
        assert (line.content, line.system["target_ids"]) == ("ana removed bo", [str(bo.pk)])
        membership = Membership.objects.get(conversation_id=team, user=bo)
        assert (membership.removed, membership.left_seq) == (True, line.seq)
        [row] = notified(bo, Notification.Type.GROUP_REMOVED)
        assert (row.actor_id, row.conversation_id) == (ana.pk, team)
        act(services.message_send, sender=ana, conversation_id=team, content="after bo")
        # bo's inbox still lists it, ending with the line; he can't write or read what came after.
        [listed] = selectors.for_display(list(selectors.conversations(user=bo)))
        assert (listed.conversation_id, listed.last_message.pk) == (team, line.pk)
        assert lines(bo, team)[-1] == ("removed", "ana removed bo")
        assert ("text", "after bo") not in lines(bo, team)
        with pytest.raises(NotFoundError):
            services.message_send(sender=bo, conversation_id=team, content="let me back")
        assert selectors.unread_totals(user=bo) == {"inbox": 0, "requests": 0}
        # Added back: a member again, and told so.
        act(services.members_add, actor=ana, conversation_id=team, user_ids=[str(bo.pk)])
        assert Membership.objects.get(conversation_id=team, user=bo).removed is False
        assert len(notified(bo, Notification.Type.GROUP_ADDED)) == 1
        # The removal task, retried now, tells nobody: bo isn't removed any more.
        Notification.objects.filter(type=Notification.Type.GROUP_REMOVED).delete()
        notification_tasks.on_group_membership(str(line.pk))
        assert not notified(bo, Notification.Type.GROUP_REMOVED)

    def test_leaving_is_a_line_without_notification_and_a_new_admin_is_named(self, ana, bo, cy, team, act):
        act(services.members_add, actor=ana, conversation_id=team, user_ids=[str(cy.pk)])
        act(services.member_remove, actor=ana, conversation_id=team, user_id="me")
        kinds = list(Message.objects.filter(conversation_id=team).order_by("seq").values_list("kind", "content"))
        assert kinds[-2:] == [("left", "ana left"), ("promoted", "bo is now an admin")]
        assert not Notification.objects.filter(recipient__in=[bo, cy]).exclude(type="group_added").exists()
        # The one who left sees their own line and nothing after; the group is out of their inbox.
        assert lines(ana, team)[-1] == ("left", "ana left")
        assert list(selectors.conversations(user=ana)) == []
        assert not Membership.objects.get(conversation_id=team, user=ana).removed

    def test_a_blocked_actor_notifies_nobody_but_the_line_stands(self, ana, bo, cy, team, act):
        act(services.members_add, actor=ana, conversation_id=team, user_ids=[str(cy.pk)])
        act(accounts_services.block_create, blocker=cy, blocked_user_id=ana.pk)
        act(services.member_remove, actor=ana, conversation_id=team, user_id=str(cy.pk))
        assert lines(bo, team)[-1] == ("removed", "ana removed cy")
        assert not notified(cy, Notification.Type.GROUP_REMOVED)

    def test_system_lines_make_no_message_notification_even_after_quiet(self, ana, bo, cy, team, act, settings):
        settings.NOTIFICATION_MESSAGE_SECONDS = 0
        Notification.objects.all().delete()
        act(services.conversation_rename, actor=ana, conversation_id=team, title="Trip")
        act(services.members_add, actor=ana, conversation_id=team, user_ids=[str(cy.pk)])
        act(services.member_remove, actor=cy, conversation_id=team, user_id="me")
        assert list(Notification.objects.values_list("recipient_id", "type")) == [(cy.pk, "group_added")]


class TestApi:
    def test_lines_in_the_history_with_kind_and_ids(self, ana, bo, cy, team, client_for):
        client = client_for(ana)
        client.patch(f"{CONVERSATIONS}/{team}", {"title": "Trip"}, format="json")
        client.post(f"{CONVERSATIONS}/{team}/members", {"user_ids": [str(cy.pk)]}, format="json")
        rows = history(client_for(bo), team)
        added, renamed, hello = rows
        assert (hello["kind"], hello["system"]) == ("text", None)
        assert renamed["kind"] == "renamed" and renamed["seq"] == 2
        assert renamed["system"] == {"actor_id": str(ana.pk), "target_ids": [], "title": "Trip"}
        assert added["system"] == {"actor_id": str(ana.pk), "target_ids": [str(cy.pk)], "title": None}
        assert (added["content"], added["sender_id"], added["seq"]) == ("ana added cy", str(ana.pk), 3)
        assert client_for(ana).get(f"{CONVERSATIONS}/unread").json()["inbox"] == 1  # bo's "hello" only
        assert client_for(bo).get(f"{CONVERSATIONS}/unread").json()["inbox"] == 0
        inbox = client_for(bo).get(CONVERSATIONS).json()["results"][0]
        assert inbox["last_message"]["kind"] == "added" and inbox["unread_count"] == 0
        # A resync from a seq returns the lines in order, as a socket would have had them.
        after = client_for(bo).get("/api/v1/users/me/messages", {"conversation_id": str(team), "after": 1}).json()
        assert [row["seq"] for row in after["results"]] == [2, 3]

    def test_a_non_member_sees_no_line(self, ana, bo, cy, team, client_for):
        client_for(ana).patch(f"{CONVERSATIONS}/{team}", {"title": "Secret"}, format="json")
        outsider = client_for(cy)
        assert_error(outsider.get("/api/v1/users/me/messages", {"conversation_id": str(team)}), 404)
        assert outsider.get("/api/v1/users/me/messages").json()["results"] == []
        assert_error(outsider.get(f"{CONVERSATIONS}/{team}"), 404)

    def test_lines_cannot_be_edited_deleted_or_reported(self, ana, bo, team, client_for):
        client_for(ana).patch(f"{CONVERSATIONS}/{team}", {"title": "Trip"}, format="json")
        line = Message.objects.get(kind=Message.Kind.RENAMED)
        url = f"{MESSAGES}/{line.pk}"
        assert_error(client_for(ana).patch(url, {"content": "hacked"}, format="json"), 403, "system_message")
        assert_error(client_for(ana).delete(url), 403, "system_message")
        assert_error(client_for(bo).post(f"{url}/reports", {"reason": "spam"}, format="json"), 403, "system_message")
        line.refresh_from_db()
        assert (line.content, line.deleted_at, line.reports.count()) == ("ana renamed the group to “Trip”", None, 0)

    def test_the_removed_see_the_line_and_no_more(self, ana, bo, cy, team, client_for, committed):
        client_for(ana).post(f"{CONVERSATIONS}/{team}/members", {"user_ids": [str(cy.pk)]}, format="json")
        with committed():
            assert client_for(ana).delete(f"{CONVERSATIONS}/{team}/members/{bo.pk}").status_code == 204
        client_for(ana).post(MESSAGES, {"conversation_id": str(team), "content": "after bo"}, format="json")
        client_for(ana).patch(f"{CONVERSATIONS}/{team}", {"title": "New name"}, format="json")
        bo_client = client_for(bo)
        [row] = bo_client.get(CONVERSATIONS).json()["results"]
        assert (row["id"], row["removed"], row["members"], row["unread_count"]) == (str(team), True, [], 0)
        assert (row["last_message"]["kind"], row["last_message"]["content"]) == ("removed", "ana removed bo")
        assert bo_client.get(f"{CONVERSATIONS}/{team}").json()["removed"] is True
        assert history(bo_client, team)[0]["content"] == "ana removed bo"
        assert_error(bo_client.post(MESSAGES, {"conversation_id": str(team), "content": "hi"}, format="json"), 404)
        assert_error(bo_client.post(f"{CONVERSATIONS}/{team}/read", {}, format="json"), 404)
        assert client_for(cy).get(CONVERSATIONS).json()["results"][0]["removed"] is False
        [notice] = client_for(bo).get("/api/v1/users/me/notifications").json()["results"]
        assert (notice["type"], notice["text"]) == ("group_removed", "ana removed you from a group")
        assert notice["conversation_id"] == str(team) and notice["excerpt"] == "Team"

    @pytest.mark.parametrize("blocker", ["admin", "added"])
    def test_an_admin_cannot_add_someone_blocked_and_nothing_is_said(
        self, ana, bo, cy, team, client_for, block, committed, blocker
    ):
        block(*((ana, cy) if blocker == "admin" else (cy, ana)))
        with committed():
            response = client_for(ana).post(
                f"{CONVERSATIONS}/{team}/members", {"user_ids": [str(cy.pk)]}, format="json"
            )
        if blocker == "admin":
            assert_error(response, 403, "blocked")
        else:
            assert_error(response, 400)  # to someone they block, an account isn't there to add
        assert not Message.objects.filter(kind=Message.Kind.ADDED).exists()
        assert not Notification.objects.filter(recipient=cy).exists()
        assert_error(client_for(cy).get("/api/v1/users/me/messages", {"conversation_id": str(team)}), 404)

    def test_added_notification_over_rest(self, ana, bo, cy, team, client_for, committed):
        with committed():
            client_for(ana).post(f"{CONVERSATIONS}/{team}/members", {"user_ids": [str(cy.pk)]}, format="json")
        [notice] = client_for(cy).get("/api/v1/users/me/notifications").json()["results"]
        assert (notice["type"], notice["text"]) == ("group_added", "ana added you to a group")
        assert notice["url"] == f"/messages/{team}/"

    @pytest.mark.parametrize("n", [2, 6])
    def test_lists_stay_bounded_with_lines_and_removals(self, ana, bo, client_for, n, django_assert_max_num_queries):
        for i in range(n):
            team = services.conversation_group_create(creator=bo, title=f"g{i}", member_ids=[str(ana.pk)])
            services.conversation_rename(actor=bo, conversation_id=team.conversation_id, title=f"G{i}")
            if i % 2:
                services.member_remove(actor=bo, conversation_id=team.conversation_id, user_id=str(ana.pk))
        client = client_for(ana)
        with django_assert_max_num_queries(9):  # 8 as before, and one for the removals' last lines
            assert len(client.get(CONVERSATIONS).json()["results"]) == n
        with django_assert_max_num_queries(8):
            assert len(client.get("/api/v1/users/me/messages").json()["results"]) == n + n // 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_the_same_member_make_one_line():
    """Two admins add the same user at once: the conversation lock puts one after the other, and
    the second finds them a member already (PostgreSQL: row locks; SQLite: IMMEDIATE transactions)."""
    ana, bo, cy = UserFactory(username="ana"), UserFactory(username="bo"), UserFactory(username="cy")
    team = services.conversation_group_create(creator=ana, title="", member_ids=[str(bo.pk)]).conversation_id
    Membership.objects.filter(conversation_id=team, user=bo).update(role=Membership.Role.ADMIN)
    start = threading.Barrier(2)
    errors = []

    def add(actor):
        try:
            start.wait(timeout=10)
            services.members_add(actor=actor, conversation_id=team, user_ids=[str(cy.pk)])
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=add, args=(actor,)) for actor in (ana, bo)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads) and not errors, errors
    assert Message.objects.filter(conversation_id=team, kind=Message.Kind.ADDED).count() == 1
    assert list(Message.objects.filter(conversation_id=team).order_by("seq").values_list("seq", flat=True)) == [1]
    assert Conversation.objects.get(pk=team).last_seq == 1
    assert Notification.objects.filter(recipient=cy, type=Notification.Type.GROUP_ADDED).count() == 1
