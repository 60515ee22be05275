import pytest

from accounts import services
from accounts.models import Follow, FollowRequest
from tests.factories import BlockFactory, FollowRequestFactory, UserFactory
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db


def follows_url(user):
    return f"/api/v1/users/{user.pk}/follows"


def counts(user):
    user.profile.refresh_from_db()
    return user.profile.followers_count, user.profile.following_count


class TestFollow:
    def test_follow_is_created_once(self, user_api, user, other_user):
        response = user_api.post(follows_url(user), {"followed_user_id": str(other_user.pk)}, format="json")
        assert response.status_code == 201
        assert response.json() == {"followed_user_id": str(other_user.pk), "status": "following"}
        replay = user_api.post(follows_url(user), {"followed_user_id": str(other_user.pk)}, format="json")
        assert replay.status_code == 200
        assert Follow.objects.filter(follower=user, followed=other_user).count() == 1
        assert counts(user) == (0, 1) and counts(other_user) == (1, 0)

    def test_private_account_gets_a_request(self, user_api, user):
        private = UserFactory(private=True)
        for _ in range(2):
            response = user_api.post(follows_url(user), {"followed_user_id": str(private.pk)}, format="json")
            assert response.status_code == 202
            assert response.json()["status"] == "requested"
        assert FollowRequest.objects.filter(requester=user, target=private).count() == 1
        assert not Follow.objects.filter(follower=user).exists()

    def test_unfollow_and_withdraw(self, user_api, user, other_user):
        private = UserFactory(private=True)
        user_api.post(follows_url(user), {"followed_user_id": str(other_user.pk)}, format="json")
        user_api.post(follows_url(user), {"followed_user_id": str(private.pk)}, format="json")
        assert user_api.delete(f"{follows_url(user)}/{other_user.pk}").status_code == 204
        assert user_api.delete(f"{follows_url(user)}/{private.pk}").status_code == 204
        assert user_api.delete(f"{follows_url(user)}/{other_user.pk}").status_code == 204  # idempotent
        assert counts(user) == (0, 0) and counts(other_user) == (0, 0)
        assert not FollowRequest.objects.exists()

    def test_acting_for_someone_else_is_403(self, client_for, user, other_user):
        third = UserFactory()
        response = client_for(other_user).post(follows_url(user), {"followed_user_id": str(third.pk)}, format="json")
        assert_error(response, 403, "not_owner")
        assert_error(client_for(other_user).delete(f"{follows_url(user)}/{third.pk}"), 403, "not_owner")
        assert not Follow.objects.exists()

    def test_bad_targets(self, user_api, user):
        post = lambda body: user_api.post(follows_url(user), body, format="json")  # noqa: E731
        assert_error(post({"followed_user_id": str(user.pk)}), 400, "self_follow")
        assert_error(post({"followed_user_id": "nope"}), 400, "invalid")
        assert_error(post({}), 400, "invalid")
        assert_error(post({"followed_user_id": "00000000-0000-0000-0000-000000000000"}), 404, "not_found")
        assert_error(user_api.post(follows_url(user), "[]", content_type="application/json"), 400)

    def test_blocked_either_way_is_403(self, user_api, user, other_user):
        BlockFactory(blocker=other_user, blocked=user)
        response = user_api.post(follows_url(user), {"followed_user_id": str(other_user.pk)}, format="json")
        assert_error(response, 403, "blocked")
        third = UserFactory()
        BlockFactory(blocker=user, blocked=third)
        assert_error(
            user_api.post(follows_url(user), {"followed_user_id": str(third.pk)}, format="json"), 403, "blocked"
        )

    def test_no_token_is_401(self, api, user, other_user):
        assert_error(api.post(follows_url(user), {"followed_user_id": str(other_user.pk)}, format="json"), 401)


