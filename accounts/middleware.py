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
