"""The messaging REST API: sending, reading, conversations, receipts, and every refusal."""

import logging

import pytest

from messaging.models import Membership, Message
from tests.factories import FollowFactory, UserFactory
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

MESSAGES = "/api/v1/messages"
CONVERSATIONS = "/api/v1/conversations"


def own_messages(client, **params):
    response = client.get("/api/v1/users/me/messages", params)
    assert response.status_code == 200, response.content
    return response.json()


class TestSend:
    def test_first_message_opens_a_conversation_and_a_reply_reuses_it(self, ana, bo, send):
        first = send(ana, "hello bo", to=bo)
        assert first.status_code == 201, first.content
        body = first.json()
        assert set(body) >= {"id", "conversation_id", "sender_id", "content", "created_at", "status"}
        assert (body["sender_id"], body["content"], body["status"]) == (str(ana.pk), "hello bo", "sent")
        reply = send(bo, "hi ana", to=ana)
        assert reply.json()["conversation_id"] == body["conversation_id"]
        by_conversation = send(ana, "again", conversation=body["conversation_id"])
        assert (
            by_conversation.status_code == 201 and by_conversation.json()["conversation_id"] == body["conversation_id"]
        )
        assert [m.seq for m in Message.objects.order_by("seq")] == [1, 2, 3]

    def test_the_sender_is_always_the_caller(self, ana, bo, cy, send):
        response = send(ana, "spoof", to=bo, sender_id=str(cy.pk))
        assert response.json()["sender_id"] == str(ana.pk)

    def test_replayed_client_id_returns_the_first_message(self, ana, bo, send):
        first = send(ana, "once", to=bo, client_id="c-1")
        again = send(ana, "once", to=bo, client_id="c-1")
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["id"] == first.json()["id"] and again.json()["client_id"] == "c-1"
        assert Message.objects.count() == 1
        assert Membership.objects.get(user=bo).unread_count == 1

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"content": "", "receiver_id": "x"}, "invalid"),
            ({"content": "   ", "receiver_id": "RECEIVER"}, "invalid"),
            ({"content": "x" * 4001, "receiver_id": "RECEIVER"}, "invalid"),
            ({"content": "both", "receiver_id": "RECEIVER", "conversation_id": "x"}, "invalid"),
            ({"content": "neither"}, "invalid"),
            ({"content": 5, "receiver_id": "RECEIVER", "client_id": "x" * 65}, "invalid"),
            ({"content": ["list"], "receiver_id": "RECEIVER"}, "invalid"),
        ],
    )
    def test_bad_bodies_are_refused_and_nothing_is_stored(self, ana, bo, client_for, body, code):
        body = {k: (str(bo.pk) if v == "RECEIVER" else v) for k, v in body.items()}
        assert_error(client_for(ana).post(MESSAGES, body, format="json"), 400, code)
        assert not Message.objects.exists()

    def test_malformed_json(self, ana, client_for):
        response = client_for(ana).post(MESSAGES, "{nope", content_type="application/json")
        assert_error(response, 400)

    def test_yourself_unknown_users_and_conversations(self, ana, bo, send):
        assert_error(send(ana, "me", to=ana), 400, "self_message")
        assert_error(send(ana, "x", receiver_id="not-a-uuid"), 404)
        assert_error(send(ana, "x", receiver_id="0190a000-0000-7000-8000-000000000000"), 404)
        assert_error(send(ana, "x", conversation="0190a000-0000-7000-8000-000000000000"), 404, "conversation_not_found")
        assert not Message.objects.exists()

    def test_a_non_member_can_neither_post_nor_read(self, ana, bo, cy, send, client_for):
        conversation = send(ana, "private", to=bo).json()["conversation_id"]
        assert_error(send(cy, "let me in", conversation=conversation), 404, "conversation_not_found")
        response = client_for(cy).get("/api/v1/users/me/messages", {"conversation_id": conversation})
        assert_error(response, 404, "conversation_not_found")
        assert_error(client_for(cy).get(f"{CONVERSATIONS}/{conversation}"), 404)
        assert own_messages(client_for(cy))["results"] == []
        assert Message.objects.count() == 1

    def test_someone_elses_message_list_is_refused(self, ana, bo, send, client_for):
        send(ana, "hello", to=bo)
        assert_error(client_for(bo).get(f"/api/v1/users/{ana.pk}/messages"), 403, "not_owner")

    def test_blocked_either_way_cannot_message(self, ana, bo, send, block):
        conversation = send(ana, "before", to=bo).json()["conversation_id"]
        block(bo, ana)
        assert_error(send(ana, "after", to=bo), 404)  # bo blocked ana: ana can't even see bo
        assert_error(send(ana, "after", conversation=conversation), 403, "blocked")
        assert_error(send(bo, "and back", conversation=conversation), 403, "blocked")
        assert Message.objects.count() == 1

    def test_a_suspended_or_deactivated_member_gets_no_more_messages(self, ana, bo, send):
        conversation = send(ana, "before", to=bo).json()["conversation_id"]
        type(bo).objects.filter(pk=bo.pk).update(is_active=False)
        assert_error(send(ana, "after", conversation=conversation), 403, "blocked")
        assert_error(send(ana, "after", to=bo), 404)
        assert Message.objects.count() == 1

    def test_anonymous_and_bad_tokens(self, api, bo):
        assert_error(api.post(MESSAGES, {"content": "x", "receiver_id": str(bo.pk)}, format="json"), 401)
        api.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
        assert_error(api.get(CONVERSATIONS), 401)

    def test_sending_is_rate_limited(self, ana, bo, send, settings):
        settings.THROTTLE_MESSAGE = "3/m"
        for number in range(3):
            assert send(ana, f"m{number}", to=bo).status_code == 201
        response = send(ana, "one too many", to=bo)
        assert_error(response, 429, "throttled")
        assert int(response["Retry-After"]) >= 1
        assert Message.objects.count() == 3

    def test_content_never_reaches_the_logs(self, ana, bo, send, client_for, caplog):
        caplog.set_level(logging.DEBUG)
        secret = "my-very-secret-words"
        body = send(ana, secret, to=bo).json()
        client_for(ana).patch(f"{MESSAGES}/{body['id']}", {"content": secret + "!"}, format="json")
        send(ana, "x" * 5000 + secret, to=bo)
        assert secret not in caplog.text
        assert body["id"] in caplog.text  # logs name ids


