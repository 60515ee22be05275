"""One input and one output serializer per call."""

from django.conf import settings
from rest_framework import serializers

from accounts.api.serializers import UserSummaryOutput
from messaging.models import REACTION_EMOJI, Membership, Message, MessageReport, Preferences
from messaging.selectors import reaction_summary, reply_summary, system_ids
from socialsite.api.inputs import Input


class MessageSendInput(Input):
    receiver_id = serializers.CharField(required=False, help_text="Send to this user (their 1:1, made on first use).")
    conversation_id = serializers.CharField(required=False, help_text="Or to this conversation.")
    content = serializers.CharField(trim_whitespace=False, allow_blank=True, max_length=settings.MESSAGE_MAX_LENGTH)
    client_id = serializers.CharField(
        required=False, allow_blank=True, max_length=64, help_text="Your id for this send: a retry returns the first."
    )
    reply_to = serializers.CharField(
        required=False, max_length=64, help_text="The id of the message this one answers (same conversation)."
    )

    def validate(self, data):
        if ("receiver_id" in data) == ("conversation_id" in data):
            raise serializers.ValidationError("Name either receiver_id or conversation_id.")
        return data


class MessageEditInput(Input):
    content = serializers.CharField(trim_whitespace=False, max_length=settings.MESSAGE_MAX_LENGTH)


class SenderOutput(serializers.Serializer):
    id = serializers.CharField()
    username = serializers.CharField()
    display_name = serializers.CharField(source="profile.name")


class SystemOutput(serializers.Serializer):
    actor_id = serializers.CharField(help_text="Who renamed, added, removed or left (the line's sender).")
    target_ids = serializers.ListField(
        child=serializers.CharField(), help_text="Who was added or removed, or the new admin; empty otherwise."
    )
    title = serializers.CharField(allow_null=True, help_text="renamed: the new title (empty: the name removed).")


class ReactionOutput(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    user_ids = serializers.ListField(child=serializers.CharField(), help_text="Who reacted, first first.")
    me = serializers.BooleanField(help_text="Whether you reacted with it.")


class ReactionInput(Input):
    emoji = serializers.ChoiceField(choices=[(e, e) for e in REACTION_EMOJI])


class ReactionsOutput(serializers.Serializer):
    message_id = serializers.CharField()
    reactions = ReactionOutput(many=True)


class ReplySenderOutput(serializers.Serializer):
    id = serializers.CharField()
    username = serializers.CharField()
    display_name = serializers.CharField()


class ReplyToOutput(serializers.Serializer):
    id = serializers.CharField()
    sender = ReplySenderOutput()
    excerpt = serializers.CharField(help_text="The start of its text; empty when deleted.")
    deleted = serializers.BooleanField()


class MessageOutput(serializers.Serializer):
    id = serializers.CharField()
    conversation_id = serializers.CharField()
    seq = serializers.IntegerField(help_text="Order in the conversation; `after=` takes it too.")
    kind = serializers.ChoiceField(
        choices=Message.Kind.choices,
        help_text="text: a member's message. Any other: a system line about the group (show it centered, "
        "`content` is its text; never unread, never editable).",
    )
    system = serializers.SerializerMethodField()
    sender_id = serializers.CharField()
    sender = SenderOutput()
    content = serializers.SerializerMethodField()
    client_id = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    edited = serializers.SerializerMethodField()
    deleted = serializers.SerializerMethodField()
    status = serializers.ChoiceField(
        choices=["sent", "delivered", "read"],
        help_text="Over the members who were there when it was sent, those who left since too.",
    )
    read_by = serializers.ListField(
        child=serializers.CharField(), default=list, help_text="Ids of the recipients who have read it."
    )
    reactions = serializers.SerializerMethodField()
    reply_to = serializers.SerializerMethodField()

    def get_reply_to(self, message) -> ReplyToOutput(allow_null=True):  # type: ignore[valid-type]  # drf-spectacular: the schema
        return reply_summary(message)

    def get_reactions(self, message) -> ReactionOutput(many=True):  # type: ignore[valid-type]  # drf-spectacular: the schema
        request = self.context.get("request")
        return reaction_summary(message, request.user.pk if request is not None else None)

    def get_system(self, message) -> SystemOutput(allow_null=True):  # type: ignore[valid-type]  # drf-spectacular: the schema
        return system_ids(message)

    def get_content(self, message) -> str:
        return "" if message.deleted_at else message.content

    def get_client_id(self, message) -> str | None:
        request = self.context.get("request")
        mine = request is not None and message.sender_id == request.user.pk
        return (message.client_id or None) if mine else None

    def get_edited(self, message) -> bool:
        return message.edited_at is not None

    def get_deleted(self, message) -> bool:
        return message.deleted_at is not None


class MemberOutput(UserSummaryOutput):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class ConversationOutput(serializers.Serializer):
    id = serializers.CharField(source="conversation_id")
    kind = serializers.CharField(source="conversation.kind")
    title = serializers.CharField(source="conversation.title")
    members = serializers.SerializerMethodField()
    last_message = serializers.SerializerMethodField()
    unread_count = serializers.IntegerField()
    folder = serializers.ChoiceField(choices=Membership.Folder.choices)
    role = serializers.ChoiceField(choices=Membership.Role.choices, help_text="Yours.")
    removed = serializers.BooleanField(
        help_text="An admin removed you: read-only, and last_message is the line saying so (no composer)."
    )
    created_at = serializers.DateTimeField(source="conversation.created_at")
    last_message_at = serializers.DateTimeField()

    def get_members(self, membership) -> MemberOutput(many=True):  # type: ignore[valid-type]  # drf-spectacular: the schema
        if not membership.active:  # removed: who is in the group now is none of their business
            return []
        rows = []
        for member in membership.conversation.active_members:
            member.user.role = member.role
            rows.append(member.user)
        return MemberOutput(rows, many=True, context=self.context).data

    def get_last_message(self, membership) -> MessageOutput(allow_null=True):  # type: ignore[valid-type]  # drf-spectacular: the schema
        message = membership.last_message
        if message is None:
            return None
        return MessageOutput(message, context=self.context).data


class GroupCreateInput(Input):
    title = serializers.CharField(max_length=100, allow_blank=True, required=False, default="")
    member_ids = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=100)


class RenameInput(Input):
    title = serializers.CharField(max_length=100, allow_blank=True)


class MembersAddInput(Input):
    user_ids = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=100)


class ReadInput(Input):
    message_id = serializers.CharField(required=False, help_text="Read up to this message; default: the latest.")


class ReadOutput(serializers.Serializer):
    conversation_id = serializers.CharField()
    read_seq = serializers.IntegerField()
    unread_count = serializers.IntegerField()


class UnreadOutput(serializers.Serializer):
    inbox = serializers.IntegerField(help_text="Unread messages in the inbox.")
    requests = serializers.IntegerField(help_text="Message requests waiting.")


class MessageReportInput(Input):
    reason = serializers.ChoiceField(choices=MessageReport.Reason.choices)
    details = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class MessageReportOutput(serializers.Serializer):
    id = serializers.CharField()
    message_id = serializers.CharField()
    reason = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class PreferencesIO(serializers.Serializer):
    direct_from = serializers.ChoiceField(
        choices=Preferences.DirectFrom.choices,
        help_text="everyone: all new conversations reach the inbox; following: others wait in requests.",
    )
