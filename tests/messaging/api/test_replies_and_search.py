"""Replies (reply_to) and search within a conversation over REST."""

import pytest

from messaging import services
from socialsite.errors import ServiceError
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

MINE = "/api/v1/users/me/messages"


def test_a_reply_quotes_its_target_and_shows_it_deleted_later(ana, bo, send, client_for):
    first = send(ana, "where   shall we\nmeet? " + "x" * 200, to=bo).json()
    reply = send(bo, "at noon", conversation=first["conversation_id"], reply_to=first["id"])
    assert reply.status_code == 201, reply.content
    quoted = reply.json()["reply_to"]
    assert quoted["id"] == first["id"] and quoted["deleted"] is False
    assert quoted["sender"] == {"id": str(ana.pk), "username": ana.username, "display_name": ana.profile.name}
    assert quoted["excerpt"].startswith("where shall we meet? xx") and len(quoted["excerpt"]) == 120
    assert first["reply_to"] is None
    client_for(ana).delete(f"/api/v1/messages/{first['id']}")
    listed = client_for(bo).get(MINE, {"conversation_id": first["conversation_id"]}).json()["results"]
    assert listed[0]["reply_to"] == {**quoted, "excerpt": "", "deleted": True}
    again = send(bo, "and?", conversation=first["conversation_id"], reply_to=first["id"])
    assert_error(again, 409, "deleted")


def test_a_reply_must_name_a_message_of_the_same_conversation_the_sender_saw(ana, bo, cy, send, client_for):
    elsewhere = send(cy, "other conversation", to=bo).json()
    mine = send(ana, "hi", to=bo).json()
    for bad in (elsewhere["id"], "garbage", "0190a000-0000-7000-8000-000000000000", "x" * 65):
        response = send(ana, "re", conversation=mine["conversation_id"], reply_to=bad)
        assert_error(response, 400, "invalid")
    group = services.conversation_group_create(creator=ana, title="g", member_ids=[bo.pk])
    early, _ = services.message_send(sender=ana, conversation_id=group.conversation_id, content="before cy")
    services.members_add(actor=ana, conversation_id=group.conversation_id, user_ids=[cy.pk])
    response = send(cy, "re", conversation=str(group.conversation_id), reply_to=str(early.pk))
    assert_error(response, 400, "invalid")  # cy never saw it
    line = client_for(cy).get(MINE, {"conversation_id": str(group.conversation_id)}).json()["results"][0]
    assert line["kind"] == "added"
    response = send(cy, "re", conversation=str(group.conversation_id), reply_to=line["id"])
    assert_error(response, 400, "invalid")  # a line about the group


def test_a_reply_to_that_is_not_a_string_is_refused_by_the_service(ana, bo, send):
    mine = send(ana, "hi", to=bo).json()
    with pytest.raises(ServiceError) as refused:
        services.message_send(sender=ana, conversation_id=mine["conversation_id"], content="re", reply_to=5)
    assert refused.value.code == "invalid"


def test_search_finds_members_messages_only_in_that_conversation(ana, bo, cy, send, client_for):
    conversation = send(ana, "Pizza tonight?", to=bo).json()["conversation_id"]
    send(bo, "no, PIZZA tomorrow", conversation=conversation)
    gone = send(bo, "pizza deleted", conversation=conversation).json()
    client_for(bo).delete(f"/api/v1/messages/{gone['id']}")
    send(cy, "pizza elsewhere", to=ana)
    found = client_for(ana).get(MINE, {"conversation_id": conversation, "q": "pizza"}).json()["results"]
    assert [m["content"] for m in found] == ["no, PIZZA tomorrow", "Pizza tonight?"]
    everywhere = client_for(ana).get(MINE, {"q": "pizza"}).json()["results"]
    assert len(everywhere) == 3
    assert_error(client_for(cy).get(MINE, {"conversation_id": conversation, "q": "pizza"}), 404)
    assert_error(client_for(ana).get(MINE, {"conversation_id": conversation, "q": " "}), 400, "invalid")
    assert_error(client_for(ana).get(MINE, {"conversation_id": conversation, "q": "p" * 101}), 400, "invalid")
    assert client_for(ana).get(MINE, {"conversation_id": conversation, "q": "%_'\""}).json()["results"] == []