class TestReadingAndReceipts:
    def test_messages_from_an_account_you_muted_arrive_quietly(self, ana, bo, cy, send, client_for):
        """They arrived as unread (a new user's review)."""
        from accounts import services as account_services

        send(ana, "before the mute", to=bo)
        account_services.mute_create(muter=bo, muted_user_id=ana.pk)
        send(ana, "after the mute", to=bo)
        send(cy, "from cy", to=bo)
        rows = {
            r["last_message"]["content"]: r["unread_count"] for r in client_for(bo).get(CONVERSATIONS).json()["results"]
        }
        assert rows == {"after the mute": 1, "from cy": 1}  # the muted one still shows, without a new unread
        assert client_for(bo).get(f"{CONVERSATIONS}/unread").json() == {"inbox": 2, "requests": 0}

    def test_conversation_list_with_last_message_and_unread_counts(self, ana, bo, cy, send, client_for):
        send(ana, "one", to=bo)
        send(ana, "two", to=bo)
        send(cy, "from cy", to=bo)
        rows = client_for(bo).get(CONVERSATIONS).json()["results"]
        assert [(r["last_message"]["content"], r["unread_count"]) for r in rows] == [("from cy", 1), ("two", 2)]
        assert {m["username"] for m in rows[1]["members"]} == {"ana", "bo"}
        assert client_for(bo).get(f"{CONVERSATIONS}/unread").json() == {"inbox": 3, "requests": 0}
        assert client_for(ana).get(f"{CONVERSATIONS}/unread").json() == {"inbox": 0, "requests": 0}

    def test_read_turns_ticks_and_clears_unread(self, ana, bo, send, client_for):
        first = send(ana, "one", to=bo).json()
        second = send(ana, "two", to=bo).json()
        conversation = first["conversation_id"]
        page = own_messages(client_for(bo), conversation_id=conversation)  # fetching = delivered
        assert [m["content"] for m in page["results"]] == ["two", "one"]
        statuses = [m["status"] for m in own_messages(client_for(ana), conversation_id=conversation)["results"]]
        assert statuses == ["delivered", "delivered"]
        response = client_for(bo).post(
            f"{CONVERSATIONS}/{conversation}/read", {"message_id": first["id"]}, format="json"
        )
        assert response.json() == {"conversation_id": conversation, "read_seq": 1, "unread_count": 1}
        statuses = [m["status"] for m in own_messages(client_for(ana), conversation_id=conversation)["results"]]
        assert statuses == ["delivered", "read"]
        client_for(bo).post(f"{CONVERSATIONS}/{conversation}/read", {}, format="json")
        assert own_messages(client_for(ana), conversation_id=conversation)["results"][0]["status"] == "read"
        assert client_for(bo).get(f"{CONVERSATIONS}/unread").json()["inbox"] == 0
        assert second["id"]

    def test_read_refusals(self, ana, bo, cy, send, client_for):
        conversation = send(ana, "one", to=bo).json()["conversation_id"]
        other = send(cy, "elsewhere", to=bo).json()
        url = f"{CONVERSATIONS}/{conversation}/read"
        assert_error(client_for(cy).post(url, {}, format="json"), 404)
        assert_error(client_for(bo).post(url, {"message_id": other["id"]}, format="json"), 404, "message_not_found")
        assert_error(client_for(bo).post(url, {"message_id": "garbage"}, format="json"), 404)

    def test_paging_back_and_resyncing_after_a_message(self, ana, bo, send, client_for):
        sent = [send(ana, f"m{n}", to=bo).json() for n in range(5)]
        conversation = sent[0]["conversation_id"]
        first = own_messages(client_for(bo), conversation_id=conversation, limit=2)
        assert [m["content"] for m in first["results"]] == ["m4", "m3"]
        older = client_for(bo).get(first["next"]).json()
        assert [m["content"] for m in older["results"]] == ["m2", "m1"]
        resync = own_messages(client_for(bo), conversation_id=conversation, after=sent[1]["id"], limit=2)
        assert [m["content"] for m in resync["results"]] == ["m2", "m3"]
        rest = client_for(bo).get(resync["next"]).json()
        assert [m["content"] for m in rest["results"]] == ["m4"] and rest["next"] is None
        assert own_messages(client_for(bo), conversation_id=conversation, after="5")["results"] == []
        response = client_for(bo).get("/api/v1/users/me/messages", {"after": "1"})
        assert_error(response, 400)
        response = client_for(bo).get("/api/v1/users/me/messages", {"conversation_id": conversation, "after": "nope"})
        assert_error(response, 400)

    def test_list_queries_are_bounded(self, ana, send, client_for, django_assert_max_num_queries):
        for n in range(6):
            other = UserFactory()
            send(ana, f"to {n}", to=other)
            send(other, f"back {n}", to=ana)
        client = client_for(ana)
        with django_assert_max_num_queries(8):
            assert len(client.get(CONVERSATIONS).json()["results"]) == 6
        conversation = Membership.objects.filter(user=ana).first().conversation_id
        with django_assert_max_num_queries(12):
            own_messages(client, conversation_id=conversation)
        with django_assert_max_num_queries(8):
            assert len(own_messages(client)["results"]) == 12


