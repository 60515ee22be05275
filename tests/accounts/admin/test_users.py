"""User admin: adding, editing through services, and the deactivate-and-erase action."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts import services
from accounts.models import Follow, FollowRequest, Profile, User
from tests.accounts.admin.conftest import form_data
from tests.conftest import image_bytes
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:accounts_user_changelist"


def change_url(user):
    return reverse("admin:accounts_user_change", args=[user.pk])


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- Adding -------------------------------------------------------------------------------------


def test_superuser_adds_a_user_with_a_uuid_pk_and_a_profile(superuser_client):
    response = superuser_client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "newbie",
            "email": "Newbie@Example.com",
            "usable_password": "true",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
        },
    )
    user = User.objects.get(username="newbie")
    assert response.status_code == 302
    assert response["Location"] == change_url(user)
    assert user.check_password("a-long-enough-passphrase")
    assert Profile.objects.filter(user=user).exists()
    assert superuser_client.get(change_url(user)).status_code == 200


def test_add_without_email_and_without_password(superuser_client):
    for username in ("nomail1", "nomail2"):
        response = superuser_client.post(
            reverse("admin:accounts_user_add"),
            {"username": username, "email": "", "usable_password": "false", "password1": "", "password2": ""},
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
    users = User.objects.filter(username__startswith="nomail")
    assert {user.email for user in users} == {None}
    assert not any(user.has_usable_password() for user in users)


@pytest.mark.parametrize(
    ("username", "email", "field"),
    [
        ("ALICE", "fresh@example.com", "username"),  # unique regardless of case
        ("fresh", "ALICE@EXAMPLE.COM", "email"),  # unique regardless of case
        ("ab", "fresh@example.com", "username"),  # too short
        ("bad name", "fresh@example.com", "username"),  # validator
    ],
)
def test_add_form_enforces_username_and_email_rules(superuser_client, username, email, field):
    UserFactory(username="alice")
    response = superuser_client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": username,
            "email": email,
            "usable_password": "true",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
        },
    )
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not User.objects.filter(username=username).exists()


def test_change_form_rejects_an_email_taken_in_another_case(superuser_client):
    UserFactory(username="alice")
    bob = UserFactory(username="bob")
    response = superuser_client.get(change_url(bob))
    data = form_data(response)
    data["email"] = "Alice@Example.com"
    response = superuser_client.post(change_url(bob), data)
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors


# --- Editing through the profile inline ----------------------------------------------------------------


def test_editing_the_profile_inline_goes_through_profile_update(moderator_client):
    owner = UserFactory(username="owner", private=True)
    asker = UserFactory(username="asker")
    services.follow_create(follower=asker, followed_user_id=owner.pk)
    assert FollowRequest.objects.filter(requester=asker, target=owner).exists()

    data = form_data(moderator_client.get(change_url(owner)))
    data["profile-0-display_name"] = "  The Owner  "
    data["profile-0-is_private"] = ""  # going public lets everyone who asked in
    response = moderator_client.post(change_url(owner), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    owner.profile.refresh_from_db()
    assert owner.profile.display_name == "The Owner"  # stripped by the service
    assert not owner.profile.is_private
    assert Follow.objects.filter(follower=asker, followed=owner).exists()
    assert not FollowRequest.objects.filter(requester=asker, target=owner).exists()
    assert owner.profile.followers_count == 1
    entry = LogEntry.objects.filter(object_id=str(owner.pk)).latest("action_time")
    assert "profile of owner" in entry.get_change_message()


# --- Deactivate and erase ---------------------------------------------------------------------------------


@pytest.fixture
def victim():
    user = UserFactory(username="victim", phone="+14155550199")
    friend = UserFactory(username="friend")
    services.profile_update(user=user, display_name="Vic Tim", bio="Personal things", interests=["chess"])
    services.avatar_set(user=user, upload=SimpleUploadedFile("v.png", image_bytes(), content_type="image/png"))
    services.follow_create(follower=user, followed_user_id=friend.pk)
    services.follow_create(follower=friend, followed_user_id=user.pk)
    return user


def deactivate(client, *users, confirm=True):
    data = {"action": "deactivate_accounts", ACTION_CHECKBOX_NAME: [str(user.pk) for user in users]}
    if confirm:
        data["post"] = "yes"
    return client.post(reverse(CHANGELIST), data)


@pytest.mark.parametrize("who", ["superuser_client", "moderator_client"])
def test_deactivate_action_asks_for_confirmation_first(request, who, victim):
    client = request.getfixturevalue(who)
    response = deactivate(client, victim, confirm=False)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Deactivate 1 account and erase its" in content
    assert "victim" in content
    assert 'name="post" value="yes"' in content
    victim.refresh_from_db()
    assert victim.is_active


@pytest.mark.parametrize("who", ["superuser_client", "moderator_client"])
def test_deactivate_action_erases_personal_data(request, who, victim, django_capture_on_commit_callbacks):
    client = request.getfixturevalue(who)
    avatar_name = Profile.objects.get(user=victim).avatar.name
    assert avatar_name
    friend = User.objects.get(username="friend")

    with django_capture_on_commit_callbacks(execute=True):
        response = deactivate(client, victim)

    assert response.status_code == 302
    assert "Deactivated 1 account and erased its personal data." in messages_of(response)
    victim.refresh_from_db()
    assert not victim.is_active
    assert victim.deactivated_at is not None
    assert victim.username.startswith("deleted-")
    assert victim.email is None
    assert victim.phone is None
    assert not victim.has_usable_password()
    profile = Profile.objects.get(user=victim)
    assert (profile.display_name, profile.bio, profile.avatar.name) == ("", "", "")
    assert not profile.interests.exists()
    assert not Follow.objects.filter(follower=victim).exists()
    assert not Follow.objects.filter(followed=victim).exists()
    friend.profile.refresh_from_db()
    assert (friend.profile.followers_count, friend.profile.following_count) == (0, 0)
    assert not default_storage.exists(avatar_name)
    assert LogEntry.objects.filter(object_id=str(victim.pk), change_message__contains="Deactivated").exists()


def test_deactivate_action_skips_own_and_staff_accounts_for_moderators(moderator_client, moderator, superuser):
    regular = UserFactory(username="regular")
    response = deactivate(moderator_client, moderator, superuser, regular)
    assert response.status_code == 302
    for user in (moderator, superuser):
        user.refresh_from_db()
        assert user.is_active
    regular.refresh_from_db()
    assert not regular.is_active
    assert any(message.startswith("Skipped:") for message in messages_of(response))


def test_remove_avatar_action(moderator_client, victim):
    response = moderator_client.post(
        reverse(CHANGELIST), {"action": "remove_avatars", ACTION_CHECKBOX_NAME: [str(victim.pk)]}
    )
    assert response.status_code == 302
    victim.profile.refresh_from_db()
    assert not victim.profile.avatar
    assert victim.is_active


def test_superuser_delete_keeps_other_counters_right(superuser_client, victim):
    friend = User.objects.get(username="friend")
    response = superuser_client.post(reverse("admin:accounts_user_delete", args=[victim.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=victim.pk).exists()
    friend.profile.refresh_from_db()
    assert (friend.profile.followers_count, friend.profile.following_count) == (0, 0)
