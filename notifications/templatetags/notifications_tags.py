from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def bell_state(context, person):
    """Whether the signed-in viewer has the bell on for `person` (False when signed out)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or person is None or user.pk == person.pk:
        return False
    from notifications.selectors import bell_on

    return bell_on(user, person)
