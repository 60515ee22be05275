import pytest
from django.urls import reverse

from accounts import services
from accounts.models import Block, Follow, FollowRequest, Mute
from tests.factories import FollowRequestFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_follow_and_unfollow_redirect_back(client, user, other_user):
    client.force_login(user)
    profile_url = reverse("profile", args=[other_user.username])

    response = client.post(reverse("follow", args=[other_user.pk]), {"next": profile_url})

    assert response.status_code == 302 and response.url == profile_url
    assert Follow.objects.filter(follower=user, followed=other_user).exists()
    page = client.get(profile_url)
    assert "You now follow" in page.content.decode()
    assert 'data-follow-state="following"' in page.content.decode()

    client.post(reverse("unfollow", args=[other_user.pk]))
    assert not Follow.objects.filter(follower=user, followed=other_user).exists()


def test_follow_ignores_offsite_next(client, user, other_user):
    client.force_login(user)
    response = client.post(reverse("follow", args=[other_user.pk]), {"next": "https://evil.example/"})
    assert response.url == reverse("profile", args=[other_user.username])


def test_follow_private_account_sends_request_and_can_cancel(client, user):
    private = UserFactory(private=True)
    client.force_login(user)

    client.post(reverse("follow", args=[private.pk]))
    page = client.get(reverse("profile", args=[private.username])).content.decode()

    assert FollowRequest.objects.filter(requester=user, target=private).exists()
    assert "Follow request sent" in page
    assert 'data-follow-state="requested"' in page

    client.post(reverse("unfollow", args=[private.pk]))
    assert not FollowRequest.objects.exists()


def test_follow_requires_post_and_login(client, user, other_user):
    url = reverse("follow", args=[other_user.pk])
    assert client.post(url).url.startswith(reverse("account_login"))
    client.force_login(user)
    assert client.get(url).status_code == 405


def test_follow_self_shows_service_message(client, user):
    client.force_login(user)
    response = client.post(reverse("follow", args=[user.pk]), follow=True)
    assert "You can&#x27;t follow yourself." in response.content.decode()


def test_follow_unknown_user_shows_message(client, user):
    client.force_login(user)
    response = client.post("/users/00000000-0000-0000-0000-000000000000/follow/", follow=True)
    assert response.status_code == 200
    assert "No such user." in response.content.decode()


def test_user_routes_need_uuids(client, user):
    client.force_login(user)
    assert client.post("/users/not-a-uuid/follow/").status_code == 404


