"""One input and one output serializer per call. Ids are strings."""

from django.conf import settings
from rest_framework import serializers

from accounts.selectors import phone_number
from socialsite.api.inputs import Input


def avatar_url(profile, request):
    if not profile.avatar:
        return None
    url = profile.avatar.url
    return request.build_absolute_uri(url) if request is not None and url.startswith("/") else url


# --- Auth -------------------------------------------------------------------------------------------


class RegisterInput(Input):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    username = serializers.CharField(max_length=30)
    profile_info = serializers.DictField(required=False, allow_null=True)


class RegisterOutput(serializers.Serializer):
    id = serializers.CharField()
    email = serializers.EmailField()
    username = serializers.CharField()
    status = serializers.ChoiceField(choices=["active", "pending_verification"])


class LoginInput(Input):
    login = serializers.CharField(
        max_length=254, help_text="Username, email address or phone number (E.164, +14155550123)."
    )
    username = serializers.CharField(
        max_length=254, required=False, help_text="Older clients: taken as `login` when that is absent."
    )
    password = serializers.CharField(max_length=128, trim_whitespace=False)

    def to_internal_value(self, data):
        if isinstance(data, dict) and "login" not in data and "username" in data:
            data = {**data, "login": data["username"]}
        return super().to_internal_value(data)

    def validate(self, attrs):
        return {"login": attrs["login"], "password": attrs["password"]}


class PhoneField(serializers.CharField):
    """A phone number with its country code (E.164, +14155550123), normalized."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("help_text", "A phone number with its country code (E.164, +14155550123).")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        number = phone_number(super().to_internal_value(data))
        if not number:
            raise serializers.ValidationError("Enter a valid phone number with its country code, e.g. +14155550123.")
        return number


class LoginCodeRequestInput(Input):
    phone = PhoneField()


class LoginCodeRequestOutput(serializers.Serializer):
    detail = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds a code is good for once sent.")


class LoginCodeInput(Input):
    phone = PhoneField()
    # Spaces around a code are dropped; a code of only spaces is a wrong code (401), like any other.
    code = serializers.CharField(max_length=32, allow_blank=True, help_text="The code from the text message.")


class TokenPairOutput(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.ChoiceField(choices=["bearer"])
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")


class SignInOutput(serializers.Serializer):
    """The JWT pair, or for an account with two-factor authentication the challenge instead."""

    access_token = serializers.CharField(required=False)
    refresh_token = serializers.CharField(required=False)
    token_type = serializers.ChoiceField(choices=["bearer"], required=False)
    expires_in = serializers.IntegerField(
        help_text="Seconds until the access token (or the challenge) expires.", required=False
    )
    mfa_required = serializers.BooleanField(required=False, help_text="True when `challenge` comes instead of tokens.")
    challenge = serializers.CharField(required=False, help_text="For `POST /auth/jwt/mfa`; good for one sign-in.")
    types = serializers.ListField(
        child=serializers.ChoiceField(choices=["totp", "recovery_codes"]),
        required=False,
        help_text="The kinds of code the account can answer with.",
    )


class MFAInput(Input):
    # Tokens are taken as sent (a token of spaces is a bad token, 401); codes as LoginCodeInput's.
    challenge = serializers.CharField(max_length=1000, trim_whitespace=False)
    code = serializers.CharField(
        max_length=64, allow_blank=True, help_text="A code from the authenticator app, or a recovery code."
    )


class RefreshTokenInput(Input):
    refresh_token = serializers.CharField(max_length=2000, trim_whitespace=False)  # as sent: spaces are a bad token


class SocialTokenInput(Input):
    access_token = serializers.CharField(max_length=4000, required=False, trim_whitespace=False)
    id_token = serializers.CharField(max_length=8000, required=False, trim_whitespace=False)

    def validate(self, attrs):
        if not attrs.get("access_token") and not attrs.get("id_token"):
            raise serializers.ValidationError("Send the provider's access_token or id_token.")
        return attrs


# --- Users ---------------------------------------------------------------------------------------------


class UserSummaryOutput(serializers.Serializer):
    id = serializers.CharField()
    username = serializers.CharField()
    display_name = serializers.CharField(source="profile.display_name")
    avatar_url = serializers.SerializerMethodField()
    is_private = serializers.BooleanField(source="profile.is_private")

    def get_avatar_url(self, user) -> str | None:
        return avatar_url(user.profile, self.context.get("request"))


class RelationshipOutput(serializers.Serializer):
    following = serializers.BooleanField()
    followed_by = serializers.BooleanField()
    requested = serializers.BooleanField()
    blocking = serializers.BooleanField()
    muting = serializers.BooleanField()


class UserOutput(UserSummaryOutput):
    bio = serializers.CharField(source="profile.bio")
    followers_count = serializers.IntegerField(source="profile.followers_count")
    following_count = serializers.IntegerField(source="profile.following_count")
    interests = serializers.SerializerMethodField()
    profile_info = serializers.JSONField(source="profile.profile_info")
    joined_at = serializers.DateTimeField(source="date_joined")
    relationship = RelationshipOutput(
        allow_null=True, help_text="The caller's relation to this user; null when anonymous."
    )

    def get_interests(self, user) -> list[str]:
        return sorted(interest.name for interest in user.profile.interests.all())


class OwnUserOutput(UserOutput):
    """What the owner sees of their own account."""

    email = serializers.EmailField(allow_null=True)
    email_verified = serializers.BooleanField()
    phone = serializers.CharField(allow_null=True)
    phone_verified = serializers.BooleanField()


class UserUpdateInput(Input):
    display_name = serializers.CharField(max_length=50, allow_blank=True, default="")
    bio = serializers.CharField(max_length=300, allow_blank=True, default="")
    profile_info = serializers.DictField(default=dict)
    is_private = serializers.BooleanField(default=False)
    interests = serializers.ListField(child=serializers.CharField(max_length=40), max_length=20, default=list)


class AvatarInput(Input):
    avatar = serializers.FileField(
        max_length=200,
        allow_empty_file=False,
        help_text=f"JPEG, PNG, WebP or GIF, at most {settings.AVATAR_MAX_UPLOAD_BYTES // 2**20} MB.",
    )


# --- Follows, requests, blocks, mutes -------------------------------------------------------------------


class FollowInput(Input):
    followed_user_id = serializers.UUIDField()


class FollowOutput(serializers.Serializer):
    followed_user_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["following", "requested"])


class ConnectionOutput(serializers.Serializer):
    """A row of a followers/following/blocks/mutes list: the other user, and since when."""

    user = UserSummaryOutput()
    created_at = serializers.DateTimeField()


class FollowRequestOutput(serializers.Serializer):
    id = serializers.CharField()
    user = UserSummaryOutput(source="requester")
    created_at = serializers.DateTimeField()


class BlockInput(Input):
    blocked_user_id = serializers.UUIDField()


class MuteInput(Input):
    muted_user_id = serializers.UUIDField()


class InterestsInput(Input):
    interests = serializers.ListField(
        child=serializers.CharField(max_length=40, allow_blank=True),
        max_length=20,
        help_text="Names; replaces the list. Blank names are dropped.",
    )


class InterestsOutput(serializers.Serializer):
    interests = serializers.ListField(child=serializers.CharField(), help_text="Yours, sorted.")
    suggested = serializers.ListField(child=serializers.CharField(), help_text="The curated list onboarding offers.")
    onboarded_at = serializers.DateTimeField(
        allow_null=True, help_text="When you finished or skipped onboarding; null: not yet (show it)."
    )


class OnboardingOutput(serializers.Serializer):
    onboarded_at = serializers.DateTimeField()
