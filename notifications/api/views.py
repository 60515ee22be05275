"""Thin API entry points for notifications (REST). SSE and long-poll are in listen.py."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import push, selectors, services
from notifications.api import serializers as s
from notifications.models import Notification, Preferences
from socialsite.api.helpers import error_responses, own_user, valid_input
from socialsite.api.pagination import CursorPagination
from socialsite.errors import NotFoundError, ServiceError
from socialsite.params import reject_unknown, uuid_or_none


class NewestFirst(CursorPagination):
    ordering = ("-created_at", "-id")  # type: ignore[assignment]  # DRF takes a tuple; the stub says str


class NewestGroupFirst(CursorPagination):
    ordering = "-latest_at"


def _filters(request):
    """read_status=true|false and type=<type> from the query; anything else is a 400."""
    params = request.query_params
    filters = {}
    reject_unknown(params, {"read_status", "type", "cursor", "limit"}, "Unknown filter.")
    if "read_status" in params:
        value = params["read_status"].lower()
        if value not in ("true", "false"):
            raise ServiceError(
                "read_status is true or false.", code="invalid", fields={"read_status": ["true or false."]}
            )
        filters["read_status"] = value == "true"
    if "type" in params:
        if params["type"] not in Notification.Type.values:
            raise ServiceError(
                "Unknown notification type.",
                code="invalid",
                fields={"type": [f"One of: {', '.join(Notification.Type.values)}."]},
            )
        filters["kind"] = params["type"]
    return filters


FILTERS = [
    OpenApiParameter("read_status", bool, description="true: only read ones; false: only unread ones."),
    OpenApiParameter("type", str, enum=Notification.Type.values, description="Only this type."),
    OpenApiParameter("cursor", str, description="The `next` cursor of the previous page."),
    OpenApiParameter("limit", int, description="Page size, 20 by default, at most 50."),
]


class UserNotificationsView(APIView):
    pagination_class = NewestFirst

    @extend_schema(
        parameters=FILTERS,
        responses={200: s.NotificationOutput(many=True), **error_responses(400, 401, 403)},
        tags=["notifications"],
        description="Your own notifications, one row each, newest first.",
    )
    def get(self, request, user_id):
        user = own_user(request, user_id)
        paginator = NewestFirst()
        page = paginator.paginate_queryset(selectors.notifications_for(user, **_filters(request)), request, view=self)
        return paginator.get_paginated_response([selectors.notification_payload(row) for row in page])


class UserNotificationGroupsView(APIView):
    pagination_class = NewestGroupFirst

    @extend_schema(
        parameters=FILTERS,
        responses={200: s.NotificationGroupOutput(many=True), **error_responses(400, 401, 403)},
        tags=["notifications"],
        description='Your own notifications grouped: one line per type and target within a time bucket ("ana and '
        '12 others liked your post"), newest line first. Mark a line read with read-all and its group_key.',
    )
    def get(self, request, user_id):
        user = own_user(request, user_id)
        filters = _filters(request)
        paginator = NewestGroupFirst()
        groups = paginator.paginate_queryset(selectors.groups_for(user, **filters), request, view=self)
        samples = selectors.group_samples(user, [group["group_key"] for group in groups], **filters)
        data = [selectors.group_payload(group, samples[group["group_key"]]) for group in groups]
        return paginator.get_paginated_response(data)


class UnreadCountView(APIView):
    @extend_schema(responses={200: s.NotificationUnreadOutput, **error_responses(401)}, tags=["notifications"])
    def get(self, request):
        """How many notifications you haven't read."""
        return Response({"unread_count": selectors.unread_count(request.user)})


class ReadView(APIView):
    @extend_schema(
        request=None,
        responses={200: s.NotificationOutput, **error_responses(401, 404)},
        tags=["notifications"],
        description="Mark one of your notifications read. Someone else's is not found. Idempotent.",
    )
    def post(self, request, notification_id):
        notification_id = uuid_or_none(notification_id)
        if notification_id is None:
            raise NotFoundError("No such notification.", code="notification_not_found")
        notification = services.mark_read(user=request.user, notification_id=notification_id)
        return Response(selectors.notification_payload(notification))


