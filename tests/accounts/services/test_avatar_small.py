"""The small avatar (AVATAR_SMALL_SIZE): made with the full one, shown where avatars are 40px,
deleted with it; avatars from before it existed show the full one."""

import re

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts import services
from accounts.models import Profile
from tests.conftest import image_bytes

pytestmark = pytest.mark.django_db


def _set(user, **kwargs):
    upload = SimpleUploadedFile("me.png", image_bytes("PNG", **kwargs), content_type="image/png")
    return services.avatar_set(user=user, upload=upload)


def test_setting_an_avatar_makes_the_small_square_too(user):
    profile = _set(user, size=(900, 600))
    assert profile.avatar_small.name.startswith(f"avatars/{user.pk}/") and profile.avatar_small.name.endswith(
        "-small.webp"
    )
    with default_storage.open(profile.avatar_small.name) as stored:
        image = Image.open(stored)
        image.load()
    assert image.format == "WEBP" and image.size == (96, 96)
    assert not image.getexif()


def test_replacing_and_removing_delete_both_files(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = _set(user)
    old = [first.avatar.name, first.avatar_small.name]
    with django_capture_on_commit_callbacks(execute=True):
        second = _set(user)
    assert not any(default_storage.exists(name) for name in old)
    new = [second.avatar.name, second.avatar_small.name]
    assert all(default_storage.exists(name) for name in new)
    with django_capture_on_commit_callbacks(execute=True):
        profile = services.avatar_remove(user=user)
    assert not profile.avatar and not profile.avatar_small
    assert not any(default_storage.exists(name) for name in new)


def test_small_avatars_use_the_small_file_at_their_size_and_load_lazily(client, user, other_user, post_by, follow):
    follow(user, other_user)
    profile = _set(other_user)
    post_by(other_user, "hello")
    client.force_login(user)
    html = client.get("/").content.decode()
    card_avatar = re.search(r'<img class="avatar avatar--sm"[^>]*>', html).group(0)
    assert f'src="{profile.avatar_small.url}"' in card_avatar
    assert 'width="40" height="40"' in card_avatar and 'loading="lazy"' in card_avatar and 'alt=""' in card_avatar
    # The profile page's large photo: the full file, on the first screen, so not lazy.
    page = client.get(reverse("profile", args=[other_user.username])).content.decode()
    large = re.search(r'<img class="avatar avatar--lg"[^>]*>', page).group(0)
    assert f'src="{profile.avatar.url}"' in large and 'width="112" height="112"' in large
    assert "loading=" not in large


def test_an_avatar_from_before_the_small_file_shows_the_full_one(client, user, other_user, post_by, follow):
    follow(user, other_user)
    _set(other_user)
    Profile.objects.filter(user=other_user).update(avatar_small="")
    post_by(other_user, "hello")
    client.force_login(user)
    html = client.get("/").content.decode()
    card_avatar = re.search(r'<img class="avatar avatar--sm"[^>]*>', html).group(0)
    full = Profile.objects.get(user=other_user).avatar.url
    assert f'src="{full}"' in card_avatar and 'width="40" height="40"' in card_avatar
