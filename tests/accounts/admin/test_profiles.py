"""Profile and interest admin: edits go through profile_update; profiles go with their account."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts import services
from accounts.models import Interest, Profile
from tests.accounts.admin.conftest import form_data
from tests.conftest import image_bytes
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def change_url(profile):
    return reverse("admin:accounts_profile_change", args=[profile.pk])


def test_moderator_edits_a_profile_through_the_service(moderator_client):
    user = UserFactory(username="person")
    services.profile_update(user=user, interests=["chess"])
    profile = Profile.objects.get(user=user)
    go = Interest.objects.create(name="go")

    data = form_data(moderator_client.get(change_url(profile)))
    data.update({"bio": "  Board games.  ", "interests": [str(go.pk)], "profile_info": '{"pronouns": "they/them"}'})
    response = moderator_client.post(change_url(profile), data)

    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.bio == "Board games."  # stripped by profile_update
    assert list(profile.interests.values_list("name", flat=True)) == ["go"]
    assert profile.profile_info == {"pronouns": "they/them"}


def test_profile_form_refuses_what_the_service_would_refuse(moderator_client):
    profile = Profile.objects.get(user=UserFactory())
    data = form_data(moderator_client.get(change_url(profile)))
    data["profile_info"] = "[1, 2]"
    response = moderator_client.post(change_url(profile), data)
    assert response.status_code == 200
    assert "profile_info" in response.context["adminform"].form.errors


def test_profiles_are_not_added_or_deleted_on_their_own(superuser_client):
    user = UserFactory()
    profile = Profile.objects.get(user=user)
    assert superuser_client.get(reverse("admin:accounts_profile_add")).status_code == 403
    response = superuser_client.get(reverse("admin:accounts_profile_delete", args=[profile.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:accounts_user_delete", args=[user.pk])


def test_remove_avatar_from_profile_list(moderator_client):
    user = UserFactory()
    services.avatar_set(user=user, upload=SimpleUploadedFile("a.png", image_bytes(), content_type="image/png"))
    profile = Profile.objects.get(user=user)
    response = moderator_client.post(
        reverse("admin:accounts_profile_changelist"),
        {"action": "remove_avatars", ACTION_CHECKBOX_NAME: [str(profile.pk)]},
    )
    assert response.status_code == 302
    profile.refresh_from_db()
    assert not profile.avatar


def test_interest_names_are_normalised_like_the_service_does(superuser_client):
    Interest.objects.create(name="board games")
    url = reverse("admin:accounts_interest_add")
    response = superuser_client.post(url, {"name": "  Board   Games "})
    assert response.status_code == 200
    assert "name" in response.context["adminform"].form.errors
    assert superuser_client.post(url, {"name": " Urban  Sketching"}).status_code == 302
    assert Interest.objects.filter(name="urban sketching").exists()
