"""The messaging pages: who may see them, the inbox and requests folders, a conversation."""

import re

import pytest
from django.urls import reverse

from accounts import services as account_services
from messaging import selectors, services
from messaging.models import Membership, Message, Preferences
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
ROW = re.compile(r'<li class="conversation-row[^"]*" data-conversation-id="([^"]+)"')
MESSAGE = re.compile(r'<li class="chat-message[^"]*" id="message-[^"]+" data-message-id="([^"]+)" data-seq="(\d+)"')


def rows(response):
    return ROW.findall(response.content.decode())


def message_seqs(response):
    return [int(seq) for _, seq in MESSAGE.findall(response.content.decode())]


def bubble(html, message):
    start = html.index(f'id="message-{message.pk}"')
    return html[start : html.index("</li>", start)]


def assert_csp_clean(html):
    assert "<script>" not in html and "style=" not in html and " on" + "click=" not in html


# --- Sign-in required -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/messages/", "/messages/requests/", "/messages/new/", "/messages/new-group/", "/messages/settings/"],
)
def test_pages_need_a_signed_in_user(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login") + "?next=")


def test_a_conversation_needs_a_signed_in_user(client, ana, bo, say):
    message = say(ana, to=bo)
    response = client.get(reverse("conversation", args=[message.conversation_id]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    response = client.post(reverse("conversation_send", args=[message.conversation_id]), {"content": "sneaky"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert not selectors.messages(user=ana).filter(content="sneaky").exists()


# --- Inbox -----------------------------------------------------------------------------------------


def test_inbox_lists_my_conversations_latest_first(client, ana, bo, cy, say, group):
    with_bo = say(bo, "hello ana", to=ana).conversation_id
    team = group(ana, bo, cy, title="Team")
    say(cy, "team news", conversation=team)
    others = say(bo, "not for ana", to=cy).conversation_id  # bo and cy's 1:1
    say(ana, "back to you, bo", conversation=with_bo)
    client.force_login(ana)

    response = client.get("/messages/")

    assert response.status_code == 200
    assert rows(response) == [str(with_bo), str(team)]
    html = response.content.decode()
    assert str(others) not in html and "not for ana" not in html
    assert "Team" in html and "team news" in html and "cy:" in html  # the sender's name in a group
    assert "You:" in html and "back to you, bo" in html
    assert 'href="/messages/new/"' in html and 'href="/messages/new-group/"' in html
    assert "data-chat-inbox" in html and "/static/js/chat.js" in html and "/static/css/messaging.css" in html
    assert_csp_clean(html)


def test_inbox_shows_unread_counts_and_the_nav_badge(client, ana, bo, cy, say, group):
    conversation = say(bo, "one", to=ana).conversation_id
    say(bo, "two", conversation=conversation)
    team = group(cy, ana, bo)
    say(cy, "three", conversation=team)
    client.force_login(ana)

    html = client.get("/messages/").content.decode()

    assert re.search(r'class="badge conversation-row__unread">2<', html)
    assert re.search(r'class="badge conversation-row__unread">1<', html)
    assert selectors.unread_totals(user=ana) == {"inbox": 3, "requests": 0}
    assert re.search(r'data-chat-nav[^>]*>.*?>Messages</span> <span class="badge" data-chat-unread>3<', html)

    services.conversation_read(reader=ana, conversation_id=conversation)
    html = client.get("/messages/").content.decode()
    assert re.search(r"data-chat-unread>1<", html)
    services.conversation_read(reader=ana, conversation_id=team)
    assert "data-chat-unread" not in client.get("/").content.decode()


def test_the_nav_link_shows_on_every_signed_in_page(client, ana):
    assert 'href="/messages/"' not in client.get("/").content.decode()
    client.force_login(ana)
    html = client.get("/").content.decode()
    assert 'href="/messages/"' in html and "data-chat-nav" in html and "data-chat-unread" not in html


def test_the_inbox_fragment_is_only_the_list(client, ana, bo, say):
    conversation = say(bo, "hello", to=ana).conversation_id
    client.force_login(ana)
    response = client.get("/messages/", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert rows(response) == [str(conversation)]
    assert "<html" not in html and 'data-requests-count="0"' in html


def test_an_empty_inbox_says_how_to_start(client, ana):
    client.force_login(ana)
    html = client.get("/messages/").content.decode()
    assert "No conversations yet" in html and "Requests <span data-chat-requests-count>(0)</span>" in html


def test_requests_tab_lists_requests_and_accepting_moves_them(client, ana, bo, cy, say):
    services.preferences_update(user=ana, direct_from=Preferences.DirectFrom.FOLLOWING)
    account_services.follow_create(follower=ana, followed_user_id=cy.pk)
    request = say(bo, "hi, we haven't met", to=ana).conversation_id
    friend = say(cy, "hi friend", to=ana).conversation_id
    client.force_login(ana)

    inbox = client.get("/messages/")
    assert rows(inbox) == [str(friend)]
    assert "Requests <span data-chat-requests-count>(1)</span>" in inbox.content.decode()
    requests_page = client.get("/messages/requests/")
    assert rows(requests_page) == [str(request)]
    html = requests_page.content.decode()
    accept_url = reverse("conversation_accept", args=[request])
    assert f'action="{accept_url}"' in html and ">Accept<" in html

    response = client.post(accept_url)

    assert response.status_code == 302 and response["Location"] == reverse("conversation", args=[request])
    assert Membership.objects.get(conversation_id=request, user=ana).folder == Membership.Folder.INBOX
    assert rows(client.get("/messages/")) == [str(friend), str(request)]  # latest message first
    assert rows(client.get("/messages/requests/")) == []
    # The request banner is gone from the conversation too.
    assert "data-chat-request" not in client.get(reverse("conversation", args=[request])).content.decode()


def test_a_request_shows_its_banner_in_the_conversation(client, ana, bo, say):
    services.preferences_update(user=ana, direct_from=Preferences.DirectFrom.FOLLOWING)
    conversation = say(bo, "hello?", to=ana).conversation_id
    client.force_login(ana)
    html = client.get(reverse("conversation", args=[conversation])).content.decode()
    assert "data-chat-request" in html and "Message request." in html


def test_accepting_someone_elses_conversation_is_404(client, ana, bo, cy, say):
    conversation = say(bo, to=cy).conversation_id
    client.force_login(ana)
    assert client.post(reverse("conversation_accept", args=[conversation])).status_code == 404


# --- A conversation -----------------------------------------------------------------------------------


def test_a_conversation_shows_its_messages_oldest_first_with_ticks(client, ana, bo, say):
    first = say(ana, "first", to=bo)
    conversation = first.conversation_id
    second = say(bo, "second", conversation=conversation)
    third = say(ana, "third", conversation=conversation)
    services.conversation_delivered(user=bo, conversation_id=conversation)
    client.force_login(ana)

    response = client.get(reverse("conversation", args=[conversation]))

    assert response.status_code == 200
    assert message_seqs(response) == [first.seq, second.seq, third.seq]
    html = response.content.decode()
    # bo's reply read "first"; "third" reached bo's device but isn't read yet; bo's own has none.
    assert 'data-status="read"' in bubble(html, first)
    assert 'data-status="delivered"' in bubble(html, third)
    assert "data-ticks" not in bubble(html, second)
    assert f'data-conversation-id="{conversation}"' in html and "data-live" in html
    assert f'data-read-url="/api/v1/conversations/{conversation}/read"' in html
    assert 'action="' + reverse("conversation_send", args=[conversation]) + '"' in html
    assert "The beginning of the conversation." in html
    assert_csp_clean(html)


def test_a_non_member_gets_404(client, ana, bo, cy, say):
    message = say(bo, "private", to=cy)
    conversation = message.conversation_id
    client.force_login(ana)
    assert client.get(reverse("conversation", args=[conversation])).status_code == 404
    assert client.get(reverse("conversation", args=["0190a0a0-0000-7000-8000-000000000000"])).status_code == 404
    assert client.get(f"/messages/{conversation}/?before=2", **HTMX).status_code == 404
    assert client.get(reverse("message_edit", args=[message.pk])).status_code == 404
    assert client.post(reverse("message_delete", args=[message.pk])).status_code == 404


def test_a_former_member_gets_404(client, ana, bo, cy, say, group):
    team = group(ana, bo, cy)
    say(ana, "before you go", conversation=team)
    services.member_remove(actor=bo, conversation_id=team, user_id="me")
    client.force_login(bo)
    assert client.get(reverse("conversation", args=[team])).status_code == 404
    assert rows(client.get("/messages/")) == []


def test_older_messages_page_by_seq(client, ana, bo, say):
    conversation = say(ana, "message 1", to=bo).conversation_id
    for i in range(2, 36):
        say(ana if i % 2 else bo, f"message {i}", conversation=conversation)
    client.force_login(ana)
    url = reverse("conversation", args=[conversation])

    latest = client.get(url)
    assert message_seqs(latest) == list(range(6, 36))
    html = latest.content.decode()
    assert f'href="{url}?before=6"' in html and "data-chat-older-link" in html
    assert "The beginning of the conversation." not in html

    older = client.get(f"{url}?before=6", **HTMX)  # what chat.js puts on top when scrolled up
    assert message_seqs(older) == [1, 2, 3, 4, 5]
    fragment = older.content.decode()
    assert "<html" not in fragment and "The beginning of the conversation." in fragment
    assert "data-chat-older" not in fragment

    paged = client.get(f"{url}?before=6")  # without JavaScript: a page of its own
    assert message_seqs(paged) == [1, 2, 3, 4, 5]
    assert "Jump to the latest" in paged.content.decode() and "data-live" not in paged.content.decode()


@pytest.mark.parametrize("before", ["abc", "-1", "1.5"])
def test_a_bad_before_is_400(client, ana, bo, say, before):
    conversation = say(ana, to=bo).conversation_id
    client.force_login(ana)
    response = client.get(reverse("conversation", args=[conversation]), {"before": before})
    assert response.status_code == 400
    assert "is a message number" in response.content.decode()


def test_a_group_shows_its_title_members_and_admin_forms(client, ana, bo, cy, say, group):
    team = group(ana, bo, cy, title="Climbing")
    say(bo, "hello team", conversation=team)
    client.force_login(ana)

    html = client.get(reverse("conversation", args=[team])).content.decode()

    assert "Climbing" in html and "3 members" in html
    assert reverse("conversation_rename", args=[team]) in html
    assert reverse("conversation_members_add", args=[team]) in html
    assert reverse("conversation_member_remove", args=[team, bo.pk]) in html
    assert reverse("conversation_member_remove", args=[team, ana.pk]) not in html
    assert reverse("conversation_leave", args=[team]) in html
    assert "data-message-sender>bo<" in html  # whose message, in a group

    client.force_login(bo)  # a member, not an admin: can leave, can't manage
    html = client.get(reverse("conversation", args=[team])).content.decode()
    assert reverse("conversation_leave", args=[team]) in html
    assert reverse("conversation_rename", args=[team]) not in html
    assert reverse("conversation_member_remove", args=[team, cy.pk]) not in html


def test_an_untitled_group_is_named_after_its_members(client, ana, bo, cy, group):
    team = group(ana, bo, cy)
    client.force_login(ana)
    html = client.get(reverse("conversation", args=[team])).content.decode()
    assert "<title>bo and cy · socialsite</title>" in html


def test_a_blocked_conversation_has_no_send_form(client, ana, bo, say):
    conversation = say(ana, "hi", to=bo).conversation_id
    account_services.block_create(blocker=bo, blocked_user_id=ana.pk)
    client.force_login(ana)
    html = client.get(reverse("conversation", args=[conversation])).content.decode()
    assert "You can&#x27;t message this account." in html or "You can't message this account." in html
    assert "data-chat-form" not in html


def test_deactivated_member_does_not_break_the_inbox(client, ana, say):
    gone = UserFactory(username="gone")
    say(gone, "bye", to=ana)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    client.force_login(ana)
    assert client.get("/messages/").status_code == 200


def test_a_conversation_with_a_deleted_account_offers_no_message_box(client, ana, say):
    gone = UserFactory(username="gone_for_good")
    conversation = say(gone, "bye", to=ana).conversation_id
    account_services.user_deactivate(user=gone)
    client.force_login(ana)
    html = client.get(reverse("conversation", args=[conversation])).content.decode()
    assert "This account is no longer active" in html and "data-chat-form" not in html


# --- Lines about the group ----------------------------------------------------------------------------

SYSTEM = re.compile(
    r'<li class="chat-system" id="message-[^"]+" data-message-id="[^"]+" data-seq="(\d+)"[^>]*>\s*<p[^>]*>([^<]*)</p>'
)


def test_group_changes_show_as_centered_lines_without_actions(client, ana, bo, cy, say, group):
    team = group(ana, bo, title="Team")
    say(bo, "hello", conversation=team)
    services.conversation_rename(actor=ana, conversation_id=team, title="<b>Trip</b>")
    services.members_add(actor=ana, conversation_id=team, user_ids=[str(cy.pk)])
    client.force_login(ana)
    html = client.get(reverse("conversation", args=[team])).content.decode()
    assert SYSTEM.findall(html) == [
        ("2", "ana renamed the group to “&lt;b&gt;Trip&lt;/b&gt;”"),  # escaped like any user text
        ("3", "ana added cy"),
    ]
    assert message_seqs(client.get(reverse("conversation", args=[team]))) == [1]  # only "hello" is a bubble
    line = Message.objects.get(seq=3, conversation_id=team)
    assert "Edit" not in html[html.index(f'id="message-{line.pk}"') :].split("</li>")[0]
    assert client.get(reverse("message_edit", args=[line.pk])).status_code == 403
    assert client.post(reverse("message_delete", args=[line.pk])).status_code == 403
    assert "data-chat-system-template" in html  # chat.js builds live lines from it
    # The inbox row previews the line, without ticks or a "You:".
    inbox = client.get("/messages/").content.decode()
    assert "ana added cy" in inbox and "You:" not in inbox


def test_a_removed_member_keeps_the_conversation_read_only(client, ana, bo, cy, say, group):
    team = group(ana, bo, cy, title="Team")
    say(bo, "hi", conversation=team)
    services.member_remove(actor=ana, conversation_id=team, user_id=str(bo.pk))
    say(ana, "after bo", conversation=team)
    client.force_login(bo)
    inbox = client.get("/messages/")
    assert rows(inbox) == [str(team)]
    assert "ana removed bo" in inbox.content.decode()
    html = client.get(reverse("conversation", args=[team])).content.decode()
    assert SYSTEM.findall(html) == [("2", "ana removed bo")]
    assert "after bo" not in html
    assert "data-chat-removed" in html and "data-chat-form" not in html  # no composer
    assert "Leave group" not in html and "data-chat-members" not in html and "data-live" not in html
    assert client.post(reverse("conversation_send", args=[team]), {"content": "back?"}).status_code == 404
    # Who leaves by themselves doesn't keep it (test_a_former_member_gets_404).