class TestLists:
    def _fans(self, user, n):
        fans = UserFactory.create_batch(n)
        for fan in fans:
            services.follow_create(follower=fan, followed_user_id=user.pk)
        return fans

    def test_followers_cursor_pages_cover_everyone_once(self, api, user):
        fans = self._fans(user, 7)
        seen, next_url = [], f"/api/v1/users/{user.pk}/followers?limit=3"
        while next_url:
            body = api.get(next_url).json()
            assert set(body) == {"results", "next", "previous"}
            assert len(body["results"]) <= 3
            seen += [row["user"]["id"] for row in body["results"]]
            next_url = body["next"]
        assert seen == [str(f.pk) for f in reversed(fans)]

    def test_following_list_and_limit_cap(self, api, user):
        for target in UserFactory.create_batch(3):
            services.follow_create(follower=user, followed_user_id=target.pk)
        body = api.get(f"/api/v1/users/{user.pk}/following?limit=500").json()
        assert len(body["results"]) == 3

    @pytest.mark.parametrize("n", [5, 40])
    def test_list_queries_are_bounded(self, api, user, n, django_assert_max_num_queries):
        self._fans(user, n)
        with django_assert_max_num_queries(4):
            response = api.get(f"/api/v1/users/{user.pk}/followers?limit=50")
        assert len(response.json()["results"]) == n

    def test_private_lists_need_a_follow(self, client_for, user, other_user):
        private = UserFactory(private=True)
        assert_error(client_for(user).get(f"/api/v1/users/{private.pk}/followers"), 403, "private_account")
        assert client_for(private).get(f"/api/v1/users/{private.pk}/followers").status_code == 200
        FollowRequest.objects.create(requester=other_user, target=private)
        services.follow_request_approve(target=private, request_id=FollowRequest.objects.get().pk)
        assert client_for(other_user).get(f"/api/v1/users/{private.pk}/following").status_code == 200

    def test_blocked_people_vanish_from_lists(self, client_for, user, other_user):
        services.follow_create(follower=other_user, followed_user_id=user.pk)
        viewer = UserFactory()
        BlockFactory(blocker=other_user, blocked=viewer)
        body = client_for(viewer).get(f"/api/v1/users/{user.pk}/followers").json()
        assert body["results"] == []

    def test_malformed_cursor(self, api, user):
        assert_error(api.get(f"/api/v1/users/{user.pk}/followers?cursor=bz1hYmM%3D"), 404)

    def test_remove_a_follower(self, client_for, user, other_user):
        services.follow_create(follower=other_user, followed_user_id=user.pk)
        assert client_for(user).delete(f"/api/v1/users/{user.pk}/followers/{other_user.pk}").status_code == 204
        assert counts(user) == (0, 0)
        assert_error(client_for(user).delete(f"/api/v1/users/{user.pk}/followers/{other_user.pk}"), 404)
        assert_error(client_for(other_user).delete(f"/api/v1/users/{user.pk}/followers/{other_user.pk}"), 403)


class TestFollowRequests:
    def test_list_approve_reject(self, client_for):
        owner = UserFactory(private=True)
        first, second = FollowRequestFactory(target=owner), FollowRequestFactory(target=owner)
        api = client_for(owner)
        body = api.get(f"/api/v1/users/{owner.pk}/follow-requests").json()
        assert [row["id"] for row in body["results"]] == [str(second.pk), str(first.pk)]
        assert body["results"][0]["user"]["username"] == second.requester.username

        assert api.post(f"/api/v1/users/{owner.pk}/follow-requests/{first.pk}/approve").status_code == 204
        assert api.post(f"/api/v1/users/{owner.pk}/follow-requests/{second.pk}/reject").status_code == 204
        assert Follow.objects.filter(follower=first.requester, followed=owner).exists()
        assert not Follow.objects.filter(follower=second.requester).exists()
        assert counts(owner) == (1, 0)
        # Replays find nothing left to decide.
        assert_error(api.post(f"/api/v1/users/{owner.pk}/follow-requests/{first.pk}/approve"), 404)

    def test_someone_elses_requests(self, client_for, user):
        request = FollowRequestFactory()
        api = client_for(user)
        assert_error(api.get(f"/api/v1/users/{request.target.pk}/follow-requests"), 403)
        assert_error(api.post(f"/api/v1/users/{request.target.pk}/follow-requests/{request.pk}/approve"), 403)
        # Through one's own path, another user's request id is simply not found.
        assert_error(api.post(f"/api/v1/users/{user.pk}/follow-requests/{request.pk}/approve"), 404)
        assert FollowRequest.objects.filter(pk=request.pk).exists()


