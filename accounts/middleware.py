from accounts.services import user_touch_last_active


class LastActiveMiddleware:
    """Marks signed-in browser users active; API tokens are marked in JWTAuthentication."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            user_touch_last_active(user=user)
        return self.get_response(request)


class SuspendedSessionMiddleware:
    """A page open when its account was suspended: the next request signs the session out and
    shows the suspended page (the reason and the appeal form) instead of a signed-out site.

    Django already reads an inactive account's session as anonymous; this only looks further when
    the session still names an account (one query, only then). API calls (tokens, their own 401)
    and sockets are left alone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.contrib.auth import SESSION_KEY, logout
        from django.http import HttpResponse, HttpResponseRedirect

        from accounts import suspension

        user = getattr(request, "user", None)
        if (
            user is not None
            and not user.is_authenticated
            and SESSION_KEY in request.session
            and not request.path.startswith("/api/")
        ):
            suspended = suspension.session_user(request)
            if suspended is not None:
                logout(request)
                url = suspension.page_url(suspended)
                if request.htmx:
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = url
                    return response
                return HttpResponseRedirect(url)
        return self.get_response(request)
