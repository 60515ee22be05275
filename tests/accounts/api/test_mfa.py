"""Two-factor sign-in over the API: a log-in answers a challenge, the challenge and a code the pair."""

import datetime

import pytest
from allauth.mfa.models import Authenticator
from django.core import signing

from accounts.models import TokenFamily
from tests.accounts.auth.mfa import mid_totp_period, verified_user, with_totp
from tests.accounts.auth.test_phone import PHONE, sms_code
from tests.factories import PASSWORD
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/jwt/login"
MFA = "/api/v1/auth/jwt/mfa"


@pytest.fixture(autouse=True)
def frozen():
    with mid_totp_period() as clock:
        yield clock


def login(api, user, password=PASSWORD):
    return api.post(LOGIN, {"login": user.username, "password": password}, format="json")


def challenge_for(api, user):
    response = login(api, user)
    assert response.status_code == 200, response.content
    return response.json()["challenge"]


def answer(api, challenge, code):
    return api.post(MFA, {"challenge": challenge, "code": code}, format="json")


def other(code):
    return "000000" if code != "000000" else "111111"


def test_an_account_without_2fa_gets_its_pair_at_once(api):
    user = verified_user()
    body = login(api, user).json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}


def test_log_in_asks_for_the_second_factor_then_a_totp_code_gets_the_pair(api, mfa_user):
    response = login(api, mfa_user.user)

    assert response.status_code == 200
    body = response.json()
    assert body["mfa_required"] is True
    assert body["types"] == ["totp", "recovery_codes"]
    assert body["expires_in"] == 300
    assert "access_token" not in body and "refresh_token" not in body
    assert not TokenFamily.objects.exists()

    response = answer(api, body["challenge"], mfa_user.code())

    assert response.status_code == 200, response.content
    pair = response.json()
    me = api.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}").json()
    assert me["id"] == str(mfa_user.user.pk)
    assert TokenFamily.objects.filter(user=mfa_user.user).count() == 1
    assert Authenticator.objects.get(user=mfa_user.user, type="totp").last_used_at is not None


def test_a_wrong_password_never_gets_a_challenge(api, mfa_user):
    assert_error(login(api, mfa_user.user, password="nope"), 401, "invalid_credentials")


def test_a_replayed_totp_code_is_refused(api, mfa_user):
    code = mfa_user.code()
    assert answer(api, challenge_for(api, mfa_user.user), code).status_code == 200

    assert_error(answer(api, challenge_for(api, mfa_user.user), code), 401, "invalid_code")
    assert TokenFamily.objects.count() == 1


def test_a_totp_code_used_on_the_web_is_refused_by_the_api(api, client, mfa_user):
    code = mfa_user.code()
    client.post("/accounts/login/", {"login": mfa_user.user.username, "password": PASSWORD})
    client.post("/accounts/2fa/authenticate/", {"code": code})
    assert client.session.get("_auth_user_id") == str(mfa_user.user.pk)

    assert_error(answer(api, challenge_for(api, mfa_user.user), code), 401, "invalid_code")


def test_a_recovery_code_works_once(api, mfa_user):
    recovery = mfa_user.recovery_codes[3]
    assert answer(api, challenge_for(api, mfa_user.user), recovery).status_code == 200

    assert_error(answer(api, challenge_for(api, mfa_user.user), recovery), 401, "invalid_code")
    # The others still work.
    assert answer(api, challenge_for(api, mfa_user.user), mfa_user.recovery_codes[4]).status_code == 200


def test_a_wrong_code_is_refused_and_the_challenge_takes_another(api, mfa_user):
    challenge = challenge_for(api, mfa_user.user)
    assert_error(answer(api, challenge, other(mfa_user.code())), 401, "invalid_code")
    assert answer(api, challenge, mfa_user.code()).status_code == 200


def test_a_code_of_spaces_is_a_wrong_code(api, mfa_user):
    challenge = challenge_for(api, mfa_user.user)
    assert_error(answer(api, challenge, "   "), 401, "invalid_code")
    assert answer(api, challenge, mfa_user.code()).status_code == 200


def test_a_challenge_signs_in_once(api, mfa_user):
    challenge = challenge_for(api, mfa_user.user)
    assert answer(api, challenge, mfa_user.code()).status_code == 200

    assert_error(answer(api, challenge, mfa_user.recovery_codes[0]), 401, "challenge_invalid")
    assert TokenFamily.objects.count() == 1
    # The refused attempt didn't spend the recovery code.
    assert answer(api, challenge_for(api, mfa_user.user), mfa_user.recovery_codes[0]).status_code == 200


