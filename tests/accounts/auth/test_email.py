"""Email: sign-up (web form and API), confirmation links, mandatory verification, password reset."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from accounts.models import Profile
from tests.accounts.auth.mail import confirmation_path, password_reset_path
from tests.factories import PASSWORD, UserFactory

User = get_user_model()

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-long-passphrase-42"


def jwt_login(api, username, password):
    return api.post("/api/v1/auth/jwt/login", {"username": username, "password": password}, format="json")


def confirm(client, message):
    """Open the link from the email (a page with a form) and press its button."""
    path = confirmation_path(message)
    page = client.get(path)
    assert page.status_code == 200
    assert b"<form" in page.content
    response = client.post(path)
    assert response.status_code == 302
    return response


def register(api, django_capture_on_commit_callbacks, **overrides):
    body = {"email": "eve@example.com", "username": "eve", "password": PASSWORD, **overrides}
    with django_capture_on_commit_callbacks(execute=True):
        return api.post("/api/v1/auth/register", body, format="json")


def test_web_signup_sends_a_confirmation_link_that_confirms(client, settings, mailoutbox):
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    response = client.post(
        "/accounts/signup/",
        {"email": "fay@example.com", "username": "fay", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == 302
    user = User.objects.get(username="fay")
    assert Profile.objects.filter(user=user).exists()
    assert client.session["_auth_user_id"] == str(user.pk)
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.primary, address.verified) == ("fay@example.com", True, False)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["fay@example.com"]

    confirm(client, mailoutbox[0])

    address.refresh_from_db()
    assert address.verified


def test_web_signup_with_mandatory_verification_waits_for_the_link(client, api, settings, mailoutbox):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    response = client.post(
        "/accounts/signup/",
        {"email": "fay@example.com", "username": "fay", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session
    assert_error(jwt_login(api, "fay", PASSWORD), 403, "email_unverified")

    confirm(client, mailoutbox[0])

    assert jwt_login(api, "fay", PASSWORD).status_code == 200


def test_api_register_sends_a_confirmation_link_that_confirms(
    client, api, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"

    response = register(api, django_capture_on_commit_callbacks)

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "active"
    user = User.objects.get(username="eve")
    assert Profile.objects.filter(user=user).exists()
    assert [m.to for m in mailoutbox] == [["eve@example.com"]]
    assert jwt_login(api, "eve", PASSWORD).status_code == 200

    confirm(client, mailoutbox[0])

    assert EmailAddress.objects.get(user=user).verified


def test_mandatory_verification_blocks_jwt_login_until_the_link_is_used(
    client, api, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"

    response = register(api, django_capture_on_commit_callbacks)

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending_verification"
    assert_error(jwt_login(api, "eve", PASSWORD), 403, "email_unverified")
    assert_error(jwt_login(api, "eve@example.com", PASSWORD), 403, "email_unverified")

    confirm(client, mailoutbox[0])

    response = jwt_login(api, "eve", PASSWORD)
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
    me = api.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")
    assert me.json()["email_verified"] is True


def test_a_used_confirmation_link_cannot_confirm_someone_else(
    client, settings, mailoutbox, django_capture_on_commit_callbacks, api
):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    register(api, django_capture_on_commit_callbacks)
    path = confirmation_path(mailoutbox[0])

    response = client.post(path.replace(path.rstrip("/").rsplit("/", 1)[-1], "tampered-key"))

    assert response.status_code == 404
    assert not EmailAddress.objects.get(email="eve@example.com").verified


def test_password_reset_link_sets_a_password_that_works_for_jwt_login(client, api, mailoutbox):
    user = UserFactory(email="gus@example.com")

    response = client.post("/accounts/password/reset/", {"email": "gus@example.com"})

    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["gus@example.com"]
    key_page = client.get(password_reset_path(mailoutbox[0]))
    # allauth moves the key out of the URL into the session, then shows the form.
    assert key_page.status_code == 302
    set_password_path = key_page["Location"]
    assert client.get(set_password_path).status_code == 200
    response = client.post(set_password_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert jwt_login(api, user.username, NEW_PASSWORD).status_code == 200
    assert jwt_login(api, user.username, PASSWORD).status_code == 401

    # The link is single-use.
    assert client.get(password_reset_path(mailoutbox[0]), follow=True).context["token_fail"]


def test_password_reset_for_an_unknown_address_sends_no_reset_link(client, mailoutbox):
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})

    assert response.status_code == 302
    for message in mailoutbox:
        assert "/accounts/password/reset/key/" not in message.body


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


def test_the_email_names_the_address_the_site_was_reached_at(client, api, settings, mailoutbox):
    """make run on another port sent mail naming 127.0.0.1:8000 (the Site row)."""
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    client.post(
        "/accounts/signup/",
        {"email": "gil@example.com", "username": "gil", "password1": PASSWORD, "password2": PASSWORD},
        HTTP_HOST="127.0.0.1:8123",
    )
    body = mailoutbox[0].body
    assert "127.0.0.1:8123" in body and "127.0.0.1:8000" not in body


def test_changing_the_email_replaces_the_old_address_once_the_new_one_is_confirmed(client, api, mailoutbox):
    """The old address stayed attached and could still sign in."""
    user = UserFactory(email="old@example.com")
    EmailAddress.objects.create(user=user, email="old@example.com", primary=True, verified=True)
    client.force_login(user)
    response = client.post("/accounts/email/", {"action_add": "", "email": "new@example.com"})
    assert response.status_code in (200, 302), response.content
    assert sorted(EmailAddress.objects.filter(user=user).values_list("email", flat=True)) == [
        "new@example.com",
        "old@example.com",
    ]
    confirm(client, mailoutbox[-1])
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "primary", "verified")) == [
        ("new@example.com", True, True)
    ]
    user.refresh_from_db()
    assert user.email == "new@example.com"
    old = api.post("/api/v1/auth/jwt/login", {"login": "old@example.com", "password": PASSWORD}, format="json")
    assert old.status_code == 401
    new = api.post("/api/v1/auth/jwt/login", {"login": "new@example.com", "password": PASSWORD}, format="json")
    assert new.status_code == 200
