"""Notification API shapes. Outputs are the dicts notifications.selectors builds (the same ones
sockets, SSE and long-poll send); these classes describe them for the schema."""

from rest_framework import serializers

from notifications.models import Notification
from socialsite.api.inputs import Input


class NotificationActorOutput(serializers.Serializer):
    id = serializers.CharField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    avatar_url = serializers.CharField(allow_null=True)


class NotificationOutput(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.ChoiceField(choices=Notification.Type.choices)
    actor = NotificationActorOutput()
    text = serializers.CharField(help_text='e.g. "ana liked your post"')
    post_id = serializers.CharField(allow_null=True)
    comment_id = serializers.CharField(allow_null=True)
    conversation_id = serializers.CharField(allow_null=True)
    excerpt = serializers.CharField(allow_blank=True)
    url = serializers.CharField(help_text="The target's page on the site.")
    group_key = serializers.CharField()
    read_status = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class NotificationGroupOutput(serializers.Serializer):
    group_key = serializers.CharField()
    type = serializers.ChoiceField(choices=Notification.Type.choices)
    count = serializers.IntegerField()
    unread_count = serializers.IntegerField()
    latest_at = serializers.DateTimeField()
    actors = NotificationActorOutput(many=True, help_text="The newest few distinct actors.")
    text = serializers.CharField(help_text='e.g. "ana, bo and 11 others liked your post"')
    latest = NotificationOutput()


class NotificationUnreadOutput(serializers.Serializer):
    unread_count = serializers.IntegerField()


class NotificationReadAllInput(Input):
    group_key = serializers.CharField(
        required=False, max_length=160, trim_whitespace=False, help_text="Only this group."
    )


class NotificationReadAllOutput(serializers.Serializer):
    marked = serializers.IntegerField()
    unread_count = serializers.IntegerField()


class NotificationPollOutput(serializers.Serializer):
    results = NotificationOutput(many=True)
    since = serializers.CharField(allow_null=True, help_text="Pass it as since= on the next poll.")


class NotificationPreferencesOutput(serializers.Serializer):
    """Each type on (true) or off (false). PUT takes any of them."""

    follow = serializers.BooleanField()
    follow_request = serializers.BooleanField()
    follow_accepted = serializers.BooleanField()
    like = serializers.BooleanField()
    comment = serializers.BooleanField()
    reply = serializers.BooleanField()
    mention = serializers.BooleanField()
    share = serializers.BooleanField()
    message = serializers.BooleanField()
    new_post = serializers.BooleanField()
    post_failed = serializers.BooleanField()
    group_added = serializers.BooleanField()
    group_removed = serializers.BooleanField()


class BellOutput(serializers.Serializer):
    user_id = serializers.CharField()
    bell = serializers.BooleanField()


class PushKeysInput(Input):
    p256dh = serializers.CharField(max_length=200, trim_whitespace=False, help_text="65 bytes, base64url.")
    auth = serializers.CharField(max_length=200, trim_whitespace=False, help_text="16 bytes, base64url.")


class PushSubscriptionInput(Input):
    """A browser's PushSubscription as its toJSON() gives it."""

    endpoint = serializers.CharField(max_length=1000, trim_whitespace=False, help_text="The push service's URL.")
    keys = PushKeysInput()
    expirationTime = serializers.FloatField(  # noqa: N815 -- the browser's name
        required=False, allow_null=True, help_text="Ignored: the push service says when it is gone."
    )


class PushUnsubscribeInput(Input):
    endpoint = serializers.CharField(max_length=1000, trim_whitespace=False)


class PushSubscriptionOutput(serializers.Serializer):
    id = serializers.CharField()
    endpoint = serializers.CharField()
    created_at = serializers.DateTimeField()


class PushKeyOutput(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="Whether this server sends Web Push at all.")
    public_key = serializers.CharField(
        allow_null=True, help_text="The VAPID public key (base64url) for PushManager.subscribe's applicationServerKey."
    )
