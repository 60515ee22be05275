from django import template

from accounts import selectors

register = template.Library()

AVATAR_TONES = 6


@register.filter
def initials(name):
    """Up to two letters for the avatar placeholder: "Ada Lovelace" -> "AL", "ada" -> "A"."""
    words = [word for word in str(name).replace("_", " ").replace(".", " ").split() if word[:1].isalnum()]
    return "".join(word[0] for word in words[:2]).upper() or "?"


@register.filter
def avatar_tone(user):
    """A stable colour class per user, so placeholders differ without inline styles."""
    return user.pk.int % AVATAR_TONES if user and user.pk else 0


@register.simple_tag(takes_context=True)
def follow_request_count(context):
    user = context["request"].user
    if not user.is_authenticated:
        return 0
    return selectors.follow_request_count_cached(user=user)
