"""Token families and revocation (accounts/tokens.py): reuse detection, concurrent refreshes,
password changes, "log out everywhere" and the sessions page."""

import asyncio
import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.models import TokenFamily
from accounts.tasks import prune_token_families
from tests.accounts.services.test_relationships import GroupListener
from tests.factories import PASSWORD, UserFactory
from tests.socialsite.api.helpers import assert_error

LOGIN = "/api/v1/auth/jwt/login"
REFRESH = "/api/v1/auth/jwt/refresh"
LOGOUT = "/api/v1/auth/jwt/logout"
EVERYWHERE = "/api/v1/auth/logout-everywhere"
NEW_PASSWORD = "a-New-pass-456"


def sign_in(user, password=PASSWORD, address="127.0.0.1"):
    body = {"username": user.username, "password": password}
    response = APIClient().post(LOGIN, body, format="json", REMOTE_ADDR=address)
    assert response.status_code == 200, response.content
    return response.json()


def refresh(pair, address="127.0.0.1"):
    return APIClient().post(REFRESH, {"refresh_token": pair["refresh_token"]}, format="json", REMOTE_ADDR=address)


def me(pair):
    return APIClient().get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {pair['access_token']}")


def web_client(user):
    client = Client()
    client.force_login(user)
    return client


def signed_in_on_the_web(client):
    return client.get("/settings/profile/").status_code == 200


def assert_revoked(*pairs):
    for pair in pairs:
        assert_error(refresh(pair), 401, "token_not_valid")
        assert_error(me(pair), 401, "token_not_valid")


def socket_closed(listener):
    message = listener.loop.run_until_complete(asyncio.wait_for(listener.layer.receive(listener.channel), 1))
    return message == {"type": "session.close"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_uses_of_one_refresh_token_exactly_one_wins_and_the_family_ends():
    """The outside review saw 3-8 of 8 simultaneous refreshes succeed, every token still working."""
    user = UserFactory()
    for trial in range(3):
        pair = sign_in(user, address=f"10.{trial}.0.1")  # an address each: the log-in limit is per IP
        barrier, answers = threading.Barrier(8), []

        def use(address, pair=pair, barrier=barrier, answers=answers):
            try:
                barrier.wait()
                answers.append(refresh(pair, address))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=use, args=(f"10.{trial}.1.{n}",)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200] + [401] * 7, statuses
        winner = next(answer.json() for answer in answers if answer.status_code == 200)
        # The losers looked like a stolen copy: the winner's new refresh token is dead too.
        assert_error(refresh(winner), 401, "token_not_valid")
        assert not TokenFamily.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_logging_out_ends_that_sign_in_only():
    user = UserFactory()
    phone, laptop = sign_in(user), sign_in(user)
    assert APIClient().post(LOGOUT, {"refresh_token": phone["refresh_token"]}, format="json").status_code == 204
    assert_error(refresh(phone), 401, "token_not_valid")
    assert refresh(laptop).status_code == 200


@pytest.mark.django_db
def test_a_refresh_token_from_before_token_families_is_refused():
    user = UserFactory()
    assert_error(refresh({"refresh_token": str(RefreshToken.for_user(user))}), 401, "token_not_valid")
    forged = RefreshToken.for_user(user)
    forged["fam"] = "not-a-uuid"
    assert_error(refresh({"refresh_token": str(forged)}), 401, "token_not_valid")


@pytest.mark.django_db
def test_a_password_change_on_the_web_ends_every_other_sign_in(django_capture_on_commit_callbacks):
    user = UserFactory()
    phone, here, elsewhere = sign_in(user), web_client(user), web_client(user)
    listener = GroupListener(user)
    assert me(phone).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = here.post(
            "/accounts/password/change/",
            {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
    assert response.status_code == 302, response.content
    assert_revoked(phone)
    assert signed_in_on_the_web(here)  # the browser that changed it stays signed in
    assert not signed_in_on_the_web(elsewhere)
    assert socket_closed(listener)  # open pages' sockets, SSE streams and long-polls close now
    assert me(sign_in(user, NEW_PASSWORD)).status_code == 200


@pytest.mark.django_db
def test_a_password_set_anywhere_else_revokes_tokens_too():
    """The admin, manage.py changepassword and the reset link all save a new password."""
    user = UserFactory()
    phone = sign_in(user)
    user.set_password(NEW_PASSWORD)
    user.save()
    assert_revoked(phone)


@pytest.mark.django_db
def test_logout_everywhere_over_the_api(django_capture_on_commit_callbacks):
    user, other = UserFactory(), UserFactory()
    phone, laptop, browser, theirs = sign_in(user), sign_in(user), web_client(user), sign_in(other)
    listener = GroupListener(user)
    assert_error(APIClient().post(EVERYWHERE), 401, "not_authenticated")
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post(EVERYWHERE, HTTP_AUTHORIZATION=f"Bearer {phone['access_token']}")
    assert response.status_code == 204
    assert_revoked(phone, laptop)  # the caller's own tokens included
    assert not signed_in_on_the_web(browser)
    assert socket_closed(listener)
    assert me(theirs).status_code == 200  # nobody else's
    assert me(sign_in(user)).status_code == 200  # signing in again works


@pytest.mark.django_db
def test_the_sessions_page_logs_out_everywhere_else(django_capture_on_commit_callbacks):
    user = UserFactory()
    phone, here, elsewhere = sign_in(user), web_client(user), web_client(user)
    page = here.get("/settings/sessions/")
    assert page.status_code == 200 and b"Log out everywhere else" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = here.post("/settings/sessions/", follow=True)
    assert b"signed out on every other browser and app" in response.content
    assert signed_in_on_the_web(here)
    assert not signed_in_on_the_web(elsewhere)
    assert_revoked(phone)
    assert Client().post("/settings/sessions/").status_code == 302  # signed out: to the log-in page


@pytest.mark.django_db
def test_deactivation_revokes_every_token():
    user = UserFactory()
    phone = sign_in(user)
    services.user_deactivate(user=user)
    assert_error(refresh(phone), 401, "token_not_valid")
    assert_error(me(phone), 401, "user_inactive")
    assert not TokenFamily.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_expired_sign_ins_are_pruned():
    user = UserFactory()
    with freeze_time(timezone.now() - timedelta(days=31)):
        old = sign_in(user, address="10.9.0.1")
    current = sign_in(user, address="10.9.0.2")
    assert prune_token_families() == 1
    assert TokenFamily.objects.filter(user=user).count() == 1
    assert refresh(current, "10.9.0.2").status_code == 200
    assert_error(refresh(old, "10.9.0.1"), 401, "token_not_valid")
