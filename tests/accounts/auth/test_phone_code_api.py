"""Sign-in by SMS code over the API: ask for a code, then trade phone + code for a JWT pair.

Only the SMS provider's edge is replaced (the locmem SMS backend, as in test_phone.py)."""

import datetime

import pytest
from allauth.account import app_settings as account_settings
from django.contrib.auth import get_user_model
from django.test import Client
from freezegun import freeze_time

from accounts.models import TokenFamily
from accounts.sms import LocmemSMSBackend
from tests.accounts.auth.test_phone import CODE, PHONE, sms_code
from tests.factories import UserFactory
from tests.socialsite.api.helpers import assert_error

User = get_user_model()
pytestmark = pytest.mark.django_db

REQUEST = "/api/v1/auth/login-code"
EXCHANGE = "/api/v1/auth/jwt/login-code"
NOBODYS_PHONE = "+14155550999"
SAME_ANSWER = {"detail": "If an account uses this number, a code is on its way.", "expires_in": 180}


@pytest.fixture
def phone_user():
    user = UserFactory(phone=PHONE)
    User.objects.filter(pk=user.pk).update(phone_verified=True)
    return user


def ask(api, phone=PHONE, **kwargs):
    return api.post(REQUEST, {"phone": phone}, format="json", **kwargs)


def trade(api, code, phone=PHONE):
    return api.post(EXCHANGE, {"phone": phone, "code": code}, format="json")


def wrong(code):
    return "000000" if code != "000000" else "111111"


def test_a_texted_code_signs_in_once_and_starts_a_token_family(api, phone_user):
    response = ask(api)
    assert response.status_code == 202, response.content
    assert response.json() == SAME_ANSWER
    assert [sms["to"] for sms in LocmemSMSBackend.outbox] == [PHONE]
    code = sms_code(PHONE)

    response = trade(api, code)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "bearer"
    me = api.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").json()
    assert me["id"] == str(phone_user.pk)
    assert TokenFamily.objects.filter(user=phone_user).count() == 1
    refreshed = api.post("/api/v1/auth/jwt/refresh", {"refresh_token": body["refresh_token"]}, format="json")
    assert refreshed.status_code == 200

    # Replayed: the code was spent by the first sign-in.
    assert_error(trade(api, code), 401, "invalid_code")
    assert TokenFamily.objects.filter(user=phone_user).count() == 1


def test_an_unverified_number_is_verified_by_signing_in_with_its_code(api):
    user = UserFactory(phone=PHONE)
    assert user.phone_verified is False
    ask(api)
    assert trade(api, sms_code(PHONE)).status_code == 200
    user.refresh_from_db()
    assert user.phone_verified is True


def test_a_wrong_code_is_refused_and_the_right_one_still_works(api, phone_user):
    ask(api)
    code = sms_code(PHONE)

    assert_error(trade(api, wrong(code)), 401, "invalid_code")
    assert trade(api, code).status_code == 200


def test_too_many_wrong_answers_burn_the_code(api, phone_user):
    ask(api)
    code = sms_code(PHONE)
    for _ in range(account_settings.LOGIN_BY_CODE_MAX_ATTEMPTS):
        assert_error(trade(api, wrong(code)), 401, "invalid_code")

    assert_error(trade(api, code), 401, "invalid_code")
    assert not TokenFamily.objects.exists()

    # A new code works again.
    ask(api)
    assert trade(api, sms_code(PHONE)).status_code == 200


def test_an_expired_code_is_refused(api, phone_user):
    start = datetime.datetime.now(datetime.UTC)
    with freeze_time(start):
        ask(api)
    code = sms_code(PHONE)
    with freeze_time(start + datetime.timedelta(seconds=account_settings.LOGIN_BY_CODE_TIMEOUT + 1)):
        assert_error(trade(api, code), 401, "invalid_code")
    assert not TokenFamily.objects.exists()


