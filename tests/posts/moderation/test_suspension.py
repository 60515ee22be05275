"""A suspended account is told so, and why, wherever it turns up: its open pages, the web and API
log-ins; it appeals through the suspended page with a short-lived proof of who it is. Moderators
suspend from the user's admin page too, audited."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from accounts import suspension
from posts import moderation
from posts.models import Appeal, ModerationAction
from tests.accounts.admin.conftest import logged_in
from tests.factories import PASSWORD, UserFactory
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

SUSPENDED = reverse("moderation_suspended")
LOGIN = "/api/v1/auth/jwt/login"


@pytest.fixture(autouse=True)
def _fresh_limits():
    from django.core.cache import cache

    cache.clear()


def signed_in(user):
    client = Client()
    assert client.post(reverse("account_login"), {"login": user.username, "password": PASSWORD}).status_code == 302
    return client


class TestOpenSession:
    def test_next_request_shows_the_suspended_page_and_signs_out(self, act, moderator_user, author):
        client = signed_in(author)
        assert client.get(reverse("home")).context["user"] == author
        act(moderation.suspend_user, moderator=moderator_user, user=author, reason="Ban <i>evasion</i>")
        response = client.get(reverse("home"))
        assert response.status_code == 302 and response.url.startswith(SUSPENDED + "?t=")
        page = client.get(response.url)
        html = page.content.decode()
        assert page.status_code == 200 and "Your account is suspended" in html
        assert "Ban &lt;i&gt;evasion&lt;/i&gt;" in html and 'name="message"' in html
        assert not page.context["user"].is_authenticated  # signed out
        assert "_auth_user_id" not in client.session
        # Appeal from there, twice (a replay): one appeal, about the suspension, by the account.
        data = {"t": parse_qs(urlsplit(response.url).query)["t"][0], "message": "I was hacked."}
        for _ in range(2):
            assert client.post(SUSPENDED, data).status_code == 200
        [appeal] = Appeal.objects.all()
        assert appeal.appellant == author and appeal.action.action == "suspend"
        assert 'data-appeal-status="open"' in client.get(response.url).content.decode()

    def test_appeal_form_works_with_csrf_checks_after_the_sign_out(self, act, moderator_user, author):
        client = Client(enforce_csrf_checks=True)
        client.force_login(author)
        act(moderation.suspend_user, moderator=moderator_user, user=author, reason="spam")
        url = client.get(reverse("home")).url
        page = client.get(url)
        token = parse_qs(urlsplit(url).query)["t"][0]
        csrf = page.context["csrf_token"]
        response = client.post(SUSPENDED, {"t": token, "message": "sorry", "csrfmiddlewaretoken": str(csrf)})
        assert response.status_code == 200
        assert Appeal.objects.get().appellant == author

    def test_htmx_request_is_redirected_by_header(self, act, moderator_user, author):
        client = signed_in(author)
        act(moderation.suspend_user, moderator=moderator_user, user=author, reason="spam")
        response = client.get(reverse("home"), HTTP_HX_REQUEST="true")
        assert response.status_code == 204 and response["HX-Redirect"].startswith(SUSPENDED)

    def test_a_deactivated_accounts_session_is_just_signed_out(self, author):
        client = signed_in(author)
        account_services.user_deactivate(user=author)
        response = client.get(reverse("home"))
        assert response.status_code == 200 and not response.context["user"].is_authenticated


class TestLogIn:
    def test_web_log_in_says_suspended_with_reason_and_appeal(self, act, moderator_user, author):
        act(moderation.suspend_user, moderator=moderator_user, user=author, reason="spam links")
        response = Client().post(
            reverse("account_login"), {"login": author.username, "password": PASSWORD}, follow=True
        )
        html = response.content.decode()
        assert "Your account is suspended" in html and "spam links" in html and 'name="message"' in html
        assert "inactive" not in html.lower()

    def test_a_wrong_password_learns_nothing(self, act, moderator_user, author):
        act(moderation.suspend_user, moderator=moderator_user, user=author, reason="spam links")
        response = Client().post(reverse("account_login"), {"login": author.username, "password": "wrong-one"})
        assert response.status_code == 200 and b"spam links" not in response.content
        assert b"suspended" not in response.content
        assert_error(
            Client().post(LOGIN, {"login": author.username, "password": "nope"}, content_type="application/json"),
            401,
            "invalid_credentials",
        )

    def test_api_log_in_answers_account_suspended(self, act, moderator_user, author, api):
        act(moderation.suspend_user, moderator=moderator_user, user=author, reason="spam links")
        response = api.post(LOGIN, {"login": author.username, "password": PASSWORD}, format="json")
        assert_error(response, 403, "account_suspended")
        url = response.json()["error"]["message"].split(": ", 1)[1]
        page = Client().get(url)
        assert page.status_code == 200 and b"spam links" in page.content


class TestToken:
    def suspend(self, act, moderator_user, user):
        act(moderation.suspend_user, moderator=moderator_user, user=user, reason="spam")
        user.refresh_from_db()
        return suspension.token_for(user)

    def test_without_or_with_a_bad_token_nothing_is_shown_or_filed(self, act, moderator_user, author):
        token = self.suspend(act, moderator_user, author)
        forged = signing.dumps({"u": str(author.pk), "c": "guess"}, salt=suspension.SALT)
        other_salt = signing.dumps({"u": str(author.pk), "c": "x"})
        for bad in ("", "garbage", token[:-2] + "xx", forged, other_salt):
            response = Client().post(SUSPENDED, {"t": bad, "message": "let me in"})
            assert response.status_code == 403 and b"spam" not in response.content
        assert not Appeal.objects.exists()

    def test_token_expires(self, act, moderator_user, author, settings, monkeypatch):
        token = self.suspend(act, moderator_user, author)
        monkeypatch.setattr(suspension, "TOKEN_MAX_AGE", -1)
        assert Client().get(SUSPENDED, {"t": token}).status_code == 403

    def test_token_of_an_active_account_is_refused(self, author):
        token = suspension.token_for(author)  # never suspended
        assert Client().get(SUSPENDED, {"t": token}).status_code == 403

    def test_token_files_only_for_its_own_account(self, act, moderator_user, author, reporter):
        token = self.suspend(act, moderator_user, author)
        other = act(moderation.warn_user, moderator=moderator_user, user=reporter, reason="x")
        # The form names no action: the appeal is about the token's own suspension, whatever is posted.
        Client().post(SUSPENDED, {"t": token, "message": "m", "action_id": other.pk})
        [appeal] = Appeal.objects.all()
        assert appeal.appellant == author and appeal.action.user == author

    def test_lifted_suspension_voids_the_token(self, act, moderator_user, author):
        token = self.suspend(act, moderator_user, author)
        act(moderation.unsuspend_user, moderator=moderator_user, user=author, reason="ok")
        assert Client().get(SUSPENDED, {"t": token}).status_code == 403

    def test_rate_limited(self, act, moderator_user, author, settings):
        settings.THROTTLE_APPEAL = "1/h"
        token = self.suspend(act, moderator_user, author)
        warn = act(moderation.warn_user, moderator=UserFactory(is_superuser=True), user=author, reason="w")
        moderation.appeal_create(appellant=author, action_id=warn.pk, message="first")
        response = Client().post(SUSPENDED, {"t": token, "message": "second"})
        assert b"Too many appeals" in response.content
        assert Appeal.objects.count() == 1


class TestAdminSuspend:
    @pytest.fixture
    def moderator(self, moderators_group):
        user = UserFactory(username="mod", is_staff=True)
        user.groups.add(moderators_group)
        return user

    def test_suspend_and_unsuspend_from_the_user_page_audited(self, moderator, author):
        client = logged_in(moderator)
        change = reverse("admin:accounts_user_change", args=[author.pk])
        assert reverse("admin:accounts_user_suspend", args=[author.pk]) in client.get(change).content.decode()
        url = reverse("admin:accounts_user_suspend", args=[author.pk])
        asked = client.post(url, {"reason": ""})  # a reason is required
        assert asked.status_code == 200 and b"Give a reason" in asked.content
        author.refresh_from_db()
        assert author.is_active
        assert client.post(url, {"reason": "spam wave"}).url == change
        author.refresh_from_db()
        assert not author.is_active and author.deactivated_at is None
        row = ModerationAction.objects.get(action="suspend")
        assert (row.moderator, row.user, row.reason, row.report) == (moderator, author, "spam wave", None)
        assert reverse("admin:accounts_user_unsuspend", args=[author.pk]) in client.get(change).content.decode()
        client.post(reverse("admin:accounts_user_unsuspend", args=[author.pk]), {"reason": "appeal"})
        author.refresh_from_db()
        assert author.is_active
        assert ModerationAction.objects.get(action="unsuspend").reason == "appeal"

    def test_refused_for_staff_self_and_non_moderators(self, moderator):
        staff = UserFactory(is_staff=True)
        client = logged_in(moderator)
        assert client.post(reverse("admin:accounts_user_suspend", args=[staff.pk]), {"reason": "x"}).status_code == 403
        response = client.post(reverse("admin:accounts_user_suspend", args=[moderator.pk]), {"reason": "x"})
        assert response.status_code == 200 and b"your own account" in response.content
        plain_staff = logged_in(UserFactory(is_staff=True))
        target = UserFactory()
        assert (
            plain_staff.post(reverse("admin:accounts_user_suspend", args=[target.pk]), {"reason": "x"}).status_code
            == 403
        )
        assert (
            Client().post(reverse("admin:accounts_user_suspend", args=[target.pk]), {"reason": "x"}).status_code == 302
        )
        assert client.get(reverse("admin:accounts_user_suspend", args=["not-a-uuid"])).status_code == 404
        assert not ModerationAction.objects.exists()
        for user in (staff, moderator, target):
            user.refresh_from_db()
            assert user.is_active
