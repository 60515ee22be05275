"""The conversation page's reactions, replies, "New messages" line and search, without JavaScript."""

import pytest
from django.urls import reverse

from messaging import services
from messaging.models import Message, Reaction

pytestmark = pytest.mark.django_db

THUMBS = "👍"


def page(client, conversation_id, **params):
    response = client.get(reverse("conversation", args=[conversation_id]), params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_new_messages_line_sits_above_the_first_unread_message(client, ana, bo, say):
    first = say(ana, "read already", to=bo)
    services.conversation_read(reader=bo, conversation_id=first.conversation_id)
    say(bo, "my own", conversation=first.conversation_id)  # the reader's own message reads what is before it
    unread = say(ana, "new one", conversation=first.conversation_id)
    say(ana, "newer", conversation=first.conversation_id)
    client.force_login(bo)
    html = page(client, first.conversation_id)
    assert html.count("data-chat-unread-divider") == 1
    line = html.index("data-chat-unread-divider")
    assert html.index("my own") < line < html.index(f'id="message-{unread.pk}"')
    services.conversation_read(reader=bo, conversation_id=first.conversation_id)
    assert "data-chat-unread-divider" not in page(client, first.conversation_id)


def test_reactions_and_quotes_render_and_the_react_form_works_without_javascript(client, ana, bo, cy, say):
    first = say(ana, "lunch?", to=bo)
    reply, _ = services.message_send(
        sender=bo, conversation_id=first.conversation_id, content="yes", reply_to=str(first.pk)
    )
    services.message_react(user=ana, message_id=reply.pk, emoji=THUMBS)
    client.force_login(bo)
    html = page(client, first.conversation_id)
    assert f'data-message-quote data-quote-id="{first.pk}"' in html
    assert 'aria-pressed="false" data-reaction="👍"' in html
    url = reverse("message_react", args=[reply.pk])
    response = client.post(url, {"emoji": THUMBS, "on": "1"})
    assert response.status_code == 302 and response.url.endswith(f"#message-{reply.pk}")
    assert Reaction.objects.filter(message=reply).count() == 2
    assert 'aria-pressed="true" data-reaction="👍"' in page(client, first.conversation_id)
    client.post(url, {"emoji": THUMBS})  # no "on": take it off
    assert Reaction.objects.filter(message=reply).count() == 1
    client.post(url, {"emoji": "🦄", "on": "1"})  # refused, with the service's words
    assert Reaction.objects.filter(message=reply).count() == 1
    Message.objects.filter(pk=first.pk).update(content="", deleted_at=reply.created_at)
    assert ">deleted</span>" in page(client, first.conversation_id)
    assert client.post(url, {}).status_code == 302  # no emoji: "Pick an emoji."
    assert Reaction.objects.filter(message=reply).count() == 1
    client.force_login(cy)
    assert client.post(url, {"emoji": THUMBS, "on": "1"}).status_code == 404
    assert client.get(url).status_code == 405


def test_search_lists_matches_with_a_link_into_the_conversation(client, ana, bo, cy, say):
    first = say(ana, "Pizza tonight?", to=bo)
    later = say(bo, "pizza, sure", conversation=first.conversation_id)
    say(cy, "pizza elsewhere", to=ana)
    client.force_login(ana)
    html = page(client, first.conversation_id, q="PIZZA")
    assert "2 results for “PIZZA”" in html and "pizza elsewhere" not in html
    assert f"?before={later.seq + 1}#message-{later.pk}" in html
    assert "Search for at most 100 characters." in page(client, first.conversation_id, q="x" * 101)
    assert "0 results" in page(client, first.conversation_id, q="nothing like it")
    client.force_login(cy)
    assert client.get(reverse("conversation", args=[first.conversation_id]), {"q": "pizza"}).status_code == 404


def test_the_no_javascript_send_takes_a_reply_and_says_why_a_bad_one_is_refused(client, ana, bo, say):
    first = say(ana, "lunch?", to=bo)
    client.force_login(bo)
    url = reverse("conversation_send", args=[first.conversation_id])
    response = client.post(url, {"content": "yes", "client_id": "w-1", "reply_to": str(first.pk)})
    assert response.status_code == 302
    assert Message.objects.get(client_id="w-1").reply_to_id == first.pk
    response = client.post(url, {"content": "no", "client_id": "w-2", "reply_to": "nonsense"})
    assert response.status_code == 200 and "Not a message of this conversation." in response.content.decode()
    assert not Message.objects.filter(client_id="w-2").exists()
