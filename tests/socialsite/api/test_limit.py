"""One `?limit=` rule for every list (docs/api.md "Lists"): absent is the default, above the
maximum is the maximum, anything but a whole number from 1 is 400 `invalid` naming `limit`.
The review found three: search and discovery answered 400 where other lists clamped or
silently used the default."""

import pytest

from accounts import services as account_services
from tests.factories import UserFactory
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

LISTS = [
    ("/api/v1/users/me/followers", 50),
    ("/api/v1/users/me/posts", 50),
    ("/api/v1/feed", 50),
    ("/api/v1/users/me/notifications", 50),
    ("/api/v1/conversations", 50),
    ("/api/v1/hashtags/cats/posts", 50),
    ("/api/v1/search?query=fan", 50),
    ("/api/v1/search?query=fan&type=user", 50),
    ("/api/v1/trends", 50),
    ("/api/v1/explore/posts", 50),
    ("/api/v1/users/me/suggestions", 50),
    ("/api/v1/search/autocomplete?query=fan&type=user", 20),
]


def with_limit(url, value):
    return f"{url}{'&' if '?' in url else '?'}limit={value}"


@pytest.fixture
def star(client_for):
    star = UserFactory(username="star")
    for n in range(3):
        account_services.follow_create(follower=UserFactory(username=f"fan{n}"), followed_user_id=star.pk)
    return client_for(star)


@pytest.mark.parametrize("url, most", LISTS)
def test_above_the_maximum_is_the_maximum(star, url, most):
    response = star.get(with_limit(url, most + 1))
    assert response.status_code == 200, response.content
    assert star.get(with_limit(url, 10**6)).status_code == 200


@pytest.mark.parametrize("url, most", LISTS)
@pytest.mark.parametrize("value", ["0", "-1", "ten", "null", "", "1.5"])
def test_anything_but_a_whole_number_from_1_is_a_400(star, url, most, value):
    error = assert_error(star.get(with_limit(url, value)), 400, "invalid")
    assert set(error["fields"]) == {"limit"}


def test_a_page_holds_what_limit_asks(star):
    body = star.get("/api/v1/users/me/followers?limit=2").json()
    assert len(body["results"]) == 2 and body["next"]
    assert len(star.get("/api/v1/users/me/followers?limit=51").json()["results"]) == 3
