"""Emoji reactions on messages over REST: members only, idempotent, counted once under concurrency."""

import threading
from urllib.parse import quote

import pytest
from django.db import connections

from messaging import services
from messaging.models import Message, Reaction
from tests.factories import UserFactory
from tests.socialsite.api.helpers import assert_error

THUMBS, HEART = "👍", "❤️"


def reactions_url(message_id, emoji=None):
    url = f"/api/v1/messages/{message_id}/reactions"
    return url if emoji is None else f"{url}/{quote(emoji)}"


@pytest.fixture
def message(ana, bo, send):
    response = send(ana, "react to me", to=bo)
    assert response.status_code == 201
    return response.json()


@pytest.mark.django_db
class TestReact:
    def test_react_twice_is_one_reaction_and_unreact_takes_it_off(self, ana, bo, message, client_for):
        first = client_for(bo).post(reactions_url(message["id"]), {"emoji": THUMBS}, format="json")
        assert first.status_code == 201, first.content
        assert first.json() == {
            "message_id": message["id"],
            "reactions": [{"emoji": THUMBS, "count": 1, "user_ids": [str(bo.pk)], "me": True}],
        }
        again = client_for(bo).post(reactions_url(message["id"]), {"emoji": THUMBS}, format="json")  # replayed
        assert again.status_code == 200 and again.json() == first.json()
        client_for(ana).post(reactions_url(message["id"]), {"emoji": HEART}, format="json")
        client_for(ana).post(reactions_url(message["id"]), {"emoji": THUMBS}, format="json")
        listed = client_for(ana).get("/api/v1/users/me/messages", {"conversation_id": message["conversation_id"]})
        assert listed.json()["results"][0]["reactions"] == [
            {"emoji": THUMBS, "count": 2, "user_ids": [str(bo.pk), str(ana.pk)], "me": True},
            {"emoji": HEART, "count": 1, "user_ids": [str(ana.pk)], "me": True},
        ]
        off = client_for(bo).delete(reactions_url(message["id"], THUMBS))
        assert off.status_code == 200
        assert off.json()["reactions"][0] == {"emoji": THUMBS, "count": 1, "user_ids": [str(ana.pk)], "me": False}
        assert client_for(bo).delete(reactions_url(message["id"], THUMBS)).status_code == 200  # no-op
        assert Reaction.objects.count() == 2

    def test_a_non_member_or_former_member_gets_not_found(self, ana, bo, cy, message, client_for):
        assert_error(
            client_for(cy).post(reactions_url(message["id"]), {"emoji": THUMBS}, format="json"),
            404,
            "message_not_found",
        )
        assert_error(client_for(cy).delete(reactions_url(message["id"], THUMBS)), 404, "message_not_found")
        assert_error(client_for(cy).post(reactions_url("nope"), {"emoji": THUMBS}, format="json"), 404)
        assert not Reaction.objects.exists()

    def test_blocked_either_way_in_a_direct_conversation(self, ana, bo, message, client_for, block):
        block(bo, ana)
        for user in (ana, bo):
            response = client_for(user).post(reactions_url(message["id"]), {"emoji": THUMBS}, format="json")
            assert_error(response, 403, "blocked")
        assert not Reaction.objects.exists()

    @pytest.mark.parametrize(
        "body",
        [{}, {"emoji": "🦄"}, {"emoji": ""}, {"emoji": 5}, {"emoji": ["👍"]}, {"emoji": THUMBS * 200}, {"emoji": None}],
    )
    def test_malformed_and_oversized_bodies(self, bo, message, client_for, body):
        assert_error(client_for(bo).post(reactions_url(message["id"]), body, format="json"), 400, "invalid")
        assert not Reaction.objects.exists()

    def test_lines_about_a_group_and_messages_from_before_joining(self, ana, bo, cy, client_for):
        group = services.conversation_group_create(creator=ana, title="g", member_ids=[bo.pk])
        early, _ = services.message_send(sender=ana, conversation_id=group.conversation_id, content="before cy")
        services.members_add(actor=ana, conversation_id=group.conversation_id, user_ids=[cy.pk])
        line = Message.objects.filter(conversation_id=group.conversation_id, kind="added").get()
        response = client_for(bo).post(reactions_url(line.pk), {"emoji": THUMBS}, format="json")
        assert_error(response, 403, "system_message")
        response = client_for(cy).post(reactions_url(early.pk), {"emoji": THUMBS}, format="json")
        assert_error(response, 404, "message_not_found")
        assert not Reaction.objects.exists()

    def test_bad_emoji_in_the_path_and_bad_json(self, bo, message, client_for):
        assert_error(client_for(bo).delete(reactions_url(message["id"], "x" * 300)), 400, "invalid")
        response = client_for(bo).post(reactions_url(message["id"]), "{no", content_type="application/json")
        assert_error(response, 400)

    def test_deleted_messages_and_anonymous_callers(self, ana, bo, message, client_for, client):
        client_for(bo).post(reactions_url(message["id"]), {"emoji": THUMBS}, format="json")
        client_for(ana).delete(f"/api/v1/messages/{message['id']}")
        listed = client_for(bo).get("/api/v1/users/me/messages", {"conversation_id": message["conversation_id"]})
        assert listed.json()["results"][0]["reactions"] == []  # a deleted message shows none
        response = client_for(bo).post(reactions_url(message["id"]), {"emoji": THUMBS}, format="json")
        assert_error(response, 409, "deleted")
        assert client.post(reactions_url(message["id"]), {"emoji": THUMBS}).status_code == 401

    def test_reacting_is_rate_limited_apart_from_sending(self, bo, message, client_for, settings):
        settings.THROTTLE_MESSAGE = "3/m"
        api = client_for(bo)
        for emoji in (THUMBS, HEART, "😂"):
            assert api.post(reactions_url(message["id"]), {"emoji": emoji}, format="json").status_code == 201
        limited = api.post(reactions_url(message["id"]), {"emoji": "😮"}, format="json")
        assert_error(limited, 429, "throttled")
        assert int(limited["Retry-After"]) >= 1
        assert Reaction.objects.count() == 3

    def test_a_list_of_messages_with_reactions_costs_a_bounded_number_of_queries(
        self, ana, bo, send, client_for, django_assert_max_num_queries
    ):
        conversation = send(ana, "first", to=bo).json()["conversation_id"]
        for n in range(12):
            mid = send(ana, f"m{n}", conversation=conversation).json()["id"]
            services.message_react(user=bo, message_id=mid, emoji=THUMBS)
            services.message_react(user=ana, message_id=mid, emoji=HEART)
        api = client_for(bo)
        with django_assert_max_num_queries(14):
            response = api.get("/api/v1/users/me/messages", {"conversation_id": conversation, "limit": 50})
        assert all(len(m["reactions"]) == 2 for m in response.json()["results"][:12])


@pytest.mark.django_db(transaction=True)
def test_two_devices_reacting_at_once_make_one_reaction(send):
    ana, bo = UserFactory(), UserFactory()
    message = send(ana, "at once", to=bo).json()
    barrier, changed = threading.Barrier(2), []

    def react():
        try:
            barrier.wait()
            changed.append(services.message_react(user=bo, message_id=message["id"], emoji=THUMBS)[1])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=react) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(changed) == [False, True]
    assert Reaction.objects.filter(user=bo).count() == 1
