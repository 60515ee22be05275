"""Thin API entry points for direct messages."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging import selectors, services
from messaging.api import serializers as s
from messaging.models import REACTION_EMOJI
from socialsite.api.helpers import error_responses, own_user, valid_input
from socialsite.api.pagination import CursorPagination
from socialsite.errors import ServiceError


def message_data(request, message):
    return s.MessageOutput(selectors.with_status([message])[0], context={"request": request}).data


def conversation_data(request, membership):
    selectors.for_display([membership])
    return s.ConversationOutput(membership, context={"request": request}).data


class NewestFirst(CursorPagination):
    ordering = ("-created_at", "-id")  # type: ignore[assignment]  # DRF takes a tuple; the stub says str


class NewestSeqFirst(CursorPagination):
    ordering = "-seq"


class InboxOrder(CursorPagination):
    ordering = ("-last_message_at", "-id")  # type: ignore[assignment]  # DRF takes a tuple; the stub says str


# --- Messages -------------------------------------------------------------------------------------


class MessagesView(APIView):
    @extend_schema(
        request=s.MessageSendInput,
        responses={201: s.MessageOutput, 200: s.MessageOutput, **error_responses(400, 401, 403, 404, 429)},
        tags=["messages"],
        description="Send a message. The sender is the caller. A first message to a user opens (or reuses) "
        "your 1:1 with them. A retry with the same `client_id` answers 200 with the first message.",
    )
    def post(self, request):
        data = valid_input(s.MessageSendInput, request)
        message, created = services.message_send(sender=request.user, **data)
        return Response(message_data(request, message), status=status.HTTP_201_CREATED if created else 200)


class MessageDetailView(APIView):
    @extend_schema(
        request=s.MessageEditInput,
        responses={200: s.MessageOutput, **error_responses(400, 401, 403, 404, 409)},
        tags=["messages"],
    )
    def patch(self, request, message_id):
        """Edit one of your messages."""
        data = valid_input(s.MessageEditInput, request, partial=True)
        message = services.message_edit(editor=request.user, message_id=message_id, content=data.get("content"))
        return Response(message_data(request, message))

    @extend_schema(responses={204: None, **error_responses(401, 403, 404, 409)}, tags=["messages"])
    def delete(self, request, message_id):
        """Delete one of your messages for everyone."""
        services.message_delete(actor=request.user, message_id=message_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


def reactions_data(request, message):
    return {"message_id": str(message.pk), "reactions": selectors.reaction_summary(message, request.user.pk)}


class ReactionsView(APIView):
    @extend_schema(
        request=s.ReactionInput,
        responses={201: s.ReactionsOutput, 200: s.ReactionsOutput, **error_responses(400, 401, 403, 404, 409)},
        tags=["messages"],
        description="React to a message of a conversation you are in. Reacting again with the same emoji "
        "answers 200 and changes nothing. The members get `message.reaction`.",
    )
    def post(self, request, message_id):
        data = valid_input(s.ReactionInput, request)
        message, created = services.message_react(user=request.user, message_id=message_id, emoji=data["emoji"])
        return Response(reactions_data(request, message), status=status.HTTP_201_CREATED if created else 200)


class ReactionDetailView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("emoji", str, OpenApiParameter.PATH, enum=list(REACTION_EMOJI), description="URL-encoded.")
        ],
        responses={200: s.ReactionsOutput, **error_responses(400, 401, 403, 404, 409)},
        tags=["messages"],
        description="Take your reaction off; taking off one you don't have is a no-op.",
    )
    def delete(self, request, message_id, emoji):
        message, _ = services.message_unreact(user=request.user, message_id=message_id, emoji=emoji)
        return Response(reactions_data(request, message))


class MessageReportsView(APIView):
    @extend_schema(
        request=s.MessageReportInput,
        responses={201: s.MessageReportOutput, 200: s.MessageReportOutput, **error_responses(400, 401, 403, 404, 429)},
        tags=["messages"],
        description="Report a message to the moderators; they see it with a little of its conversation around it.",
    )
    def post(self, request, message_id):
        data = valid_input(s.MessageReportInput, request)
        report, created = services.report_create(reporter=request.user, message_id=message_id, **data)
        body = {**s.MessageReportOutput(report).data, "message_id": str(report.message_id)}
        return Response(body, status=status.HTTP_201_CREATED if created else 200)


class UserMessagesView(APIView):
    pagination_class = NewestFirst  # the schema's page envelope (a conversation pages by seq)

    @extend_schema(
        parameters=[
            OpenApiParameter("conversation_id", str, description="Only this conversation's messages."),
            OpenApiParameter("cursor", str, description="The `next` cursor of the previous page (older messages)."),
            OpenApiParameter("limit", int, description="Page size, 20 by default, at most 50."),
            OpenApiParameter(
                "q",
                str,
                description="Only messages whose text contains this (any case, at most 100 characters); "
                "deleted messages and lines about a group never match.",
            ),
            OpenApiParameter(
                "after",
                str,
                description="With conversation_id: a message id or seq; only newer messages, oldest first "
                "(a reconnecting client resyncs from the last one it holds).",
            ),
        ],
        responses={200: s.MessageOutput(many=True), **error_responses(400, 401, 403, 404)},
        tags=["messages"],
        description="Your own messages only, newest first. Fetching counts as delivered.",
    )
    def get(self, request, user_id):
        user = own_user(request, user_id)
        conversation_id = request.query_params.get("conversation_id") or None
        after = request.query_params.get("after")
        query = request.query_params.get("q")
        queryset = selectors.messages(user=user, conversation_id=conversation_id)
        if query is not None:
            queryset = selectors.message_search(queryset, query)
        if after is not None:
            return self._after(request, user, queryset, conversation_id, after)
        paginator = NewestSeqFirst() if conversation_id else NewestFirst()
        page = selectors.with_status(paginator.paginate_queryset(queryset, request, view=self))
        if conversation_id and page and query is None:  # matches aren't the newest messages
            services.conversation_delivered(user=user, conversation_id=conversation_id, seq=page[0].seq)
        data = s.MessageOutput(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    def _after(self, request, user, queryset, conversation_id, after):
        if conversation_id is None:
            raise ServiceError(
                "after= needs conversation_id.", code="invalid", fields={"after": ["Needs conversation_id."]}
            )
        seq = selectors.seq_of(queryset, after)
        limit = NewestSeqFirst().get_page_size(request)
        page = selectors.with_status(list(queryset.filter(seq__gt=seq).order_by("seq")[: limit + 1]))
        more = len(page) > limit
        page = page[:limit]
        if page and "q" not in request.query_params:
            services.conversation_delivered(user=user, conversation_id=conversation_id, seq=page[-1].seq)
        data = s.MessageOutput(page, many=True, context={"request": request}).data
        next_url = None
        if more:
            query = request.query_params.copy()
            query["after"] = str(page[-1].seq)
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({"results": data, "next": next_url, "previous": None})


# --- Conversations --------------------------------------------------------------------------------


class ConversationsView(APIView):
    pagination_class = InboxOrder

    @extend_schema(
        parameters=[OpenApiParameter("folder", str, enum=["inbox", "requests"], description="inbox by default.")],
        responses={200: s.ConversationOutput(many=True), **error_responses(400, 401)},
        tags=["conversations"],
        description="Your conversations, latest activity first, each with its last message and unread count.",
    )
    def get(self, request):
        queryset = selectors.conversations(user=request.user, folder=request.query_params.get("folder", "inbox"))
        paginator = InboxOrder()
        page = selectors.for_display(paginator.paginate_queryset(queryset, request, view=self))
        return paginator.get_paginated_response(
            s.ConversationOutput(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        request=s.GroupCreateInput,
        responses={201: s.ConversationOutput, **error_responses(400, 401, 403)},
        tags=["conversations"],
        description="Start a group with these users; you are its admin.",
    )
    def post(self, request):
        data = valid_input(s.GroupCreateInput, request)
        membership = services.conversation_group_create(creator=request.user, **data)
        membership = selectors.conversation_get(user=request.user, conversation_id=membership.conversation_id)
        return Response(conversation_data(request, membership), status=status.HTTP_201_CREATED)


class UnreadView(APIView):
    @extend_schema(responses={200: s.UnreadOutput, **error_responses(401)}, tags=["conversations"])
    def get(self, request):
        """Your unread message counts, inbox and requests apart."""
        return Response(selectors.unread_totals(user=request.user))


class ConversationDetailView(APIView):
    @extend_schema(responses={200: s.ConversationOutput, **error_responses(401, 404)}, tags=["conversations"])
    def get(self, request, conversation_id):
        """One of your conversations: members, your cursors and unread count, the last message."""
        return Response(
            conversation_data(request, selectors.conversation_get(user=request.user, conversation_id=conversation_id))
        )

    @extend_schema(
        request=s.RenameInput,
        responses={200: s.ConversationOutput, **error_responses(400, 401, 403, 404)},
        tags=["conversations"],
    )
    def patch(self, request, conversation_id):
        """Rename a group (its admins)."""
        data = valid_input(s.RenameInput, request, partial=True)
        services.conversation_rename(actor=request.user, conversation_id=conversation_id, title=data.get("title"))
        return self.get(request, conversation_id)


class MembersView(APIView):
    @extend_schema(
        request=s.MembersAddInput,
        responses={200: s.ConversationOutput, **error_responses(400, 401, 403, 404)},
        tags=["conversations"],
        description="Add members to a group (admins). They see the messages from now on.",
    )
    def post(self, request, conversation_id):
        data = valid_input(s.MembersAddInput, request)
        services.members_add(actor=request.user, conversation_id=conversation_id, user_ids=data["user_ids"])
        return Response(
            conversation_data(request, selectors.conversation_get(user=request.user, conversation_id=conversation_id))
        )


class MemberDetailView(APIView):
    @extend_schema(
        responses={204: None, **error_responses(400, 401, 403, 404)},
        tags=["conversations"],
        description="Remove a member (admins), or leave: `me` or your own id.",
    )
    def delete(self, request, conversation_id, user_id):
        services.member_remove(actor=request.user, conversation_id=conversation_id, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReadView(APIView):
    @extend_schema(
        request=s.ReadInput,
        responses={200: s.ReadOutput, **error_responses(400, 401, 404)},
        tags=["conversations"],
        description="Mark read up to a message (default: the latest). The senders get `message.read`.",
    )
    def post(self, request, conversation_id):
        data = valid_input(s.ReadInput, request)
        membership = services.conversation_read(
            reader=request.user, conversation_id=conversation_id, message_id=data.get("message_id")
        )
        return Response(
            {
                "conversation_id": str(membership.conversation_id),
                "read_seq": membership.read_seq,
                "unread_count": membership.unread_count,
            }
        )


class AcceptView(APIView):
    @extend_schema(
        request=None,
        responses={200: s.ConversationOutput, **error_responses(401, 404)},
        tags=["conversations"],
        description="Move a message request into your inbox.",
    )
    def post(self, request, conversation_id):
        services.conversation_accept(user=request.user, conversation_id=conversation_id)
        return Response(
            conversation_data(request, selectors.conversation_get(user=request.user, conversation_id=conversation_id))
        )


class PreferencesView(APIView):
    @extend_schema(responses={200: s.PreferencesIO, **error_responses(401, 403)}, tags=["conversations"])
    def get(self, request, user_id):
        """Who may start a conversation with you: everyone, or only people you follow (others wait in requests)."""
        return Response({"direct_from": selectors.direct_from(user=own_user(request, user_id))})

    @extend_schema(
        request=s.PreferencesIO,
        responses={200: s.PreferencesIO, **error_responses(400, 401, 403)},
        tags=["conversations"],
    )
    def put(self, request, user_id):
        """Set who may start a conversation with you."""
        user = own_user(request, user_id)
        data = valid_input(s.PreferencesIO, request)
        preferences = services.preferences_update(user=user, direct_from=data["direct_from"])
        return Response({"direct_from": preferences.direct_from})
