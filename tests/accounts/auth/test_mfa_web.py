"""Two-factor authentication on the web: allauth.mfa's pages in Settings, and every sign-in path
(password, SMS code, Google, passkey) through its 2FA step. Only the providers' edges are fakes:
the SMS backend, Google's HTTP endpoints, and a software security key (tests/accounts/auth/webauthn_key.py)."""

import datetime
import json
import re

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client

from tests.accounts.api.test_mfa import answer, challenge_for
from tests.accounts.auth.conftest import google_claims
from tests.accounts.auth.mfa import mid_totp_period, totp_code, verified_user, with_totp
from tests.accounts.auth.test_phone import PHONE, sms_code
from tests.accounts.auth.test_social_web import google_callback
from tests.accounts.auth.webauthn_key import SoftwareKey, page_js_data
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
AUTHENTICATE = "/accounts/2fa/authenticate/"


@pytest.fixture(autouse=True)
def frozen():
    with mid_totp_period() as clock:
        yield clock


def signed_in(client):
    return client.session.get("_auth_user_id")


def password_login(client, user):
    return client.post(LOGIN, {"login": user.username, "password": PASSWORD})


def reauthenticate(client):
    """allauth asks for the password again before 2FA settings change (MFA_REAUTHENTICATION_REQUIRED)."""
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 302, response.content


def test_settings_link_to_two_factor_authentication(client, mfa_user):
    client.force_login(mfa_user.user)
    page = client.get("/settings/profile/").content.decode()
    assert 'href="/accounts/2fa/">Two-factor authentication</a>' in page
    response = client.get("/accounts/2fa/")
    assert response.status_code == 200
    content = response.content.decode()
    assert 'class="card auth-card"' in content  # the site's layout, as the email and phone pages
    assert "Authenticator App" in content and "Recovery Codes" in content and "Security Keys" in content


def test_turning_on_an_authenticator_app_then_signing_in_with_it(client, frozen):
    user = verified_user()
    assert password_login(client, user).status_code == 302
    assert client.get("/accounts/2fa/totp/activate/")["Location"].startswith("/accounts/reauthenticate/")
    reauthenticate(client)

    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    assert b'src="data:image/svg+xml;base64,' in page.content  # the QR code, allowed by the CSP's img-src
    secret = page.context["form"].secret
    assert (
        client.post(
            "/accounts/2fa/totp/activate/", {"code": "000000" if totp_code(secret) != "000000" else "1"}
        ).status_code
        == 200
    )
    assert not Authenticator.objects.filter(user=user).exists()

    response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})

    assert response.status_code == 302
    assert set(Authenticator.objects.filter(user=user).values_list("type", flat=True)) == {"totp", "recovery_codes"}

    # Next sign-in: the password alone doesn't sign in; the app's code does.
    frozen.tick(datetime.timedelta(seconds=30))
    browser = Client()
    response = password_login(browser, user)
    assert response.status_code == 302 and response["Location"] == AUTHENTICATE
    assert signed_in(browser) is None
    assert browser.get(AUTHENTICATE).status_code == 200

    response = browser.post(AUTHENTICATE, {"code": totp_code(secret)})

    assert response.status_code == 302
    assert signed_in(browser) == str(user.pk)


