"""GET /api/v1/trends and GET /api/v1/users/{user_id}/suggestions."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as accounts_services
from posts import services as posts_services
from search import trends
from search.tasks import compute_trends
from tests.factories import FollowFactory, UserFactory
from tests.posts.factories import HashtagFactory, PostFactory
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

TRENDS = "/api/v1/trends"


def suggestions_url(user):
    return f"/api/v1/users/{user.pk}/suggestions"


def trend(name, authors, per_author=1):
    tag = HashtagFactory(name=name)
    for author in authors * per_author:
        PostFactory(author=author, published_at=timezone.now() - timedelta(minutes=5)).hashtags.add(tag)


def test_done_when_a_burst_trends_and_suggestions_show_friends_of_friends(
    ana, bo, cy, client_for, django_capture_on_commit_callbacks
):
    dan, eve = UserFactory(username="dan"), UserFactory(username="eve")
    with django_capture_on_commit_callbacks(execute=True):
        for author in (bo, cy, dan):
            posts_services.post_create(author=author, content_type="text", content="Lift-off! #Launch")
        posts_services.post_create(author=eve, content_type="text", content="#quiet")
        for follower, followed in [(ana, bo), (ana, cy), (bo, dan), (cy, dan), (bo, eve)]:
            accounts_services.follow_create(follower=follower, followed_user_id=followed.pk)
    compute_trends.delay()

    body = APIClient().get(TRENDS).json()
    assert [(row["name"], row["posts_last_hour"], row["authors_last_hour"]) for row in body["results"]] == [
        ("launch", 3, 3)
    ]
    body = client_for(ana).get("/api/v1/users/me/suggestions").json()
    assert [(row["user"]["username"], row["mutual_count"], row["mutuals"]) for row in body["results"]] == [
        ("dan", 2, ["bo", "cy"]),
        ("eve", 1, ["bo"]),
    ]


class TestTrends:
    def test_shape_order_and_limit(self, db):
        authors = UserFactory.create_batch(3)
        trend("launch", authors, per_author=2)
        trend("café", authors)
        trends.compute()
        body = APIClient().get(TRENDS).json()
        assert body == {
            "results": [
                {
                    "name": "launch",
                    "url": "http://testserver/tags/launch/",
                    "posts_last_hour": 6,
                    "authors_last_hour": 3,
                    "score": 6.0,
                },
                {
                    "name": "café",
                    "url": "http://testserver/tags/caf%C3%A9/",
                    "posts_last_hour": 3,
                    "authors_last_hour": 3,
                    "score": 3.0,
                },
            ]
        }
        assert [row["name"] for row in APIClient().get(TRENDS, {"limit": 1}).json()["results"]] == ["launch"]

    def test_hidden_trends_are_not_listed(self, db, client_for):
        trend("spam", UserFactory.create_batch(3))
        trends.compute()
        trends.hide(name="spam", moderator=UserFactory())
        assert client_for(UserFactory()).get(TRENDS).json() == {"results": []}

    @pytest.mark.parametrize(
        "params, field",
        [({"limit": 0}, "limit"), ({"limit": -1}, "limit"), ({"limit": "ten"}, "limit"), ({"sort": "new"}, "sort")],
    )
    def test_bad_params(self, db, params, field):
        error = assert_error(APIClient().get(TRENDS, params), 400, "invalid")
        assert set(error["fields"]) == {field}

    def test_bounded_queries(self, db, django_assert_max_num_queries):
        for i in range(5):
            trend(f"tag{i}", UserFactory.create_batch(3))
        trends.compute()
        with django_assert_max_num_queries(1):
            assert len(APIClient().get(TRENDS, {"limit": 50}).json()["results"]) == 5


class TestSuggestions:
    def test_shape(self, ana, bo, cy, client_for):
        FollowFactory(follower=ana, followed=bo)
        FollowFactory(follower=bo, followed=cy)
        accounts_services.profile_update(user=ana, interests=["jazz"])
        fay = UserFactory(username="fay")
        accounts_services.profile_update(user=fay, display_name="Fay", interests=["jazz"])
        response = client_for(ana).get(suggestions_url(ana))
        assert response.status_code == 200
        assert response.json() == {
            "results": [
                {
                    "user": {
                        "id": str(cy.pk),
                        "username": "cy",
                        "display_name": "",
                        "avatar_url": None,
                        "is_private": False,
                    },
                    "reason": "followed_by_people_you_follow",
                    "mutual_count": 1,
                    "mutuals": ["bo"],
                },
                {
                    "user": {
                        "id": str(fay.pk),
                        "username": "fay",
                        "display_name": "Fay",
                        "avatar_url": None,
                        "is_private": False,
                    },
                    "reason": "shares_your_interests",
                    "mutual_count": 0,
                    "mutuals": [],
                },
            ]
        }
        limited = client_for(ana).get("/api/v1/users/me/suggestions", {"limit": 1}).json()["results"]
        assert [row["user"]["username"] for row in limited] == ["cy"]

    def test_only_your_own(self, ana, bo, client_for):
        assert_error(client_for(ana).get(suggestions_url(bo)), 403, "not_owner")

    def test_anonymous(self, ana):
        assert_error(APIClient().get(suggestions_url(ana)), 401)
        assert_error(APIClient().get("/api/v1/users/me/suggestions"), 401)

    @pytest.mark.parametrize(
        "params, field",
        [({"limit": 0}, "limit"), ({"limit": -1}, "limit"), ({"limit": "x"}, "limit"), ({"reason": "x"}, "reason")],
    )
    def test_bad_params(self, ana, client_for, params, field):
        error = assert_error(client_for(ana).get(suggestions_url(ana), params), 400, "invalid")
        assert set(error["fields"]) == {field}

    def test_bounded_queries(self, ana, client_for, django_assert_max_num_queries):
        friends = UserFactory.create_batch(5)
        for friend in friends:
            FollowFactory(follower=ana, followed=friend)
            for other in UserFactory.create_batch(4):
                FollowFactory(follower=friend, followed=other)
        client = client_for(ana)
        # the caller, last_active, then the selector's three
        with django_assert_max_num_queries(5):
            assert len(client.get(suggestions_url(ana), {"limit": 50}).json()["results"]) == 20
