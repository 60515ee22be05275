from notifications.selectors import unread_count_cached


def unread_notifications(request):
    """The header bell's count on every page, for a signed-in user (only if a template asks; cached)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": lambda: unread_count_cached(user)}
