"""The messaging forms without JavaScript: send, edit, delete, new message, groups, preferences."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from accounts import services as account_services
from messaging import services
from messaging.models import Conversation, Membership, Message, Preferences

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def checked(html):
    return re.search(r'<input type="radio" name="direct_from" value="(\w+)"[^>]* checked', html).group(1)


def page(client, conversation):
    return client.get(reverse("conversation", args=[conversation])).content.decode()


# --- Sending ---------------------------------------------------------------------------------------


def test_the_no_js_send_stores_the_message_and_redirects_to_the_newest(client, ana, bo, say):
    conversation = say(bo, "hi ana", to=ana).conversation_id
    client.force_login(ana)

    response = client.post(
        reverse("conversation_send", args=[conversation]), {"content": "hello bo\nsecond line", "client_id": "web-1"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("conversation", args=[conversation])
    message = Message.objects.get(conversation_id=conversation, sender=ana)
    assert message.content == "hello bo\nsecond line" and message.client_id == "web-1" and message.seq == 2
    assert "hello bo\nsecond line" in page(client, conversation)
    # Sending read bo's message.
    assert Membership.objects.get(conversation_id=conversation, user=ana).unread_count == 0


def test_a_resubmitted_form_sends_once(client, ana, bo, say):
    conversation = say(bo, to=ana).conversation_id
    client.force_login(ana)
    url = reverse("conversation_send", args=[conversation])
    for _ in range(2):
        assert client.post(url, {"content": "only once", "client_id": "web-double"}).status_code == 302
    assert Message.objects.filter(conversation_id=conversation, content="only once").count() == 1


def test_the_send_form_carries_a_fresh_client_id(client, ana, bo, say):
    conversation = say(bo, to=ana).conversation_id
    client.force_login(ana)
    first, second = page(client, conversation), page(client, conversation)
    marker = 'name="client_id" value="web-'
    assert marker in first and marker in second
    value = first.split(marker)[1].split('"')[0]
    assert value not in second


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("", "Write something first."),
        ("   \n ", "Write something first."),
        ("x" * (settings.MESSAGE_MAX_LENGTH + 1), f"Messages are at most {settings.MESSAGE_MAX_LENGTH} characters."),
    ],
)
def test_bad_content_shows_the_error_and_stores_nothing(client, ana, bo, say, content, error):
    conversation = say(bo, "hi", to=ana).conversation_id
    client.force_login(ana)

    response = client.post(reverse("conversation_send", args=[conversation]), {"content": content})

    assert response.status_code == 200
    html = response.content.decode()
    assert error in html and "field--invalid" in html
    assert Message.objects.filter(conversation_id=conversation).count() == 1
    if content.strip():
        assert content in html  # what was typed stays in the box


def test_a_message_at_the_limit_is_fine(client, ana, bo, say):
    conversation = say(bo, to=ana).conversation_id
    client.force_login(ana)
    content = "y" * settings.MESSAGE_MAX_LENGTH
    assert client.post(reverse("conversation_send", args=[conversation]), {"content": content}).status_code == 302
    assert Message.objects.filter(conversation_id=conversation, content=content).exists()


def test_a_non_member_cant_send(client, ana, bo, cy, say):
    conversation = say(bo, to=cy).conversation_id
    client.force_login(ana)
    response = client.post(reverse("conversation_send", args=[conversation]), {"content": "let me in"})
    assert response.status_code == 404
    assert not Message.objects.filter(content="let me in").exists()


def test_sending_in_a_blocked_conversation_is_refused(client, ana, bo, say):
    conversation = say(ana, "hi", to=bo).conversation_id
    account_services.block_create(blocker=ana, blocked_user_id=bo.pk)
    client.force_login(bo)

    response = client.post(reverse("conversation_send", args=[conversation]), {"content": "are you there?"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "You can't message this account." in html and "data-chat-form" not in html  # the notice, no form
    assert not Message.objects.filter(content="are you there?").exists()


def test_sending_too_fast_says_so(client, ana, bo, say, settings):
    conversation = say(bo, to=ana).conversation_id
    settings.THROTTLE_MESSAGE = "1/m"
    client.force_login(ana)
    url = reverse("conversation_send", args=[conversation])
    assert client.post(url, {"content": "one"}).status_code == 302
    response = client.post(url, {"content": "two"})
    assert response.status_code == 200 and "sending too fast" in response.content.decode()
    assert not Message.objects.filter(content="two").exists()


def test_get_on_send_is_not_allowed(client, ana, bo, say):
    conversation = say(bo, to=ana).conversation_id
    client.force_login(ana)
    assert client.get(reverse("conversation_send", args=[conversation])).status_code == 405


# --- Edit and delete ------------------------------------------------------------------------------------


def test_edit_own_message(client, ana, bo, say):
    message = say(ana, "helo", to=bo)
    client.force_login(ana)
    url = reverse("message_edit", args=[message.pk])
    assert "helo" in client.get(url).content.decode()

    response = client.post(url, {"content": "hello"})

    assert response.status_code == 302
    assert response["Location"] == reverse("conversation", args=[message.conversation_id]) + f"#message-{message.pk}"
    message.refresh_from_db()
    assert message.content == "hello" and message.edited_at is not None
    html = page(client, message.conversation_id)
    assert "hello" in html and "<span data-message-edited>· edited</span>" in html


def test_edit_rejects_empty_content(client, ana, bo, say):
    message = say(ana, "keep me", to=bo)
    client.force_login(ana)
    response = client.post(reverse("message_edit", args=[message.pk]), {"content": " "})
    assert response.status_code == 200 and "Write something first." in response.content.decode()
    message.refresh_from_db()
    assert message.content == "keep me"


def test_someone_elses_message_cant_be_edited_or_deleted(client, ana, bo, say):
    message = say(bo, "mine, says bo", to=ana)
    client.force_login(ana)
    assert client.get(reverse("message_edit", args=[message.pk])).status_code == 403
    assert client.post(reverse("message_edit", args=[message.pk]), {"content": "x"}).status_code == 403
    assert client.post(reverse("message_delete", args=[message.pk])).status_code == 403
    message.refresh_from_db()
    assert message.content == "mine, says bo" and message.deleted_at is None


def test_delete_own_message(client, ana, bo, say):
    message = say(ana, "oops", to=bo)
    client.force_login(ana)

    response = client.post(reverse("message_delete", args=[message.pk]))

    assert response.status_code == 302
    message.refresh_from_db()
    assert message.deleted_at is not None and message.content == ""
    html = page(client, message.conversation_id)
    assert "This message was deleted." in html and reverse("message_edit", args=[message.pk]) not in html
    # Deleting again says so; editing a deleted message goes back to the conversation.
    response = client.post(reverse("message_delete", args=[message.pk]), follow=True)
    assert "This message was deleted." in response.content.decode()
    assert client.get(reverse("message_edit", args=[message.pk])).status_code == 302


def test_delete_with_htmx_answers_204(client, ana, bo, say):
    message = say(ana, "oops", to=bo)
    client.force_login(ana)
    assert client.post(reverse("message_delete", args=[message.pk]), **HTMX).status_code == 204
    message.refresh_from_db()
    assert message.deleted_at is not None


# --- New message ------------------------------------------------------------------------------------------


def test_new_message_starts_a_conversation(client, ana, bo):
    client.force_login(ana)
    form = client.get("/messages/new/?to=bo").content.decode()
    assert 'value="bo"' in form

    response = client.post("/messages/new/", {"to": "@Bo", "content": "hi bo", "client_id": "web-new"})

    conversation = Conversation.objects.get(kind="direct")
    assert response.status_code == 302
    assert response["Location"] == reverse("conversation", args=[conversation.pk])
    assert Message.objects.get(conversation=conversation).content == "hi bo"
    assert set(conversation.memberships.values_list("user__username", flat=True)) == {"ana", "bo"}


def test_new_message_to_an_existing_conversation_goes_there(client, ana, bo, say):
    conversation = say(bo, to=ana).conversation_id
    client.force_login(ana)
    response = client.get("/messages/new/?to=bo")
    assert response.status_code == 302
    assert response["Location"] == reverse("conversation", args=[conversation])


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"to": "nobody", "content": "hi"}, "No such user."),
        ({"to": "", "content": "hi"}, "This field is required."),
        ({"to": "bo", "content": ""}, "Write something first."),
        ({"to": "ana", "content": "hi me"}, "You can&#x27;t message yourself."),
    ],
)
def test_new_message_errors_store_nothing(client, ana, bo, data, error):
    client.force_login(ana)
    response = client.post("/messages/new/", data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Message.objects.exists() and not Conversation.objects.exists()


def test_new_message_to_a_blocked_or_blocking_account(client, ana, bo, cy):
    account_services.block_create(blocker=ana, blocked_user_id=bo.pk)
    account_services.block_create(blocker=cy, blocked_user_id=ana.pk)
    client.force_login(ana)
    response = client.post("/messages/new/", {"to": "bo", "content": "hi"})
    assert "You can&#x27;t message this account." in response.content.decode()
    response = client.post("/messages/new/", {"to": "cy", "content": "hi"})
    assert "No such user." in response.content.decode()  # cy blocked ana: ana can't see cy
    assert not Message.objects.exists()


# --- Groups ------------------------------------------------------------------------------------------------


def test_new_group(client, ana, bo, cy):
    client.force_login(ana)
    assert client.get("/messages/new-group/").status_code == 200

    response = client.post("/messages/new-group/", {"title": "Climbing", "members": "@bo, CY bo"})

    conversation = Conversation.objects.get(kind="group")
    assert response.status_code == 302 and response["Location"] == reverse("conversation", args=[conversation.pk])
    assert conversation.title == "Climbing"
    roles = dict(conversation.memberships.values_list("user__username", "role"))
    assert roles == {"ana": "admin", "bo": "member", "cy": "member"}


@pytest.mark.parametrize(
    ("members", "error"),
    [
        ("", "This field is required."),
        ("bo nobody", "No such user: @nobody."),
        ("ana", "Add at least one other member."),
    ],
)
def test_new_group_errors(client, ana, bo, members, error):
    client.force_login(ana)
    response = client.post("/messages/new-group/", {"title": "x", "members": members})
    assert response.status_code == 200 and error in response.content.decode()
    assert not Conversation.objects.exists()


def test_admins_rename_add_and_remove(client, ana, bo, cy, group):
    team = group(ana, bo)
    client.force_login(ana)
    url = reverse("conversation", args=[team])

    assert client.post(reverse("conversation_rename", args=[team]), {"title": "Crew"})["Location"] == url
    assert Conversation.objects.get(pk=team).title == "Crew"
    assert client.post(reverse("conversation_members_add", args=[team]), {"members": "cy"})["Location"] == url
    assert Membership.objects.get(conversation_id=team, user=cy).active
    response = client.post(reverse("conversation_members_add", args=[team]), {"members": "ghost"}, follow=True)
    assert "No such user: @ghost." in response.content.decode()
    assert client.post(reverse("conversation_member_remove", args=[team, bo.pk]))["Location"] == url
    assert not Membership.objects.get(conversation_id=team, user=bo).active
    html = client.get(url).content.decode()
    assert "Crew" in html and "Removed from the group." in html


def test_members_cant_manage_the_group(client, ana, bo, cy, group):
    team = group(ana, bo, cy, title="Ours")
    client.force_login(bo)
    response = client.post(reverse("conversation_rename", args=[team]), {"title": "Mine"}, follow=True)
    assert "Only the group&#x27;s admins can do this." in response.content.decode()
    response = client.post(reverse("conversation_member_remove", args=[team, cy.pk]), follow=True)
    assert "Only the group&#x27;s admins can remove members." in response.content.decode()
    assert Conversation.objects.get(pk=team).title == "Ours"
    assert Membership.objects.get(conversation_id=team, user=cy).active


def test_leaving_a_group(client, ana, bo, cy, group):
    team = group(ana, bo, cy)
    client.force_login(bo)
    response = client.post(reverse("conversation_leave", args=[team]))
    assert response.status_code == 302 and response["Location"] == reverse("messages_inbox")
    assert client.get(reverse("conversation", args=[team])).status_code == 404
    assert client.post(reverse("conversation_leave", args=[team])).status_code == 404


def test_a_1_to_1_cant_be_left(client, ana, bo, say):
    conversation = say(ana, to=bo).conversation_id
    client.force_login(ana)
    response = client.post(reverse("conversation_leave", args=[conversation]), follow=True)
    assert "You can&#x27;t leave a 1:1 conversation." in response.content.decode()


def test_group_actions_of_a_non_member_are_404(client, ana, bo, cy, group):
    team = group(bo, cy)
    client.force_login(ana)
    for name, args in [
        ("conversation_rename", [team]),
        ("conversation_members_add", [team]),
        ("conversation_member_remove", [team, cy.pk]),
        ("conversation_leave", [team]),
    ]:
        assert client.post(reverse(name, args=args), {"title": "x", "members": "ana"}).status_code == 404, name
    assert not Membership.objects.filter(conversation_id=team, user=ana).exists()


# --- Preferences ----------------------------------------------------------------------------------------------


def test_message_settings(client, ana):
    client.force_login(ana)
    html = client.get("/messages/settings/").content.decode()
    assert checked(html) == "everyone"

    response = client.post("/messages/settings/", {"direct_from": "following"})

    assert response.status_code == 302
    assert Preferences.objects.get(user=ana).direct_from == Preferences.DirectFrom.FOLLOWING
    assert checked(client.get("/messages/settings/").content.decode()) == "following"


def test_message_settings_reject_unknown_choices(client, ana):
    client.force_login(ana)
    response = client.post("/messages/settings/", {"direct_from": "nobody"})
    assert response.status_code == 200 and "Select a valid choice." in response.content.decode()
    assert not Preferences.objects.filter(user=ana).exists()


def test_replying_to_a_request_moves_it_to_the_inbox(client, ana, bo, say):
    services.preferences_update(user=ana, direct_from="following")
    conversation = say(bo, "hey", to=ana).conversation_id
    client.force_login(ana)
    client.post(reverse("conversation_send", args=[conversation]), {"content": "hey yourself"})
    assert Membership.objects.get(conversation_id=conversation, user=ana).folder == "inbox"
