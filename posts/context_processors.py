from posts.moderation import warnings_to_show


def moderation_warnings(request):
    """The warning banner on every page of a warned user (one query, only if a template asks)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"moderation_warnings": lambda: warnings_to_show(user)}
