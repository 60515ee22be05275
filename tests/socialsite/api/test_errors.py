import pytest
from django.test import Client

from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_api_path_is_json_404(api, settings, debug):
    settings.DEBUG = debug  # DEBUG's technical 404 page must not answer API clients either
    assert_error(api.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(api.get("/api/v2/users/me"), 404, "not_found")
    assert_error(api.get("/api/v1/users/garbage"), 404, "not_found")


def test_wrong_method_is_405_in_the_envelope(user_api):
    assert_error(user_api.put("/api/v1/auth/jwt/login", {}, format="json"), 405, "method_not_allowed")


def test_unsupported_media_type(api):
    response = api.post("/api/v1/auth/jwt/login", "<xml/>", content_type="application/xml")
    assert_error(response, 415, "unsupported_media_type")


def test_inputs_take_the_json_types_the_schema_names(user_api):
    """DRF would take 5 for "5" and "yes" for true; the schema says a string and a boolean."""
    wrong = {
        ("/api/v1/posts", "post"): {"content": 5},
        ("/api/v1/users/me", "patch"): {"is_private": "yes"},
        ("/api/v1/users/me", "put"): {"interests": ["cats", 7]},
    }
    for (path, method), body in wrong.items():
        response = getattr(user_api, method)(path, body, format="json")
        assert_error(response, 400, "invalid")
        (name,) = body
        assert response.json()["error"]["fields"][name][0].startswith("Must be"), response.json()
    assert user_api.patch("/api/v1/users/me", {"is_private": True}, format="json").json()["is_private"] is True


def test_bodies_are_json_only_uploads_multipart(user_api):
    """A form body is refused rather than half-parsed ("false" is a string there, not a boolean)."""
    form = user_api.put("/api/v1/notifications/preferences", {"like": "false"}, format="multipart")
    assert_error(form, 415, "unsupported_media_type")
    urlencoded = user_api.post("/api/v1/posts", "content=hi", content_type="application/x-www-form-urlencoded")
    assert_error(urlencoded, 415, "unsupported_media_type")
    as_json = user_api.post("/api/v1/media", {"alt_text": "x"}, format="json")
    assert_error(as_json, 415, "unsupported_media_type")


def test_unhandled_errors_never_leak_a_traceback(settings):
    settings.ROOT_URLCONF = "tests.socialsite.api.boom_urls"
    client = Client(raise_request_exception=False)
    for path in ("/api/v1/boom", "/api/v1/plain-boom"):
        response = client.get(path)
        assert response.status_code == 500
        assert response["Content-Type"].startswith("application/json")
        assert response.json() == {"error": {"code": "server_error", "message": "Something went wrong on our side."}}
        assert b"secret internals" not in response.content and b"Traceback" not in response.content


def test_web_404_is_html(client):
    response = client.get("/definitely/not/here/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_api_is_throttled_per_token(user_api, monkeypatch):
    from socialsite.api.throttling import UserAPIThrottle

    monkeypatch.setattr(UserAPIThrottle, "THROTTLE_RATES", {"api": "3/5m"})
    for _ in range(3):
        assert user_api.get("/api/v1/users/me").status_code == 200
    response = user_api.get("/api/v1/users/me")
    assert_error(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 300


def test_oversized_json_body_is_refused_in_the_envelope(api):
    body = '{"username": "' + "x" * 3_000_000 + '", "password": "p"}'
    response = api.post("/api/v1/auth/jwt/login", body, content_type="application/json")
    assert_error(response, 413)


def test_deeply_nested_or_non_object_json(api):
    assert_error(api.post("/api/v1/auth/register", "[1, 2]", content_type="application/json"), 400, "invalid")
    nested = "[" * 5000 + "]" * 5000
    assert_error(api.post("/api/v1/auth/register", nested, content_type="application/json"), 400)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_unknown_api_path_with_a_write_method_is_json_404_not_the_csrf_page(method):
    """The fuzzer got Django's HTML CSRF page for 1,063 such requests."""
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)("/api/v1/no-such-thing", "{}", content_type="application/json")
    assert response["Content-Type"].startswith("application/json")
    assert_error(response, 404, "not_found")


def test_a_csrf_failure_under_api_is_json(user):
    """Session callers without the token, on a view that checks it (DRF's session auth answers itself)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/api/v1/posts", "{}", content_type="application/json")
    assert response["Content-Type"].startswith("application/json")
    assert response.status_code == 403 and "error" in response.json()


def test_a_csrf_failure_on_a_page_is_html(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/settings/sessions/")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html") and b"Reload and try again" in response.content


@pytest.mark.parametrize("debug", [False, True])
def test_the_sites_own_404_page_in_every_mode(client, settings, debug):
    """A new user met Django's technical 404 page: DEBUG is on by default under make run."""
    settings.DEBUG = debug
    response = client.get("/no/such/page/")
    assert response.status_code == 404 and b"Nothing here." in response.content
    assert b"URLconf" not in response.content and b"DEBUG = True" not in response.content
    settings.DEBUG_ERROR_PAGES = True
    if debug:
        assert b"DEBUG = True" in client.get("/no/such/page/").content
