"""What every app's API views share: the documented error answers, input validation and the
caller's own account from a path."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from socialsite.errors import ForbiddenError

ERROR = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorBody",
            {
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(required=False),
            },
        )
    },
)


def error_responses(*codes):
    """The OpenAPI responses of these error statuses, each the error envelope."""
    return {code: OpenApiResponse(ERROR) for code in codes}


def valid_input(serializer_class, request, **kwargs):
    """The request body validated by `serializer_class`; a 400 otherwise."""
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def own_user(request, user_id):
    """The caller, when the path names the caller ("me" or their id); else 403."""
    if user_id != "me" and str(request.user.pk) != str(user_id):
        raise ForbiddenError("You can only do this for your own account.", code="not_owner")
    return request.user