def test_htmx_follow_returns_button_fragment(client, user, other_user):
    client.force_login(user)

    response = client.post(reverse("follow", args=[other_user.pk]), {"oob_counts": "1"}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'data-follow-state="following"' in html
    assert 'hx-post="{}"'.format(reverse("unfollow", args=[other_user.pk])) in html
    assert 'id="profile-counts" hx-swap-oob="true"' in html
    assert '<strong data-count="followers">1</strong>' in html
    assert 'id="messages" hx-swap-oob="innerHTML"' in html and "You now follow" in html


def test_htmx_unfollow_without_counts(client, user, other_user):
    services.follow_create(follower=user, followed_user_id=other_user.pk)
    client.force_login(user)

    html = client.post(reverse("unfollow", args=[other_user.pk]), **HTMX).content.decode()

    assert 'data-follow-state="none"' in html
    assert "profile-counts" not in html


def test_htmx_follow_of_vanished_user_keeps_button(client, user, other_user):
    services.user_deactivate(user=other_user)
    client.force_login(user)
    response = client.post(reverse("follow", args=[other_user.pk]), **HTMX)
    assert response["HX-Reswap"] == "none"
    assert "No such user." in response.content.decode()


def test_block_and_unblock(client, user, other_user):
    services.follow_create(follower=user, followed_user_id=other_user.pk)
    client.force_login(user)

    client.post(reverse("block", args=[other_user.pk]))
    page = client.get(reverse("profile", args=[other_user.username])).content.decode()

    assert Block.objects.filter(blocker=user, blocked=other_user).exists()
    assert not Follow.objects.exists()
    assert "You blocked" in page
    assert reverse("unblock", args=[other_user.pk]) in page
    assert reverse("follow", args=[other_user.pk]) not in page
    # Only what works: no Message button, no "No posts yet." for posts that are only hidden.
    assert reverse("message_new") not in page and "No posts yet" not in page
    assert "Their posts are hidden while you block" in page and "Unblock @" in page

    client.post(reverse("unblock", args=[other_user.pk]), {"next": reverse("blocked")})
    assert not Block.objects.exists()


def test_blocked_user_cannot_see_blocker(client, user, other_user):
    client.force_login(other_user)
    client.post(reverse("block", args=[user.pk]))
    client.force_login(user)
    assert client.get(reverse("profile", args=[other_user.username])).status_code == 404


def test_mute_and_unmute(client, user, other_user):
    client.force_login(user)

    client.post(reverse("mute", args=[other_user.pk]))
    assert Mute.objects.filter(muter=user, muted=other_user).exists()
    assert reverse("unmute", args=[other_user.pk]) in client.get(reverse("muted")).content.decode()

    response = client.post(reverse("unmute", args=[other_user.pk]), {"next": reverse("muted")})
    assert response.url == reverse("muted")
    assert not Mute.objects.exists()


def test_approve_and_reject_follow_requests(client, user):
    user.profile.is_private = True
    user.profile.save()
    approved, rejected = FollowRequestFactory(target=user), FollowRequestFactory(target=user)
    client.force_login(user)
    page = client.get(reverse("follow_requests")).content.decode()
    assert reverse("follow_request_approve", args=[approved.pk]) in page

    client.post(reverse("follow_request_approve", args=[approved.pk]))
    response = client.post(reverse("follow_request_reject", args=[rejected.pk]), follow=True)

    assert Follow.objects.filter(follower=approved.requester, followed=user).exists()
    assert not FollowRequest.objects.exists()
    assert "Request declined." in response.content.decode()


def test_approve_someone_elses_request_shows_message(client, user):
    foreign = FollowRequestFactory()
    client.force_login(user)
    response = client.post(reverse("follow_request_approve", args=[foreign.pk]), follow=True)
    assert "No such follow request." in response.content.decode()
    assert FollowRequest.objects.filter(pk=foreign.pk).exists()


def _request_badge(client):
    page = client.get(reverse("home")).content.decode()
    return page.split("Follow requests", 1)[1].split("</a>", 1)[0]


def test_follow_request_badge_is_cached_and_follows_every_change(client, user, other_user, act):
    """The header badge is cached per user (no COUNT on every page) and is never stale after a
    request is made, approved, rejected or withdrawn."""
    user.profile.is_private = True
    user.profile.save()
    client.force_login(user)
    assert "badge" not in _request_badge(client)

    act(services.follow_create, follower=other_user, followed_user_id=user.pk)
    assert ">1<" in _request_badge(client)
    act(services.follow_delete, follower=other_user, followed_user_id=user.pk)
    assert "badge" not in _request_badge(client)

    act(services.follow_create, follower=other_user, followed_user_id=user.pk)
    third = UserFactory()
    act(services.follow_create, follower=third, followed_user_id=user.pk)
    assert ">2<" in _request_badge(client)
    client.post(reverse("follow_request_reject", args=[FollowRequest.objects.get(requester=third).pk]))
    assert ">1<" in _request_badge(client)
    client.post(reverse("follow_request_approve", args=[FollowRequest.objects.get(requester=other_user).pk]))
    assert "badge" not in _request_badge(client)


def test_follow_request_badge_costs_no_query_once_cached(client, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(user)
    client.get(reverse("home"))
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("home"))
    assert not [q for q in queries.captured_queries if "accounts_followrequest" in q["sql"]]
