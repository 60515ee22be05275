from notifications.selectors import unread_count


def unread_notifications(request):
    """The header bell's count on every page, for a signed-in user (counted only if a template asks)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": lambda: unread_count(user)}
