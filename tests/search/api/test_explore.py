"""GET /api/v1/explore/posts and GET/PUT /api/v1/users/me/interests."""

import threading

import pytest
from django.db import connection

from accounts.models import Interest
from posts.models import Post
from tests.factories import BlockFactory, UserFactory
from tests.posts.factories import PostFactory, busy_posts
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

EXPLORE = "/api/v1/explore/posts"
INTERESTS = "/api/v1/users/me/interests"
ONBOARDING = "/api/v1/users/me/onboarding"


class TestExplorePosts:
    def test_signed_out_sees_public_posts_by_engagement_paged_by_cursor(self, api, bo):
        posts = [PostFactory(author=bo, content=f"p{i}", likes_count=i) for i in range(5)]
        PostFactory(author=bo, content="followers", likes_count=99, visibility=Post.Visibility.FOLLOWERS)
        first = api.get(EXPLORE, {"limit": 3}).json()
        assert set(first) == {"results", "next", "previous"}
        assert [row["content"] for row in first["results"]] == ["p4", "p3", "p2"]
        assert all(isinstance(row["id"], str) for row in first["results"])
        second = api.get(first["next"]).json()
        assert [row["content"] for row in second["results"]] == ["p1", "p0"]
        assert second["next"] is None and second["previous"]
        assert len(posts) == 5

    def test_signed_in_never_sees_blocked_authors(self, client_for, ana, bo, cy):
        BlockFactory(blocker=cy, blocked=ana)
        PostFactory(author=bo, content="by bo")
        PostFactory(author=cy, content="by cy")
        rows = client_for(ana).get(EXPLORE).json()["results"]
        assert [row["content"] for row in rows] == ["by bo"]

    def test_malformed_and_unknown_parameters(self, api):
        assert_error(api.get(EXPLORE, {"limit": "many"}), 400)
        assert_error(api.get(EXPLORE, {"cursor": "not-a-cursor"}), 404)
        assert_error(api.get(EXPLORE, {"user_id": "x"}), 400)
        assert api.post(EXPLORE).status_code == 405

    def test_queries_are_bounded(self, api, django_assert_max_num_queries):
        busy_posts(UserFactory(), 20)
        with django_assert_max_num_queries(12):
            response = api.get(EXPLORE, {"limit": 20})
        assert len(response.json()["results"]) == 20


class TestInterests:
    def test_get_and_put_replace_normalized_names(self, user_api, settings):
        body = user_api.get(INTERESTS).json()
        assert body == {"interests": [], "suggested": settings.ONBOARDING_INTERESTS, "onboarded_at": None}
        response = user_api.put(INTERESTS, {"interests": ["Jazz", " board   games", "jazz"]}, format="json")
        assert response.status_code == 200
        assert response.json()["interests"] == ["board games", "jazz"]
        # Replayed: the same answer, nothing new made.
        again = user_api.put(INTERESTS, {"interests": ["Jazz", " board   games", "jazz"]}, format="json")
        assert again.json() == response.json() and Interest.objects.count() == 2
        assert user_api.put(INTERESTS, {"interests": [" ", "\u001c"]}, format="json").json()["interests"] == []

    def test_refusals_use_the_envelope(self, api, user_api, user, other_user, client_for):
        assert_error(api.get(INTERESTS), 401)
        assert_error(client_for(other_user).get(f"/api/v1/users/{user.pk}/interests"), 403, "not_owner")
        assert_error(user_api.put(INTERESTS, {"interests": "jazz"}, format="json"), 400)
        assert_error(user_api.put(INTERESTS, {}, format="json"), 400)
        assert_error(user_api.put(INTERESTS, {"interests": [0]}, format="json"), 400)  # not a string
        assert_error(user_api.put(INTERESTS, {"interests": ["x" * 41]}, format="json"), 400)
        assert_error(user_api.put(INTERESTS, {"interests": [f"i{n}" for n in range(21)]}, format="json"), 400)
        assert_error(user_api.put(INTERESTS, b"{not json", content_type="application/json"), 400)


class TestOnboarding:
    def test_done_once_and_replayed(self, user_api):
        first = user_api.post(ONBOARDING)
        assert first.status_code == 200 and first.json()["onboarded_at"]
        assert user_api.post(ONBOARDING).json() == first.json()  # replayed: the first time is kept
        assert user_api.get(INTERESTS).json()["onboarded_at"] == first.json()["onboarded_at"]

    def test_refusals_use_the_envelope(self, api, user_api, user, other_user, client_for):
        assert_error(api.post(ONBOARDING), 401)
        assert_error(client_for(other_user).post(f"/api/v1/users/{user.pk}/onboarding"), 403, "not_owner")
        assert_error(user_api.get(ONBOARDING), 405)


@pytest.mark.django_db(transaction=True)
def test_concurrent_puts_leave_one_whole_list(client_for):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers; the row lock is what PostgreSQL needs")
    user = UserFactory()
    lists = [["jazz", "chess"], ["film", "poetry", "travel"]]
    answers = []

    def put(names):
        try:
            answers.append(client_for(user).put(INTERESTS, {"interests": names}, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=put, args=(names,)) for names in lists]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200, 200]
    assert sorted(user.profile.interests.values_list("name", flat=True)) in [sorted(names) for names in lists]