def test_an_unverified_email_address_cannot_turn_on_2fa(client):
    from allauth.account.models import EmailAddress

    from tests.factories import UserFactory

    user = UserFactory()  # signed up, the confirmation link not opened yet
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)
    password_login(client, user)
    reauthenticate(client)
    response = client.get("/accounts/2fa/totp/activate/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/"
    assert not Authenticator.objects.filter(user=user).exists()


def test_a_replayed_totp_code_does_not_sign_in(mfa_user):
    code = mfa_user.code()
    first, second = Client(), Client()
    password_login(first, mfa_user.user)
    first.post(AUTHENTICATE, {"code": code})
    assert signed_in(first) == str(mfa_user.user.pk)

    password_login(second, mfa_user.user)
    response = second.post(AUTHENTICATE, {"code": code})

    assert response.status_code == 200
    assert "Incorrect code" in response.content.decode()
    assert signed_in(second) is None


def test_a_wrong_code_does_not_sign_in(client, mfa_user):
    password_login(client, mfa_user.user)
    client.post(AUTHENTICATE, {"code": "000000" if mfa_user.code() != "000000" else "111111"})
    assert signed_in(client) is None


def test_a_recovery_code_signs_in_once(mfa_user):
    recovery = mfa_user.recovery_codes[0]
    first, second = Client(), Client()
    password_login(first, mfa_user.user)
    first.post(AUTHENTICATE, {"code": recovery})
    assert signed_in(first) == str(mfa_user.user.pk)

    password_login(second, mfa_user.user)
    second.post(AUTHENTICATE, {"code": recovery})
    assert signed_in(second) is None


def test_a_recovery_code_used_on_the_web_is_refused_by_the_api(api, client, mfa_user):
    password_login(client, mfa_user.user)
    client.post(AUTHENTICATE, {"code": mfa_user.recovery_codes[1]})
    assert signed_in(client) == str(mfa_user.user.pk)
    response = answer(api, challenge_for(api, mfa_user.user), mfa_user.recovery_codes[1])
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_code"


def test_sign_in_by_sms_code_then_asks_for_the_second_factor(client):
    person = with_totp(verified_user(phone=PHONE))
    client.post("/accounts/login/code/", {"phone": PHONE})

    response = client.post("/accounts/login/code/confirm/", {"code": sms_code(PHONE)})

    assert response.status_code == 302 and response["Location"] == AUTHENTICATE
    assert signed_in(client) is None
    client.post(AUTHENTICATE, {"code": person.code()})
    assert signed_in(client) == str(person.user.pk)


def test_google_sign_in_then_asks_for_the_second_factor(client, google, provider_http, provider_key):
    person = with_totp(verified_user(email="ann@gmail.com"))

    response = google_callback(client, provider_http, provider_key, google_claims(email="ann@gmail.com"))

    assert response.status_code == 302 and response["Location"] == AUTHENTICATE
    assert signed_in(client) is None
    client.post(AUTHENTICATE, {"code": person.code()})
    assert signed_in(client) == str(person.user.pk)


# --- Security keys and passkeys (WebAuthn) ---------------------------------------------------------


def assert_fits_the_csp(page):
    """Every script the page runs comes from our origin; inline <script>s are JSON data only."""
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    html = page.content.decode()
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline and all('type="application/json"' in attrs for attrs in inline), inline


def add_security_key(client, key, *, name="My key"):
    page = client.get("/accounts/2fa/webauthn/add/")
    assert page.status_code == 200, page.content
    html = page.content.decode()
    for script in ("mfa/js/webauthn-json.js", "mfa/js/webauthn.js", "account/js/onload.js"):
        assert f'<script src="/static/{script}"></script>' in html  # our own origin: the CSP's script-src 'self'
    assert_fits_the_csp(page)
    credential = key.register(page_js_data(page)["creation_options"])
    return client.post(
        "/accounts/2fa/webauthn/add/", {"name": name, "credential": json.dumps(credential), "passwordless": "on"}
    )


def test_a_security_key_is_added_and_then_asked_for_at_sign_in(client):
    user = verified_user()
    key = SoftwareKey()
    password_login(client, user)
    reauthenticate(client)

    response = add_security_key(client, key)

    assert response.status_code == 302, response.content
    [authenticator] = Authenticator.objects.filter(user=user, type="webauthn")
    assert authenticator.wrap().name == "My key"
    assert Authenticator.objects.filter(user=user, type="recovery_codes").exists()  # made with the first key

    browser = Client()
    assert password_login(browser, user)["Location"] == AUTHENTICATE
    assert_fits_the_csp(browser.get(AUTHENTICATE))

    # Another key (not registered) is refused.
    stranger = SoftwareKey()
    stranger.user_handle = key.user_handle
    browser.post(
        AUTHENTICATE,
        {"credential": json.dumps(stranger.sign_in(page_js_data(browser.get(AUTHENTICATE))["request_options"]))},
    )
    assert signed_in(browser) is None

    page = browser.get(AUTHENTICATE)
    assertion = key.sign_in(page_js_data(page)["request_options"])
    response = browser.post(AUTHENTICATE, {"credential": json.dumps(assertion)})

    assert response.status_code == 302
    assert signed_in(browser) == str(user.pk)


def test_a_passkey_signs_in_without_a_password(client):
    user = verified_user()
    key = SoftwareKey()
    password_login(client, user)
    reauthenticate(client)
    assert add_security_key(client, key).status_code == 302

    browser = Client()
    login_page = browser.get(LOGIN).content.decode()
    assert "/accounts/2fa/webauthn/login/" in login_page  # the "Sign in with a passkey" form
    options = browser.get(
        "/accounts/2fa/webauthn/login/", HTTP_ACCEPT="application/json", HTTP_X_REQUESTED_WITH="XMLHttpRequest"
    ).json()
    assertion = key.sign_in(options["request_options"])

    response = browser.post("/accounts/2fa/webauthn/login/", {"credential": json.dumps(assertion)})

    assert response.status_code == 302
    assert signed_in(browser) == str(user.pk)
