import io

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from accounts import services
from accounts.management.commands.load_demo import DEMO_EMAIL_DOMAIN, DEMO_PASSWORD
from accounts.models import Block, Follow, FollowRequest, Mute, Profile, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

USERS = 8


def demo_users():
    return User.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}")


def load_demo(*args):
    out = io.StringIO()
    call_command("load_demo", "--users", str(USERS), "--seed", "7", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def snapshot():
    users = demo_users()
    return {
        "users": sorted(users.values_list("username", flat=True)),
        "follows": sorted(
            Follow.objects.filter(follower__in=users).values_list("follower__username", "followed__username")
        ),
        "requests": sorted(
            FollowRequest.objects.filter(requester__in=users).values_list("requester__username", "target__username")
        ),
        "blocks": Block.objects.filter(blocker__in=users).count(),
        "mutes": Mute.objects.filter(muter__in=users).count(),
        "profiles": sorted(
            Profile.objects.filter(user__in=users).values_list("user__username", "display_name", "bio", "is_private")
        ),
    }


def assert_counters_match_follow_rows(*others):
    users = demo_users() | User.objects.filter(pk__in=[user.pk for user in others])
    for profile in Profile.objects.filter(user__in=users).select_related("user"):
        assert profile.followers_count == Follow.objects.filter(followed=profile.user).count(), profile
        assert profile.following_count == Follow.objects.filter(follower=profile.user).count(), profile


def test_load_demo_creates_accounts_profiles_avatars_and_follows():
    output = load_demo()

    assert demo_users().count() == USERS
    demo = User.objects.get(username="demo")
    assert demo.check_password(DEMO_PASSWORD)
    assert f"demo / {DEMO_PASSWORD}" in output

    profiles = Profile.objects.filter(user__in=demo_users()).select_related("user")
    assert profiles.count() == USERS
    assert all(profile.display_name for profile in profiles)
    assert profiles.filter(interests__isnull=False).distinct().count() == USERS
    with_avatar = [profile for profile in profiles if profile.avatar]
    assert demo.profile.avatar
    assert len(with_avatar) >= USERS // 2
    for profile in with_avatar:
        assert default_storage.exists(profile.avatar.name)
        assert profile.avatar.name.endswith(".webp")

    assert Follow.objects.filter(follower=demo).exists()
    assert Follow.objects.filter(follower__in=demo_users()).count() >= USERS
    assert_counters_match_follow_rows()
    # Pending requests only ever point at private accounts.
    requests = FollowRequest.objects.filter(requester__in=demo_users()).select_related("target__profile")
    assert requests.exists()
    assert all(request.target.profile.is_private for request in requests)


def test_private_accounts_get_requests_and_some_are_approved():
    call_command("load_demo", "--users", "20", "--seed", "3", stdout=io.StringIO(), stderr=io.StringIO())
    assert Profile.objects.filter(user__in=demo_users(), is_private=True).exists()
    assert FollowRequest.objects.filter(requester__in=demo_users()).exists()
    approved = Follow.objects.filter(follower__in=demo_users(), followed__profile__is_private=True)
    assert approved.exists()
    assert_counters_match_follow_rows()


def test_second_run_changes_nothing():
    load_demo()
    before = snapshot()
    output = load_demo()
    assert snapshot() == before
    assert f"0 accounts created, {USERS} already there" in output
    assert_counters_match_follow_rows()


def test_same_seed_same_data_and_reset_recreates_it():
    load_demo()
    first = snapshot()
    load_demo("--reset")
    assert snapshot() == first
    assert_counters_match_follow_rows()


def test_reset_leaves_other_accounts_alone_and_their_counters_right():
    outsider = UserFactory(username="outsider")
    load_demo()
    for demo_user in demo_users()[:3]:
        services.follow_create(follower=demo_user, followed_user_id=outsider.pk)
    services.follow_create(follower=outsider, followed_user_id=User.objects.get(username="demo").pk)
    load_demo("--reset")
    assert User.objects.filter(pk=outsider.pk).exists()
    assert_counters_match_follow_rows(outsider)
    outsider.profile.refresh_from_db()
    assert outsider.profile.followers_count == 0  # the old demo accounts are gone; the new ones don't follow
    assert outsider.profile.following_count == 0


def test_existing_non_demo_username_is_skipped():
    UserFactory(username="demo", email="someone@example.com")
    output = io.StringIO()
    errors = io.StringIO()
    call_command("load_demo", "--users", "4", stdout=output, stderr=errors)
    assert "non-demo account" in errors.getvalue()
    assert User.objects.get(username="demo").email == "someone@example.com"
    assert demo_users().count() == 3


def test_users_must_be_positive():
    with pytest.raises(CommandError):
        call_command("load_demo", "--users", "0")
