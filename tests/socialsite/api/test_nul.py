"""A NUL character anywhere is a 400, never a 500 (PostgreSQL refuses NUL in text; the fuzzer
found 500s on these with DATABASE_URL set)."""

import pytest

from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

API_PATHS = [
    "/api/v1/hashtags/a%00b/posts",
    "/api/v1/search?query=ana&type=post&author=a%00",
    "/api/v1/search?query=a%00na",
    "/api/v1/users/me?x%00=1",
]
PAGES = ["/tags/a%00b/", "/u/a%00/", "/u/a%00/followers/", "/u/a%00/following/", "/search/?q=x&author=a%00"]


@pytest.mark.parametrize("path", API_PATHS)
def test_api_paths_and_queries(user_api, path):
    error = assert_error(user_api.get(path), 400, "bad_request")
    assert "NUL" in error["message"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_answer_a_400_page(client, user, path):
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html") and b"NUL characters" in response.content


@pytest.mark.parametrize(
    "body",
    [
        {"profile_info": {"city": "Kyi\u0000v"}},
        {"profile_info": {"ci\u0000ty": "Kyiv"}},
        {"display_name": "ana\u0000"},
        {"interests": ["cats", "d\u0000gs"]},
    ],
)
def test_json_bodies(user_api, body):
    error = assert_error(user_api.patch("/api/v1/users/me", body, format="json"), 400)
    assert error["code"] in ("parse_error", "invalid")


def test_an_escaped_backslash_is_just_text(user_api):
    response = user_api.patch("/api/v1/users/me", {"bio": "a literal \\u0000 in prose"}, format="json")
    assert response.status_code == 200 and response.json()["bio"] == "a literal \\u0000 in prose"