def test_a_challenge_expires(api, mfa_user, frozen):
    challenge = challenge_for(api, mfa_user.user)
    frozen.tick(datetime.timedelta(seconds=301))
    assert_error(answer(api, challenge, mfa_user.code()), 401, "challenge_expired")
    assert not TokenFamily.objects.exists()


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),  # the signature
        lambda c: "x" + c,  # the payload
        lambda c: "not-a-challenge",
        lambda c: signing.dumps({"u": "x", "c": "y", "j": "z"}, salt="another salt", compress=True),
    ],
    ids=["signature", "payload", "garbage", "other-salt"],
)
def test_a_tampered_challenge_is_refused(api, mfa_user, tamper):
    challenge = challenge_for(api, mfa_user.user)
    assert_error(answer(api, tamper(challenge), mfa_user.code()), 401, "challenge_invalid")
    assert not TokenFamily.objects.exists()


def test_a_challenge_is_bound_to_its_account(api, mfa_user):
    """Bob's code doesn't complete Ann's challenge, and Ann's challenge never yields Bob's tokens."""
    bob = with_totp(verified_user())
    ann_challenge = challenge_for(api, mfa_user.user)

    assert_error(answer(api, ann_challenge, bob.code()), 401, "invalid_code")
    assert_error(answer(api, ann_challenge, bob.recovery_codes[0]), 401, "invalid_code")

    response = answer(api, ann_challenge, mfa_user.code())
    access = response.json()["access_token"]
    assert api.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {access}").json()["id"] == str(mfa_user.user.pk)


def test_a_password_change_voids_the_challenge(api, mfa_user):
    challenge = challenge_for(api, mfa_user.user)
    mfa_user.user.set_password("a-new-Pass-456")
    mfa_user.user.save()
    assert_error(answer(api, challenge, mfa_user.code()), 401, "challenge_invalid")


def test_a_deactivated_account_cannot_finish(api, mfa_user):
    challenge = challenge_for(api, mfa_user.user)
    type(mfa_user.user).objects.filter(pk=mfa_user.user.pk).update(is_active=False)
    assert_error(answer(api, challenge, mfa_user.code()), 401, "challenge_invalid")


def test_a_challenge_takes_five_codes_at_most(api, mfa_user):
    challenge = challenge_for(api, mfa_user.user)
    for _ in range(5):
        assert_error(answer(api, challenge, other(mfa_user.code())), 401, "invalid_code")
    assert_error(answer(api, challenge, mfa_user.code()), 401, "challenge_invalid")
    assert not TokenFamily.objects.exists()


def test_wrong_codes_count_per_account_across_challenges(api, mfa_user, settings):
    """allauth's login_failed limit, keyed by the account: new challenges don't reset it."""
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "3/5m/key"}
    for _ in range(3):
        assert_error(answer(api, challenge_for(api, mfa_user.user), other(mfa_user.code())), 401, "invalid_code")
    response = answer(api, challenge_for(api, mfa_user.user), mfa_user.code())
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert not TokenFamily.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "challenge"),
        ({"challenge": "x"}, "code"),
        ({"code": "123456"}, "challenge"),
        ({"challenge": "x" * 2000, "code": "1"}, "challenge"),
    ],
)
def test_malformed_input_is_a_400_in_the_envelope(api, body, field):
    error = assert_error(api.post(MFA, body, format="json"), 400, "invalid")
    assert field in error["fields"]


def test_sign_in_by_sms_code_also_asks_for_the_second_factor(api):
    person = with_totp(verified_user(phone=PHONE))
    api.post("/api/v1/auth/login-code", {"phone": PHONE}, format="json")

    response = api.post("/api/v1/auth/jwt/login-code", {"phone": PHONE, "code": sms_code(PHONE)}, format="json")

    body = response.json()
    assert response.status_code == 200 and body["mfa_required"] is True and "access_token" not in body
    assert not TokenFamily.objects.exists()
    assert answer(api, body["challenge"], person.code()).status_code == 200


def test_an_account_whose_only_second_factor_is_a_security_key_is_told_to_use_the_web(api):
    user = verified_user()
    Authenticator.objects.create(user=user, type=Authenticator.Type.WEBAUTHN, data={"name": "key", "credential": {}})
    assert_error(login(api, user), 403, "mfa_required")
    assert not TokenFamily.objects.exists()


def test_schema_documents_the_second_step(api):
    paths = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert set(paths["/api/v1/auth/jwt/mfa"]["post"]["responses"]) >= {"200", "400", "401", "429"}
    login_200 = paths["/api/v1/auth/jwt/login"]["post"]["responses"]["200"]
    assert login_200["content"]["application/json"]["schema"]["$ref"].endswith("/SignInOutput")