class TestEditDelete:
    def test_edit_and_delete_own_message(self, ana, bo, send, client_for):
        message = send(ana, "typo", to=bo).json()
        url = f"{MESSAGES}/{message['id']}"
        edited = client_for(ana).patch(url, {"content": "fixed"}, format="json").json()
        assert (edited["content"], edited["edited"]) == ("fixed", True)
        assert client_for(ana).delete(url).status_code == 204
        row = own_messages(client_for(bo), conversation_id=message["conversation_id"])["results"][0]
        assert (row["content"], row["deleted"]) == ("", True)
        assert client_for(bo).get(f"{CONVERSATIONS}/unread").json()["inbox"] == 0
        assert_error(client_for(ana).patch(url, {"content": "again"}, format="json"), 409, "deleted")

    def test_others_cannot_edit_or_delete(self, ana, bo, cy, send, client_for):
        message = send(ana, "mine", to=bo).json()
        url = f"{MESSAGES}/{message['id']}"
        assert_error(client_for(bo).patch(url, {"content": "yours"}, format="json"), 403, "not_owner")
        assert_error(client_for(bo).delete(url), 403, "not_owner")
        assert_error(client_for(cy).delete(url), 404)
        assert_error(client_for(ana).patch(url, {"content": ""}, format="json"), 400)
        assert_error(client_for(ana).delete(f"{MESSAGES}/nope"), 404)
        assert Message.objects.get().content == "mine"


