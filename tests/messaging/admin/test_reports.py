"""Moderators see a conversation only through a report: the reported message and its neighbours."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import NoReverseMatch, reverse

from messaging import services
from messaging.models import Message, MessageReport
from tests.accounts.admin.conftest import logged_in, moderator, moderators_group  # noqa: F401  (fixtures)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:messaging_messagereport_changelist")


@pytest.fixture
def reported(ana, bo):
    for number in range(8):
        services.message_send(sender=ana, receiver_id=bo.pk, content=f"line {number}")
    rude, _ = services.message_send(sender=ana, receiver_id=bo.pk, content="the rude one")
    services.message_send(sender=bo, receiver_id=ana.pk, content="please stop")
    cy = UserFactory()
    services.message_send(sender=ana, receiver_id=cy.pk, content="a private chat nobody reported")
    report, _ = services.report_create(reporter=bo, message_id=rude.pk, reason="harassment", details="again")
    return report


def run_action(client, action, reports, reason=None):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(r.pk) for r in reports]}
    if reason is not None:
        data.update(post="yes", reason=reason)
    return client.post(QUEUE, data)


def test_the_report_shows_the_message_in_context_and_nothing_else(moderator, reported):  # noqa: F811
    client = logged_in(moderator)
    assert client.get(QUEUE).status_code == 200
    page = client.get(reverse("admin:messaging_messagereport_change", args=[reported.pk])).content.decode()
    assert "▶ reported: " in page and "the rude one" in page and "please stop" in page
    assert "line 3" in page and "line 2" not in page  # five before, five after
    assert "a private chat nobody reported" not in page


def test_conversations_and_messages_have_no_admin_pages(moderator):  # noqa: F811
    for name in ("admin:messaging_message_changelist", "admin:messaging_conversation_changelist"):
        with pytest.raises(NoReverseMatch):
            reverse(name)


def test_staff_outside_the_moderators_group_cannot_open_the_queue(reported):
    staff = UserFactory(is_staff=True)
    assert logged_in(staff).get(QUEUE).status_code == 403


def test_remove_needs_a_reason_then_erases_the_message_for_everyone(moderator, reported, bo, client_for):  # noqa: F811
    client = logged_in(moderator)
    confirm = run_action(client, "remove_messages", [reported])
    assert confirm.status_code == 200 and b"give a reason" in confirm.content
    assert run_action(client, "remove_messages", [reported], reason="").status_code == 200
    assert Message.objects.get(pk=reported.message_id).deleted_at is None
    run_action(client, "remove_messages", [reported], reason="harassment")
    reported.refresh_from_db()
    assert (reported.status, reported.resolved_by, reported.resolution) == ("actioned", moderator, "harassment")
    message = Message.objects.get(pk=reported.message_id)
    assert message.deleted_at is not None and message.content == ""
    seen = client_for(bo).get("/api/v1/users/me/messages", {"conversation_id": str(message.conversation_id)})
    assert "the rude one" not in seen.content.decode()


def test_dismiss_keeps_the_message(moderator, reported):  # noqa: F811
    run_action(logged_in(moderator), "dismiss_reports", [reported], reason="banter")
    reported.refresh_from_db()
    assert reported.status == MessageReport.Status.DISMISSED
    assert Message.objects.get(pk=reported.message_id).content == "the rude one"
    response = run_action(logged_in(moderator), "remove_messages", [reported], reason="changed my mind")
    assert response.status_code == 302  # resolved already: skipped with a warning
    assert Message.objects.get(pk=reported.message_id).deleted_at is None
