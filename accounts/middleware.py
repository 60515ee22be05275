from django.conf import settings
from django.contrib import auth
from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.backends import ModelBackend
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from accounts import user_cache
from accounts.services import user_touch_last_active


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's, with request.user read through the auth cache (accounts/user_cache.py): a warm
    session costs no query. Only the common case is short-cut (a model backend, an active user,
    the session hash matching the current secret); anything else (inactive, a stale or fallback
    hash, a backend of another kind) goes Django's own way, from the database. request.auser
    stays Django's."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _session_user(request))


def _session_user(request):
    if not hasattr(request, "_cached_user"):  # the attribute Django's get_user memoizes in
        request._cached_user = _cached_session_user(request) or auth.get_user(request)
    return request._cached_user


def _cached_session_user(request):
    if not user_cache.enabled():
        return None
    session = request.session
    try:
        raw_id, backend_path, session_hash = (
            session[auth.SESSION_KEY],
            session[auth.BACKEND_SESSION_KEY],
            session[auth.HASH_SESSION_KEY],
        )
    except KeyError:
        return None
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    backend = auth.load_backend(backend_path)
    if not isinstance(backend, ModelBackend):
        return None
    user = user_cache.get(raw_id)
    if user is None or not backend.user_can_authenticate(user):
        return None
    if not constant_time_compare(session_hash, user.get_session_auth_hash()):
        return None
    return user


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