class TestGroups:
    def test_a_group_of_three(self, ana, bo, cy, client_for, send):
        response = client_for(ana).post(
            CONVERSATIONS, {"title": "Trio", "member_ids": [str(bo.pk), str(cy.pk)]}, format="json"
        )
        assert response.status_code == 201, response.content
        group = response.json()
        assert (group["kind"], group["title"], group["role"]) == ("group", "Trio", "admin")
        send(bo, "hi all", conversation=group["id"])
        for member in (ana, cy):
            rows = client_for(member).get(CONVERSATIONS).json()["results"]
            assert rows[0]["last_message"]["content"] == "hi all"
        statuses = own_messages(client_for(bo), conversation_id=group["id"])["results"]
        assert statuses[0]["status"] == "sent"
        client_for(ana).post(f"{CONVERSATIONS}/{group['id']}/read", {}, format="json")
        assert own_messages(client_for(bo), conversation_id=group["id"])["results"][0]["status"] != "read"
        client_for(cy).post(f"{CONVERSATIONS}/{group['id']}/read", {}, format="json")
        assert own_messages(client_for(bo), conversation_id=group["id"])["results"][0]["status"] == "read"

    def test_rename_add_remove_and_leave(self, ana, bo, cy, client_for, send):
        dee = UserFactory(username="dee")
        group = client_for(ana).post(CONVERSATIONS, {"member_ids": [str(bo.pk)]}, format="json").json()
        url = f"{CONVERSATIONS}/{group['id']}"
        send(ana, "before cy", conversation=group["id"])
        assert_error(client_for(bo).patch(url, {"title": "mine"}, format="json"), 403, "not_admin")
        assert client_for(ana).patch(url, {"title": "Renamed"}, format="json").json()["title"] == "Renamed"
        added = client_for(ana).post(f"{url}/members", {"user_ids": [str(cy.pk), str(dee.pk)]}, format="json")
        assert {m["username"] for m in added.json()["members"]} == {"ana", "bo", "cy", "dee"}
        # History before joining stays private; the line that added them is theirs.
        lines = own_messages(client_for(cy), conversation_id=group["id"])["results"]
        assert [(m["kind"], m["content"]) for m in lines] == [("added", "ana added cy and dee")]
        send(bo, "welcome", conversation=group["id"])
        assert [m["content"] for m in own_messages(client_for(cy), conversation_id=group["id"])["results"]] == [
            "welcome",
            "ana added cy and dee",
        ]
        assert_error(client_for(bo).delete(f"{url}/members/{cy.pk}"), 403, "not_admin")
        assert client_for(ana).delete(f"{url}/members/{dee.pk}").status_code == 204
        assert_error(send(dee, "still here?", conversation=group["id"]), 404)
        assert client_for(ana).delete(f"{url}/members/me").status_code == 204  # the admin leaves
        assert client_for(bo).get(url).json()["role"] == "admin"  # the longest-standing member takes over
        send(bo, "after ana left", conversation=group["id"])
        kept = [m["content"] for m in own_messages(client_for(ana), conversation_id=group["id"])["results"]]
        assert kept == [  # she keeps what she saw, up to her leaving
            "ana left",
            "ana removed dee",
            "welcome",
            "ana added cy and dee",
            "ana renamed the group to “Renamed”",
            "before cy",
        ]
        seen_by_bo = [m["content"] for m in own_messages(client_for(bo), conversation_id=group["id"])["results"]]
        assert seen_by_bo[:3] == ["after ana left", "bo is now an admin", "ana left"]
        assert_error(client_for(ana).get(url), 404)

    def test_group_refusals(self, ana, bo, cy, client_for, block, settings):
        client = client_for(ana)
        assert_error(client.post(CONVERSATIONS, {"member_ids": []}, format="json"), 400)
        assert_error(client.post(CONVERSATIONS, {"member_ids": [str(ana.pk)]}, format="json"), 400)
        assert_error(client.post(CONVERSATIONS, {"member_ids": ["nope"]}, format="json"), 400)
        assert_error(client.post(CONVERSATIONS, {"member_ids": [str(bo.pk)], "title": "x" * 101}, format="json"), 400)
        block(cy, ana)
        assert_error(client.post(CONVERSATIONS, {"member_ids": [str(bo.pk), str(cy.pk)]}, format="json"), 400)
        settings.MESSAGE_GROUP_MAX_MEMBERS = 2
        many = [str(UserFactory().pk) for _ in range(2)]
        assert_error(client.post(CONVERSATIONS, {"member_ids": many}, format="json"), 400)
        direct = client_for(ana).post(MESSAGES, {"content": "x", "receiver_id": str(bo.pk)}, format="json").json()
        assert_error(client.delete(f"{CONVERSATIONS}/{direct['conversation_id']}/members/me"), 400, "not_a_group")