class ReadAllView(APIView):
    @extend_schema(
        request=s.NotificationReadAllInput,
        responses={200: s.NotificationReadAllOutput, **error_responses(400, 401)},
        tags=["notifications"],
        description="Mark all your unread notifications read, or only one group's (`group_key`).",
    )
    def post(self, request):
        data = valid_input(s.NotificationReadAllInput, request)
        marked = services.mark_all_read(user=request.user, group_key=data.get("group_key"))
        return Response({"marked": marked, "unread_count": selectors.unread_count(request.user)})


# What a PUT may name: only the switches (another key is a 400), each true or false.
PREFERENCE_CHANGES = {
    "type": "object",
    "properties": {kind: {"type": "boolean"} for kind in Preferences.SWITCHABLE},
    "additionalProperties": False,
}


class PreferencesView(APIView):
    @extend_schema(responses={200: s.NotificationPreferencesOutput, **error_responses(401)}, tags=["notifications"])
    def get(self, request):
        """Your notification preferences: one switch per type."""
        return Response(services.preferences_for(request.user).as_dict())

    @extend_schema(
        request={"application/json": PREFERENCE_CHANGES},
        responses={200: s.NotificationPreferencesOutput, **error_responses(400, 401)},
        tags=["notifications"],
        description="Turn types on or off; types left out keep their setting.",
    )
    def put(self, request):
        preferences = services.preferences_update(user=request.user, changes=request.data)
        return Response(preferences.as_dict())


class BellView(APIView):
    @extend_schema(
        request=None,
        responses={200: s.BellOutput, **error_responses(401, 403, 404, 409)},
        tags=["notifications"],
        description="Turn on the bell for an account you follow: a notification for each of its new posts.",
    )
    def put(self, request, user_id, author_id):
        on = services.bell_set(user=own_user(request, user_id), author_id=author_id, on=True)
        return Response({"user_id": str(author_id), "bell": on})

    @extend_schema(responses={200: s.BellOutput, **error_responses(401, 403, 404)}, tags=["notifications"])
    def delete(self, request, user_id, author_id):
        """Turn off the bell for an account you follow (no notification for each of its posts)."""
        on = services.bell_set(user=own_user(request, user_id), author_id=author_id, on=False)
        return Response({"user_id": str(author_id), "bell": on})


class PushKeyView(APIView):
    @extend_schema(responses={200: s.PushKeyOutput, **error_responses(401)}, tags=["push"])
    def get(self, request):
        """The VAPID public key to subscribe with; null (and enabled false) when push is off."""
        key = push.public_key()
        return Response({"enabled": key is not None, "public_key": key})


class PushSubscriptionsView(APIView):
    @extend_schema(
        request=s.PushSubscriptionInput,
        responses={200: s.PushSubscriptionOutput, 201: s.PushSubscriptionOutput, **error_responses(400, 401, 409)},
        tags=["push"],
        description="Save this browser's push subscription (PushSubscription.toJSON()) for you: 201 when new, "
        "200 when it was saved before (a replay changes nothing). The endpoint must be a known push "
        "service's https URL; 409 push_disabled when the server sends no push.",
    )
    def post(self, request):
        data = valid_input(s.PushSubscriptionInput, request)
        subscription, made = push.subscribe(
            user=request.user, endpoint=data["endpoint"], p256dh=data["keys"]["p256dh"], auth=data["keys"]["auth"]
        )
        body = {
            "id": str(subscription.pk),
            "endpoint": subscription.endpoint,
            "created_at": subscription.created_at.isoformat(),
        }
        return Response(body, status=201 if made else 200)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "endpoint",
                {"type": "string", "minLength": 1, "maxLength": 1000},
                required=True,
                description="The subscription's endpoint, URL-encoded.",
            )
        ],
        responses={204: None, **error_responses(400, 401)},
        tags=["push"],
        description="Forget one of your subscriptions, by endpoint. Idempotent: 204 whether or not it was saved "
        "(someone else's stays).",
    )
    def delete(self, request):
        reject_unknown(request.query_params, {"endpoint"}, "Unknown parameter.")
        query = s.PushUnsubscribeInput(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        data = query.validated_data
        push.unsubscribe(user=request.user, endpoint=data["endpoint"])
        return Response(status=204)