def test_a_new_code_replaces_the_old_one(api, phone_user):
    ask(api)
    first = sms_code(PHONE)
    LocmemSMSBackend.outbox.clear()
    ask(api)
    second = sms_code(PHONE)
    if first != second:
        assert_error(trade(api, first), 401, "invalid_code")
    assert trade(api, second).status_code == 200


def test_a_number_nobody_uses_gets_the_same_answer_and_a_notice(api, phone_user):
    known = ask(api)
    unknown = ask(api, NOBODYS_PHONE)

    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json()) == (202, SAME_ANSWER)
    [notice] = [sms for sms in LocmemSMSBackend.outbox if sms["to"] == NOBODYS_PHONE]
    assert "no account" in notice["text"] and not CODE.search(notice["text"])
    for guess in ("000000", "123456"):
        assert_error(trade(api, guess, phone=NOBODYS_PHONE), 401, "invalid_code")


def test_an_inactive_account_gets_no_code_and_cannot_sign_in(api):
    UserFactory(phone=PHONE, is_active=False)

    response = ask(api)

    assert (response.status_code, response.json()) == (202, SAME_ANSWER)
    [notice] = LocmemSMSBackend.outbox
    assert not CODE.search(notice["text"])
    assert_error(trade(api, "000000"), 401, "invalid_code")


def test_an_account_deactivated_after_the_code_was_sent_cannot_use_it(api, phone_user):
    ask(api)
    User.objects.filter(pk=phone_user.pk).update(is_active=False)
    assert_error(trade(api, sms_code(PHONE)), 401, "invalid_code")


def test_mandatory_email_verification_holds_for_code_sign_ins(api, phone_user, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    ask(api)
    assert_error(trade(api, sms_code(PHONE)), 403, "email_unverified")


@pytest.mark.parametrize(
    "path, body, field",
    [
        (REQUEST, {}, "phone"),
        (REQUEST, {"phone": "4155550123"}, "phone"),  # no country code
        (REQUEST, {"phone": "+1415"}, "phone"),
        (REQUEST, {"phone": ["+14155550123"]}, "phone"),
        (REQUEST, {"phone": "+1" + "5" * 40}, "phone"),
        (EXCHANGE, {"phone": PHONE}, "code"),
        (EXCHANGE, {"code": "123456"}, "phone"),
        (EXCHANGE, {"phone": "not a phone", "code": "123456"}, "phone"),
        (EXCHANGE, {"phone": PHONE, "code": "1" * 100}, "code"),
    ],
)
def test_malformed_input_is_a_400_in_the_envelope(api, phone_user, path, body, field):
    error = assert_error(api.post(path, body, format="json"), 400, "invalid")
    assert field in error["fields"]
    assert LocmemSMSBackend.outbox == []


def test_malformed_json_is_a_400_in_the_envelope(api):
    assert_error(api.post(REQUEST, "{nope", content_type="application/json"), 400, "parse_error")
    assert_error(api.post(EXCHANGE, "{nope", content_type="application/json"), 400, "parse_error")


def test_codes_are_limited_per_number(api, phone_user):
    for i in range(5):
        assert ask(api, REMOTE_ADDR=f"10.0.0.{i}").status_code == 202
    response = ask(api, REMOTE_ADDR="10.0.0.99")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert len(LocmemSMSBackend.outbox) == 5


def test_codes_are_limited_per_address(api, phone_user):
    for i in range(5):
        assert ask(api, f"+1415555010{i}").status_code == 202
    assert_error(ask(api, "+14155550199"), 429, "throttled")
    assert len(LocmemSMSBackend.outbox) == 5


def test_the_api_and_the_web_form_share_the_per_number_limit(api, phone_user):
    for i in range(5):  # a browser each (one with a code pending is sent on to the confirm page)
        response = Client().post("/accounts/login/code/", {"phone": PHONE}, REMOTE_ADDR=f"10.0.1.{i}")
        assert response["Location"] == "/accounts/login/code/confirm/"
    assert len(LocmemSMSBackend.outbox) == 5
    assert_error(ask(api, REMOTE_ADDR="10.0.2.1"), 429, "throttled")
