"""One error envelope for the whole API: {"error": {"code", "message", "fields"?}}."""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import OperationalError
from django.http import Http404, JsonResponse
from psycopg_pool import PoolTimeout, TooManyRequests
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from socialsite.errors import ServiceError

logger = logging.getLogger(__name__)

STATUS_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
}
# A request that waited DB_POOL_TIMEOUT for a pooled connection: a peak passes, so say when to retry.
DATABASE_RETRY_AFTER = 2


def error_body(code, message, fields=None):
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _flatten(detail):
    """Turn DRF's nested ErrorDetail structures into plain strings and lists."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        response = Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, OperationalError) and isinstance(exc.__cause__, (PoolTimeout, TooManyRequests)):
        logger.warning("API request refused: no database connection free in time (%s)", exc)
        message = "No database connection was free in time. Try again in a moment."
        response = Response(error_body("database_unavailable", message), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("too_large", "The request body is too large."), status=413)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response(error_body("server_error", "Something went wrong on our side."), status=500)

    if isinstance(exc, exceptions.ValidationError):
        detail = _flatten(exc.detail)
        if isinstance(detail, dict):
            non_field = detail.pop("non_field_errors", None)
            message = non_field[0] if non_field else "Some fields are not valid."
            response.data = error_body("invalid", message, detail or None)
        else:
            response.data = error_body("invalid", detail[0] if detail else "Invalid input.")
    else:
        fallback = STATUS_CODES.get(response.status_code, "error")
        detail = getattr(exc, "detail", None)
        if isinstance(detail, dict):  # simplejwt: {"detail", "code", "messages"}
            code, message = detail.get("code", fallback), detail.get("detail", fallback)
        else:
            code, message = exc.get_codes() if isinstance(exc, exceptions.APIException) else fallback, detail
        if not isinstance(code, str):
            code = fallback
        if not isinstance(message, str) or not message:
            message = fallback.replace("_", " ").capitalize() + "."
        response.data = error_body(str(code), str(message))
    return response


def json_error_response(status_code, code=None, message=None):
    code = code or STATUS_CODES.get(status_code, "error")
    return JsonResponse(error_body(code, message or code.replace("_", " ").capitalize() + "."), status=status_code)


def wants_json(request):
    return request.path.startswith("/api/")


__all__ = ["exception_handler", "error_body", "json_error_response", "wants_json", "status"]
