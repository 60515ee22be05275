import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services
from tests.factories import BlockFactory, FollowRequestFactory, MuteFactory, UserFactory

pytestmark = pytest.mark.django_db
# Forms that change something post, with a token; the header's search form is a GET.
POST_FORM = re.compile(r'<form[^>]*method="post"', re.IGNORECASE)


def test_home_anonymous_invites_to_sign_up(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("account_signup") in html
    assert reverse("account_login") in html
    assert "data-ws-url" not in html


def test_home_signed_in_suggests_people_not_yet_followed(client, user):
    followed, suggested = UserFactory(), UserFactory()
    services.follow_create(follower=user, followed_user_id=followed.pk)
    blocking_me = UserFactory()
    BlockFactory(blocker=blocking_me, blocked=user)
    for friend_of_friend in (suggested, blocking_me, user):
        services.follow_create(follower=followed, followed_user_id=friend_of_friend.pk)
    client.force_login(user)

    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-ws-url="/ws/"' in html
    assert "X-CSRFToken" in html
    assert 'id="feed-title"' in html
    assert 'hx-get="/search/suggestions/"' in html  # who to follow, from search, after the page
    panel = client.get("/search/suggestions/").content.decode()
    assert f"@{suggested.username}" in panel
    for not_suggested in (followed, blocking_me, user):
        assert f"@{not_suggested.username}<" not in panel and f"/u/{not_suggested.username}/" not in panel


def test_base_includes_static_assets_and_no_inline_code(client, user):
    client.force_login(user)
    html = client.get("/").content.decode()
    for asset in ("css/site.css", "vendor/htmx.min.js", "js/realtime.js"):
        assert f"/static/{asset}" in html
    assert "<script>" not in html and "style=" not in html and "<style" not in html
    assert '"includeIndicatorStyles": false' in html


def test_profile_page(client, user, other_user):
    other_user.profile.bio = "Hello there"
    other_user.profile.save()
    client.force_login(user)

    response = client.get(reverse("profile", args=[other_user.username]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Hello there" in html
    assert f"@{other_user.username}" in html
    assert reverse("follow", args=[other_user.pk]) in html
    assert reverse("block", args=[other_user.pk]) in html
    assert reverse("mute", args=[other_user.pk]) in html


def test_profile_username_is_case_insensitive(client, other_user):
    assert client.get(f"/u/{other_user.username.upper()}/").status_code == 200


def test_own_profile_offers_edit_not_follow(client, user):
    client.force_login(user)
    html = client.get(reverse("profile", args=[user.username])).content.decode()
    assert reverse("profile_edit") in html
    assert reverse("follow", args=[user.pk]) not in html


def test_profile_anonymous_gets_login_link_instead_of_follow_form(client, other_user):
    html = client.get(reverse("profile", args=[other_user.username])).content.decode()
    assert reverse("account_login") in html
    assert reverse("follow", args=[other_user.pk]) not in html


def test_profile_initials_placeholder_without_avatar(client, other_user):
    other_user.profile.display_name = "Ada Lovelace"
    other_user.profile.save()
    html = client.get(reverse("profile", args=[other_user.username])).content.decode()
    assert ">AL</span>" in html


def test_private_profile_shows_notice(client, user):
    private = UserFactory(private=True)
    client.force_login(user)
    html = client.get(reverse("profile", args=[private.username])).content.decode()
    assert "This account is private" in html
    assert reverse("followers", args=[private.username]) not in html


@pytest.mark.parametrize("case", ["unknown", "deactivated", "blocked_viewer"])
def test_profile_404(client, user, other_user, case):
    username = other_user.username
    if case == "unknown":
        username = "nobody-here"
    elif case == "deactivated":
        services.user_deactivate(user=other_user)
    else:
        services.block_create(blocker=other_user, blocked_user_id=user.pk)
    client.force_login(user)

    response = client.get(f"/u/{username}/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_followers_and_following_lists(client, user, other_user):
    services.follow_create(follower=other_user, followed_user_id=user.pk)
    client.force_login(user)

    followers = client.get(reverse("followers", args=[user.username]))
    following = client.get(reverse("following", args=[other_user.username]))

    assert followers.status_code == following.status_code == 200
    assert followers.context["people"] == [other_user]
    assert following.context["people"] == [user]


def test_followers_list_is_paginated(client, user):
    for follower in UserFactory.create_batch(21):
        services.follow_create(follower=follower, followed_user_id=user.pk)

    first = client.get(reverse("followers", args=[user.username]))
    second = client.get(reverse("followers", args=[user.username]), {"page": 2})

    assert len(first.context["people"]) == 20
    assert len(second.context["people"]) == 1
    assert "?page=2" in first.content.decode()


def test_private_lists_are_403_for_non_followers(client, user):
    private = UserFactory(private=True)
    client.force_login(user)
    for name in ("followers", "following"):
        response = client.get(reverse(name, args=[private.username]))
        assert response.status_code == 403
        assert "This account is private" in response.content.decode()


def test_private_lists_open_to_followers(client, user):
    private = UserFactory(private=True)
    services.follow_create(follower=user, followed_user_id=private.pk)
    request = private.follow_requests.get()
    services.follow_request_approve(target=private, request_id=request.pk)
    client.force_login(user)
    assert client.get(reverse("followers", args=[private.username])).status_code == 200


@pytest.mark.parametrize("name", ["profile_edit", "delete_account", "follow_requests", "blocked", "muted"])
def test_settings_pages_require_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_settings_pages_render(client, user):
    FollowRequestFactory(target=user)
    BlockFactory(blocker=user)
    MuteFactory(muter=user)
    client.force_login(user)
    for name in ("profile_edit", "delete_account", "follow_requests", "blocked", "muted"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
    assert len(client.get(reverse("blocked")).context["people"]) == 1
    assert len(client.get(reverse("muted")).context["people"]) == 1


def test_nav_shows_pending_request_count(client, user):
    FollowRequestFactory.create_batch(2, target=user)
    client.force_login(user)
    html = client.get("/").content.decode()
    assert '<span class="badge">2<span class="sr-only"> pending</span></span>' in html


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/accounts/password/reset/done/",
        "/accounts/login/code/",
        "/accounts/confirm-email/not-a-key/",
    ],
)
def test_allauth_pages_use_site_layout(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="card auth-card"' in html
    assert "/static/css/site.css" in html
    assert len(POST_FORM.findall(html)) == html.count("csrfmiddlewaretoken")
    # Every visible input has a label.
    assert html.count("<label") >= html.count("<input") - html.count('type="hidden"')


def test_login_code_confirmation_page_uses_site_layout(client, user):
    response = client.post("/accounts/login/code/", {"email": user.email}, follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="card auth-card"' in html
    assert '<label for="id_code">' in html


def test_allauth_manage_pages_use_site_layout(client, user):
    client.force_login(user)
    for url in ("/accounts/logout/", "/accounts/email/", "/accounts/password/change/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'class="card auth-card"' in response.content.decode()


def test_login_error_is_shown(client, user):
    response = client.post("/accounts/login/", {"login": user.username, "password": "wrong"})
    assert response.status_code == 200
    assert 'class="form__errors"' in response.content.decode()


def test_post_without_csrf_token_is_refused(user, other_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(reverse("follow", args=[other_user.pk]))
    assert response.status_code == 403
    assert not other_user.follower_set.exists()


def test_forms_carry_csrf_tokens(client, user, other_user):
    client.force_login(user)
    html = client.get(reverse("profile", args=[other_user.username])).content.decode()
    assert len(POST_FORM.findall(html)) == html.count("csrfmiddlewaretoken") > 0


def test_error_templates_render(client):
    from django.template.loader import render_to_string

    for code in (400, 403, 404, 500):
        html = render_to_string(f"errors/{code}.html", {"message": "msg"})
        assert str(code) in html
