import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from PIL import Image

from accounts import services
from tests.conftest import image_bytes
from tests.factories import BlockFactory, UserFactory
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db
User = get_user_model()

PUBLIC_FIELDS = {
    "id",
    "username",
    "display_name",
    "avatar_url",
    "is_private",
    "bio",
    "followers_count",
    "following_count",
    "interests",
    "profile_info",
    "joined_at",
    "relationship",
}
OWNER_FIELDS = PUBLIC_FIELDS | {"email", "email_verified", "phone", "phone_verified"}


def url(user_or_id, suffix=""):
    user_id = getattr(user_or_id, "pk", user_or_id)
    return f"/api/v1/users/{user_id}{suffix}"


class TestRead:
    def test_anyone_reads_public_fields(self, api, user):
        body = api.get(url(user)).json()
        assert set(body) == PUBLIC_FIELDS
        assert body["id"] == str(user.pk) and body["username"] == user.username
        assert body["relationship"] is None

    def test_owner_sees_private_fields_via_me(self, user_api, user):
        body = user_api.get(url("me")).json()
        assert set(body) == OWNER_FIELDS
        assert body["email"] == user.email and body["id"] == str(user.pk)

    def test_me_signed_out_is_401_as_everywhere(self, api):
        response = api.get(url("me"))
        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_other_users_see_relationship_not_email(self, client_for, user, other_user):
        services.follow_create(follower=other_user, followed_user_id=user.pk)
        body = client_for(other_user).get(url(user)).json()
        assert "email" not in body
        assert body["relationship"] == {
            "following": True,
            "followed_by": False,
            "requested": False,
            "blocking": False,
            "muting": False,
        }
        assert body["followers_count"] == 1

    @pytest.mark.parametrize("path", ["/api/v1/users/not-a-uuid", "/api/v1/users/123"])  # NUL: test_nul.py
    def test_malformed_id_is_404(self, api, path):
        assert_error(api.get(path), 404, "not_found")

    def test_unknown_deactivated_and_blocking_users_are_404(self, client_for, user, other_user):
        assert_error(client_for(user).get(url("00000000-0000-0000-0000-000000000000")), 404, "not_found")
        BlockFactory(blocker=other_user, blocked=user)
        assert_error(client_for(user).get(url(other_user)), 404, "not_found")
        gone = UserFactory()
        services.user_deactivate(user=gone)
        assert_error(client_for(user).get(url(gone)), 404, "not_found")


