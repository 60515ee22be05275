import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts import services
from tests.conftest import image_bytes
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    return {"display_name": "Ada", "bio": "Counting engines", "interests": "math, Poetry ,", **overrides}


def test_edit_profile_with_png_avatar(client, user):
    client.force_login(user)
    avatar = SimpleUploadedFile("me.png", image_bytes("PNG"), content_type="image/png")

    response = client.post(reverse("profile_edit"), form_data(avatar=avatar, is_private="on"))

    assert response.status_code == 302
    assert response.url == reverse("profile", args=[user.username])
    profile = user.profile.__class__.objects.get(pk=user.profile.pk)
    assert (profile.display_name, profile.bio, profile.is_private) == ("Ada", "Counting engines", True)
    assert sorted(i.name for i in profile.interests.all()) == ["math", "poetry"]
    assert profile.avatar.name.endswith(".webp")
    page = client.get(response.url).content.decode()
    assert f'src="{profile.avatar.url}"' in page
    assert "Counting engines" in page
    assert "Your profile was saved." in page


def test_edit_profile_prefills_current_values(client, user):
    services.profile_update(user=user, bio="Old bio", interests=["chess"])
    client.force_login(user)
    html = client.get(reverse("profile_edit")).content.decode()
    assert "Old bio" in html and 'value="chess"' in html
    assert 'enctype="multipart/form-data"' in html


def test_bad_avatar_shows_inline_error_and_saves_nothing(client, user):
    client.force_login(user)
    upload = SimpleUploadedFile("notes.png", b"definitely not an image", content_type="image/png")

    response = client.post(reverse("profile_edit"), form_data(avatar=upload))

    assert response.status_code == 200
    assert response.context["form"].errors["avatar"] == ["That file is not an image we can read."]
    assert "That file is not an image we can read." in response.content.decode()
    user.profile.refresh_from_db()
    assert user.profile.bio == "" and not user.profile.avatar


def test_too_long_bio_is_a_form_error(client, user):
    client.force_login(user)
    response = client.post(reverse("profile_edit"), form_data(bio="x" * 301))
    assert response.status_code == 200
    assert "bio" in response.context["form"].errors


def test_too_many_interests_shows_service_message(client, user):
    client.force_login(user)
    interests = ", ".join(f"topic{i}" for i in range(25))
    response = client.post(reverse("profile_edit"), form_data(interests=interests))
    assert response.context["form"].errors["interests"] == ["At most 20 interests."]


def test_remove_avatar(client, user):
    avatar = SimpleUploadedFile("me.png", image_bytes("PNG"), content_type="image/png")
    services.avatar_set(user=user, upload=avatar)
    client.force_login(user)
    assert "Remove current photo" in client.get(reverse("profile_edit")).content.decode()

    client.post(reverse("profile_edit"), form_data(remove_avatar="on"))

    user.profile.refresh_from_db()
    assert not user.profile.avatar


def test_delete_account_needs_the_password(client, user):
    client.force_login(user)

    response = client.post(reverse("delete_account"), {"password": "wrong"})

    assert response.status_code == 200
    assert "That password is not correct." in response.content.decode()
    user.refresh_from_db()
    assert user.is_active


def test_delete_account_deactivates_and_logs_out(client, user):
    client.force_login(user)

    response = client.post(reverse("delete_account"), {"password": PASSWORD}, follow=True)

    user.refresh_from_db()
    assert not user.is_active and user.deactivated_at
    assert not response.context["user"].is_authenticated
    assert "Your account was deleted." in response.content.decode()


def test_delete_account_without_password_confirms_with_username(client, user):
    user.set_unusable_password()
    user.save()
    client.force_login(user)
    username = user.username

    client.post(reverse("delete_account"), {"password": username.upper()})

    user.refresh_from_db()
    assert not user.is_active
