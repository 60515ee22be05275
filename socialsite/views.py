"""Error pages (JSON in the API envelope under /api/, HTML elsewhere) and local media."""

from django.shortcuts import render

from socialsite.api.errors import json_error_response, wants_json


def _error(request, status, code, message, template):
    if wants_json(request):
        return json_error_response(status, code, message)
    return render(request, template, {"message": message}, status=status)


def bad_request(request, exception=None, message="The request could not be understood."):
    return _error(request, 400, "bad_request", message, "errors/400.html")


def permission_denied(request, exception=None):
    return _error(request, 403, "permission_denied", "You don't have access to this.", "errors/403.html")


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a form posted without its token (API clients use tokens, not cookies)."""
    return _error(
        request,
        403,
        "csrf_failed",
        "The form expired or came from another site. Reload and try again.",
        "errors/403.html",
    )


def page_not_found(request, exception=None):
    return _error(request, 404, "not_found", "Nothing here.", "errors/404.html")


def service_unavailable(request, exception):
    """A page or call that needs a dependency that is down (socialsite.breakers.DependencyUnavailable)."""
    response = _error(request, 503, exception.code, exception.message, "errors/503.html")
    response["Retry-After"] = str(exception.retry_after)
    return response


def server_error(request):
    return _error(request, 500, "server_error", "Something went wrong on our side.", "errors/500.html")