class TestUpdate:
    def test_patch_own_profile(self, user_api, user):
        response = user_api.patch(
            url(user),
            {"bio": " Birds. ", "display_name": "Ana", "is_private": True, "interests": ["Birding", "birding", "Jazz"]},
            format="json",
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["bio"] == "Birds." and body["display_name"] == "Ana" and body["is_private"] is True
        assert body["interests"] == ["birding", "jazz"]

    def test_put_replaces_omitted_fields_with_defaults(self, user_api, user):
        user_api.patch(url(user), {"bio": "old", "display_name": "Old"}, format="json")
        body = user_api.put(url("me"), {"display_name": "New"}, format="json").json()
        assert body["display_name"] == "New" and body["bio"] == ""

    def test_non_owner_gets_403_and_nothing_changes(self, client_for, user, other_user):
        response = client_for(other_user).patch(url(user), {"bio": "pwned"}, format="json")
        assert_error(response, 403, "not_owner")
        assert_error(client_for(other_user).delete(url(user)), 403, "not_owner")
        user.profile.refresh_from_db()
        assert user.profile.bio == ""
        assert User.objects.get(pk=user.pk).is_active

    @pytest.mark.parametrize(
        "body, field",
        [
            ({"bio": "x" * 301}, "bio"),
            ({"display_name": "x" * 51}, "display_name"),
            ({"is_private": "perhaps"}, "is_private"),
            ({"interests": "notalist"}, "interests"),
            ({"interests": [f"i{i}" for i in range(21)]}, "interests"),
            ({"profile_info": "text"}, "profile_info"),
        ],
    )
    def test_bad_input(self, user_api, user, body, field):
        error = assert_error(user_api.patch(url(user), body, format="json"), 400, "invalid")
        assert field in error["fields"]

    def test_unknown_fields_are_ignored_not_applied(self, user_api, user):
        user_api.patch(url(user), {"email": "evil@example.com", "is_staff": True}, format="json")
        user.refresh_from_db()
        assert user.email != "evil@example.com" and not user.is_staff

    def test_going_public_approves_pending_requests(self, user_api, user, other_user):
        user_api.patch(url(user), {"is_private": True}, format="json")
        services.follow_create(follower=other_user, followed_user_id=user.pk)
        body = user_api.patch(url(user), {"is_private": False}, format="json").json()
        assert body["followers_count"] == 1


class TestAvatar:
    def _exif_with_gps(self):
        exif = Image.Exif()
        exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}  # GPSInfo
        exif[0x010F] = "SpyCam"  # Make
        return exif

    def test_upload_decodes_resizes_and_strips_metadata(self, user_api, user):
        data = image_bytes("JPEG", size=(1200, 800), exif=self._exif_with_gps())
        upload = io.BytesIO(data)
        upload.name = "me.jpg"
        response = user_api.put(url(user, "/avatar"), {"avatar": upload}, format="multipart")
        assert response.status_code == 200, response.content
        assert response.json()["avatar_url"].startswith("http://testserver/media/avatars/")
        user.profile.refresh_from_db()
        with default_storage.open(user.profile.avatar.name) as stored:
            image = Image.open(stored)
            image.load()
        assert image.format == "WEBP" and image.size == (400, 400)
        assert not image.getexif()

    def test_replacing_deletes_the_old_file(self, user_api, user, django_capture_on_commit_callbacks):
        names = []
        for _ in range(2):
            upload = io.BytesIO(image_bytes())
            upload.name = "a.png"
            with django_capture_on_commit_callbacks(execute=True):
                user_api.put(url(user, "/avatar"), {"avatar": upload}, format="multipart")
            user.profile.refresh_from_db()
            names.append(user.profile.avatar.name)
        assert names[0] != names[1]
        assert not default_storage.exists(names[0]) and default_storage.exists(names[1])

    @pytest.mark.parametrize(
        "payload, code",
        [
            (b"GIF89a not really", "invalid_image"),
            (b"%PDF-1.4 hello", "invalid_image"),
            (image_bytes("PNG")[:200], "invalid_image"),
            (image_bytes("BMP"), "unsupported_image"),
        ],
    )
    def test_rejects_what_does_not_decode(self, user_api, user, payload, code):
        upload = io.BytesIO(payload)
        upload.name = "x.png"
        error = assert_error(user_api.put(url(user, "/avatar"), {"avatar": upload}, format="multipart"), 400, code)
        assert "avatar" in error["fields"]

    def test_oversized_and_bomb(self, user_api, user, settings):
        settings.AVATAR_MAX_UPLOAD_BYTES = 1000
        upload = io.BytesIO(image_bytes(size=(800, 800)) + b"\0" * 2000)
        upload.name = "big.png"
        assert_error(user_api.put(url(user, "/avatar"), {"avatar": upload}, format="multipart"), 400, "file_too_large")
        settings.AVATAR_MAX_UPLOAD_BYTES = 8 * 2**20
        settings.AVATAR_MAX_PIXELS = 10_000
        upload = io.BytesIO(image_bytes(size=(200, 200)))
        upload.name = "bomb.png"
        assert_error(user_api.put(url(user, "/avatar"), {"avatar": upload}, format="multipart"), 400, "image_too_large")

    def test_missing_file_and_non_owner(self, user_api, client_for, user, other_user):
        assert_error(user_api.put(url(user, "/avatar"), {}, format="multipart"), 400, "invalid")
        upload = io.BytesIO(image_bytes())
        upload.name = "a.png"
        assert_error(client_for(other_user).put(url(user, "/avatar"), {"avatar": upload}, format="multipart"), 403)

    def test_remove(self, user_api, user):
        upload = io.BytesIO(image_bytes())
        upload.name = "a.png"
        user_api.put(url(user, "/avatar"), {"avatar": upload}, format="multipart")
        assert user_api.delete(url(user, "/avatar")).status_code == 204
        assert user_api.get(url("me")).json()["avatar_url"] is None


class TestDelete:
    def test_deactivates_erases_and_revokes_tokens(self, api, user, other_user, django_capture_on_commit_callbacks):
        old_username, old_email = user.username, user.email
        tokens = api.post(
            "/api/v1/auth/jwt/login", {"username": user.username, "password": "correct-horse-battery-staple"}
        ).json()
        services.follow_create(follower=user, followed_user_id=other_user.pk)
        services.follow_create(follower=other_user, followed_user_id=user.pk)
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
        api.patch(url(user), {"bio": "secret bio", "profile_info": {"city": "Lisbon"}}, format="json")

        with django_capture_on_commit_callbacks(execute=True):
            assert api.delete(url(user)).status_code == 204

        user.refresh_from_db()
        assert not user.is_active and user.deactivated_at is not None
        assert user.email is None and user.username.startswith("deleted-")
        assert user.profile.bio == "" and user.profile.profile_info == {}
        other_user.profile.refresh_from_db()
        assert other_user.profile.followers_count == 0 and other_user.profile.following_count == 0
        # Its tokens no longer work, and the profile is gone for everyone.
        assert api.get(url("me")).status_code == 401
        assert api.post("/api/v1/auth/jwt/refresh", {"refresh_token": tokens["refresh_token"]}).status_code == 401
        api.credentials()
        assert api.get(url(user)).status_code == 404
        # The erased username and email are free again.
        response = api.post(
            "/api/v1/auth/register",
            {"email": old_email, "password": "a-Long-pass-123", "username": old_username},
            format="json",
        )
        assert response.status_code == 201, response.content