class TestRequests:
    def test_messages_from_strangers_wait_in_requests_until_accepted(self, ana, bo, send, client_for):
        prefs = client_for(bo).put("/api/v1/users/me/message-preferences", {"direct_from": "following"}, format="json")
        assert prefs.json() == {"direct_from": "following"}
        conversation = send(ana, "hello stranger", to=bo).json()["conversation_id"]
        assert client_for(bo).get(CONVERSATIONS).json()["results"] == []
        requests = client_for(bo).get(CONVERSATIONS, {"folder": "requests"}).json()["results"]
        assert [r["id"] for r in requests] == [conversation]
        assert client_for(bo).get(f"{CONVERSATIONS}/unread").json() == {"inbox": 0, "requests": 1}
        accepted = client_for(bo).post(f"{CONVERSATIONS}/{conversation}/accept")
        assert accepted.json()["folder"] == "inbox"
        assert [r["id"] for r in client_for(bo).get(CONVERSATIONS).json()["results"]] == [conversation]

    def test_followed_senders_reach_the_inbox(self, ana, bo, send, client_for):
        client_for(bo).put("/api/v1/users/me/message-preferences", {"direct_from": "following"}, format="json")
        FollowFactory(follower=bo, followed=ana)
        send(ana, "hi", to=bo)
        assert len(client_for(bo).get(CONVERSATIONS).json()["results"]) == 1

    def test_preference_refusals(self, ana, bo, client_for):
        url = "/api/v1/users/me/message-preferences"
        assert client_for(ana).get(url).json() == {"direct_from": "everyone"}
        assert_error(client_for(ana).put(url, {"direct_from": "nobody"}, format="json"), 400)
        assert_error(client_for(ana).get(f"/api/v1/users/{bo.pk}/message-preferences"), 403)
        assert_error(client_for(ana).get(CONVERSATIONS, {"folder": "spam"}), 400)
        assert_error(client_for(ana).get(CONVERSATIONS, {"folder": ""}), 400)


class TestReports:
    def test_a_member_reports_a_message_once(self, ana, bo, cy, send, client_for):
        message = send(ana, "rude", to=bo).json()
        url = f"{MESSAGES}/{message['id']}/reports"
        first = client_for(bo).post(url, {"reason": "harassment"}, format="json")
        again = client_for(bo).post(url, {"reason": "harassment"}, format="json")
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["id"] == again.json()["id"]
        assert_error(client_for(cy).post(url, {"reason": "spam"}, format="json"), 404)
        assert_error(client_for(ana).post(url, {"reason": "spam"}, format="json"), 400, "own_message")
        assert_error(client_for(bo).post(url, {"reason": "bored"}, format="json"), 400)


class TestGroupReceipts:
    """Read ticks went back to "Sent" once members left or were removed (a new user's review)."""

    def test_receipts_count_who_was_there_and_name_the_readers(self, ana, bo, cy, client_for):
        from messaging import services

        group = services.conversation_group_create(creator=ana, title="", member_ids=[str(bo.pk), str(cy.pk)])
        conversation = group.conversation_id
        first, _ = services.message_send(sender=ana, conversation_id=conversation, content="hello")
        services.conversation_read(reader=bo, conversation_id=conversation)

        def seen(content):
            rows = client_for(ana).get(f"/api/v1/users/me/messages?conversation_id={conversation}").json()["results"]
            row = next(r for r in rows if r["content"] == content)
            return row["status"], sorted(row["read_by"])

        assert seen("hello") == ("sent", [str(bo.pk)])  # cy's device hasn't even acknowledged it
        services.conversation_read(reader=cy, conversation_id=conversation)
        assert seen("hello") == ("read", sorted([str(bo.pk), str(cy.pk)]))
        services.member_remove(actor=ana, conversation_id=conversation, user_id=str(cy.pk))
        services.member_remove(actor=bo, conversation_id=conversation, user_id=str(bo.pk))  # bo leaves
        assert seen("hello") == ("read", sorted([str(bo.pk), str(cy.pk)]))  # was "sent"
        services.message_send(sender=ana, conversation_id=conversation, content="anyone?")
        assert seen("anyone?") == ("sent", [])  # nobody else was there
        inbox = client_for(ana).get(CONVERSATIONS).json()["results"][0]["last_message"]
        assert (inbox["content"], inbox["status"]) == ("anyone?", "sent")