class TestBlocksAndMutes:
    def test_block_ends_follows_both_ways(self, user_api, user, other_user):
        services.follow_create(follower=user, followed_user_id=other_user.pk)
        services.follow_create(follower=other_user, followed_user_id=user.pk)
        response = user_api.post(
            f"/api/v1/users/{user.pk}/blocks", {"blocked_user_id": str(other_user.pk)}, format="json"
        )
        assert response.status_code == 201
        assert (
            user_api.post(
                f"/api/v1/users/{user.pk}/blocks", {"blocked_user_id": str(other_user.pk)}, format="json"
            ).status_code
            == 200
        )
        assert not Follow.objects.exists()
        assert counts(user) == (0, 0) and counts(other_user) == (0, 0)
        body = user_api.get(f"/api/v1/users/{user.pk}/blocks").json()
        assert [row["user"]["id"] for row in body["results"]] == [str(other_user.pk)]
        assert user_api.get(f"/api/v1/users/{other_user.pk}").json()["relationship"]["blocking"] is True
        assert user_api.delete(f"/api/v1/users/{user.pk}/blocks/{other_user.pk}").status_code == 204
        assert user_api.get(f"/api/v1/users/{user.pk}/blocks").json()["results"] == []

    def test_mutes(self, user_api, user, other_user):
        assert (
            user_api.post(
                f"/api/v1/users/{user.pk}/mutes", {"muted_user_id": str(other_user.pk)}, format="json"
            ).status_code
            == 201
        )
        assert (
            user_api.post(
                f"/api/v1/users/{user.pk}/mutes", {"muted_user_id": str(other_user.pk)}, format="json"
            ).status_code
            == 200
        )
        assert len(user_api.get(f"/api/v1/users/{user.pk}/mutes").json()["results"]) == 1
        assert user_api.get(f"/api/v1/users/{other_user.pk}").json()["relationship"]["muting"] is True
        assert user_api.delete(f"/api/v1/users/{user.pk}/mutes/{other_user.pk}").status_code == 204

    def test_bad_input_and_non_owner(self, user_api, client_for, user, other_user):
        assert_error(
            user_api.post(f"/api/v1/users/{user.pk}/blocks", {"blocked_user_id": str(user.pk)}, format="json"),
            400,
            "self_block",
        )
        assert_error(user_api.post(f"/api/v1/users/{user.pk}/mutes", {"muted_user_id": "x"}, format="json"), 400)
        assert_error(
            user_api.post(f"/api/v1/users/{user.pk}/mutes", {"muted_user_id": str(user.pk)}, format="json"),
            400,
            "self_mute",
        )
        assert_error(client_for(other_user).get(f"/api/v1/users/{user.pk}/blocks"), 403)
        assert_error(client_for(other_user).get(f"/api/v1/users/{user.pk}/mutes"), 403)
        response = client_for(other_user).post(
            f"/api/v1/users/{user.pk}/blocks", {"blocked_user_id": str(other_user.pk)}, format="json"
        )
        assert_error(response, 403)


@pytest.mark.parametrize("n", [3, 30])
@pytest.mark.parametrize("kind", ["follow-requests", "blocks", "mutes"])
def test_own_lists_run_a_bounded_number_of_queries(client_for, kind, n, django_assert_max_num_queries):
    owner = UserFactory(private=True)
    for other in UserFactory.create_batch(n):
        if kind == "follow-requests":
            services.follow_create(follower=other, followed_user_id=owner.pk)
        elif kind == "blocks":
            services.block_create(blocker=owner, blocked_user_id=other.pk)
        else:
            services.mute_create(muter=owner, muted_user_id=other.pk)
    client = client_for(owner)
    with django_assert_max_num_queries(4):
        response = client.get(f"/api/v1/users/{owner.pk}/{kind}?limit=50")
    assert len(response.json()["results"]) == n
