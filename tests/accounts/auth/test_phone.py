"""Phone numbers through allauth's own views: sign-in by SMS code, and verifying a number."""

import re

import pytest
from django.contrib.auth import get_user_model

from accounts.sms import LocmemSMSBackend
from tests.factories import PASSWORD, UserFactory

User = get_user_model()

pytestmark = pytest.mark.django_db

PHONE = "+14155550123"
NEW_PHONE = "+447700900123"
CODE = re.compile(r"code is (\S+)\. ")


def sms_code(to):
    texts = [sms["text"] for sms in LocmemSMSBackend.outbox if sms["to"] == to]
    assert texts, f"no SMS to {to}: {LocmemSMSBackend.outbox}"
    return CODE.search(texts[-1]).group(1)


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


@pytest.fixture
def phone_user():
    user = UserFactory(phone=PHONE)
    User.objects.filter(pk=user.pk).update(phone_verified=True)
    return user


def test_login_page_offers_sign_in_by_code(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert b"/accounts/login/code/" in response.content


def test_sign_in_with_a_code_sent_by_sms(client, phone_user):
    response = client.post("/accounts/login/code/", {"phone": PHONE})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/code/confirm/"
    assert [sms["to"] for sms in LocmemSMSBackend.outbox] == [PHONE]
    assert signed_in_user_id(client) is None

    response = client.post("/accounts/login/code/confirm/", {"code": sms_code(PHONE)})

    assert response.status_code == 302
    assert signed_in_user_id(client) == str(phone_user.pk)


def test_a_wrong_code_does_not_sign_in(client, phone_user):
    client.post("/accounts/login/code/", {"phone": PHONE})
    wrong = "000000" if sms_code(PHONE) != "000000" else "111111"

    response = client.post("/accounts/login/code/confirm/", {"code": wrong})

    assert response.status_code == 200
    assert signed_in_user_id(client) is None


def test_a_number_nobody_uses_gets_a_notice_not_a_code(client, phone_user):
    response = client.post("/accounts/login/code/", {"phone": "+14155550999"})

    # Enumeration prevention: the page looks the same, the text says no account uses it.
    assert response.status_code == 302
    [sms] = LocmemSMSBackend.outbox
    assert sms["to"] == "+14155550999"
    assert "no account" in sms["text"]
    assert not CODE.search(sms["text"])


def test_signing_up_with_a_phone_verifies_it_by_sms(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "hal@example.com", "username": "hal", "phone": PHONE, "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/phone/verify/"
    user = User.objects.get(username="hal")
    assert (str(user.phone), user.phone_verified) == (PHONE, False)

    response = client.post("/accounts/phone/verify/", {"code": sms_code(PHONE)})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.phone_verified is True
    assert signed_in_user_id(client) == str(user.pk)


@pytest.mark.parametrize("old_phone", [None, PHONE], ids=["added", "changed"])
def test_adding_or_changing_a_phone_verifies_the_new_number(client, old_phone):
    user = UserFactory(phone=old_phone)
    User.objects.filter(pk=user.pk).update(phone_verified=bool(old_phone))
    client.force_login(user)

    response = client.post("/accounts/phone/change/", {"phone": NEW_PHONE})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/phone/verify/"
    response = client.post("/accounts/phone/verify/", {"code": sms_code(NEW_PHONE)})
    assert response.status_code == 302

    user.refresh_from_db()
    assert str(user.phone) == NEW_PHONE
    assert user.phone_verified is True


def test_a_phone_account_signs_in_to_the_api_with_its_number_and_password(api, phone_user):
    """Phone + password worked on the web, and the JWT log-in refused it."""
    response = api.post("/api/v1/auth/jwt/login", {"login": PHONE, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    me = api.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}").json()
    assert me["id"] == str(phone_user.pk)
    wrong = api.post("/api/v1/auth/jwt/login", {"login": PHONE, "password": "nope"}, format="json")
    assert wrong.status_code == 401
    unknown = api.post("/api/v1/auth/jwt/login", {"login": NEW_PHONE, "password": PASSWORD}, format="json")
    assert unknown.status_code == 401


def test_the_phone_page_is_linked_from_settings_and_at_its_short_address(client, phone_user):
    client.force_login(phone_user)
    assert b'href="/accounts/phone/change/"' in client.get("/settings/profile/").content
    response = client.get("/accounts/phone/")
    assert response.status_code == 302 and response["Location"] == "/accounts/phone/change/"
