"""WebSocket authentication and origin checks for /ws/.

Browsers authenticate with the session cookie and always send Origin, which must be
one of our hosts. Mobile clients send `Authorization: Bearer <access>` or
`?access_token=` and may send no Origin; a socket without Origin gets no session auth,
so a cross-site page can never ride a user's cookie.

Both look the user up on the executor's thread pool (threads.py), not on Channels' one shared
database thread: there, every socket's handshake queued behind every other's.
"""

from urllib.parse import parse_qs, urlparse

from channels.auth import AuthMiddleware, get_user
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host
from django.utils.module_loading import import_string
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError

from socialsite.realtime.threads import in_thread_pool


@in_thread_pool
def user_from_access_token(raw_token):
    auth = import_string(settings.REALTIME_TOKEN_AUTHENTICATION)()
    try:
        validated = auth.get_validated_token(raw_token)
        return auth.get_user(validated)
    except (InvalidToken, TokenError, AuthenticationFailed):
        return AnonymousUser()


def _header(scope, name):
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def bearer_token(scope):
    authorization = _header(scope, b"authorization") or ""
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    tokens = query.get("access_token")
    return tokens[0] if tokens else None


def origin_allowed(origin, host):
    """Django's CSRF rule: the Origin is this request's own host, or in CSRF_TRUSTED_ORIGINS."""
    parsed = urlparse(origin)
    if parsed.scheme not in {"http", "https", "ws", "wss"} or not parsed.netloc:
        return False
    if host and parsed.netloc == host and validate_host(split_domain_port(host)[0], settings.ALLOWED_HOSTS):
        return True
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        trusted = urlparse(trusted)
        if trusted.scheme != parsed.scheme:
            continue
        if trusted.netloc == parsed.netloc:
            return True
        if trusted.netloc.startswith("*.") and parsed.netloc.endswith(trusted.netloc[1:]):
            return True
    return False


class _SessionAuthMiddleware(AuthMiddleware):
    """Channels' session auth, reading the session and the user on the thread pool."""

    async def resolve_scope(self, scope):
        scope["user"]._wrapped = await in_thread_pool(get_user.func)(scope)


class TokenOrSessionAuthMiddleware:
    """Sets scope["user"]: from a bearer token if one is sent, else the session cookie."""

    def __init__(self, inner):
        self.inner = inner
        self.session_stack = CookieMiddleware(SessionMiddleware(_SessionAuthMiddleware(inner)))

    async def __call__(self, scope, receive, send):
        origin = _header(scope, b"origin")
        if origin is not None and not origin_allowed(origin, _header(scope, b"host")):
            # Refuse the handshake outright (HTTP 403) for foreign origins.
            await send({"type": "websocket.close", "code": 4403})
            return
        token = bearer_token(scope)
        if token is not None:
            scope = dict(scope, user=await user_from_access_token(token))
            return await self.inner(scope, receive, send)
        if origin is None:
            scope = dict(scope, user=AnonymousUser())
            return await self.inner(scope, receive, send)
        return await self.session_stack(scope, receive, send)
