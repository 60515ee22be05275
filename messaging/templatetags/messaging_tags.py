from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def message_unread_count(context):
    """The nav badge: unread inbox messages plus message requests waiting (0 when signed out)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    from messaging.selectors import unread_badge

    return unread_badge(user=user)
