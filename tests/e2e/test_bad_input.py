"""Bad input over a real Daphne: every /api/ answer is JSON in the envelope, whatever arrives."""

import pytest
import requests

from tests.e2e.conftest import register_and_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

MALFORMED = [
    ("multipart/form-data; boundary=xyz", b"--xyz\r\nthis is not a part\r\n"),
    ("multipart/form-data; boundary=xyz", b"garbage with no boundary at all"),
    ("multipart/form-data", b"--x\r\n\r\n"),
]


@pytest.mark.parametrize("content_type, body", MALFORMED)
def test_a_malformed_multipart_body_gets_the_envelope(daphne, content_type, body):
    """Twisted used to answer these itself: a bare 400 with no body, before Django."""
    ana = register_and_login(daphne.url)
    # The uploads take multipart and can't parse it (400); everything else takes JSON only (415).
    for method, path, headers, status, codes in (
        ("POST", "/api/v1/media", ana.auth, 400, ("parse_error", "invalid")),
        ("PUT", "/api/v1/users/me/avatar", ana.auth, 400, ("parse_error", "invalid")),
        ("POST", "/api/v1/auth/jwt/login", {}, 415, ("unsupported_media_type",)),
    ):
        response = requests.request(
            method, f"{daphne.url}{path}", data=body, headers={**headers, "Content-Type": content_type}, timeout=15
        )
        assert response.status_code == status, (path, response.status_code, response.text)
        assert response.headers["Content-Type"].startswith("application/json"), response.text
        assert response.json()["error"]["code"] in codes, response.text


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_an_unknown_api_path_is_a_json_404_for_every_method(daphne, method):
    response = requests.request(method, f"{daphne.url}/api/v1/not-a-thing", json={}, timeout=15)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", response.text
