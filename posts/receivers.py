"""What posts do when something happens to an account."""

from django.dispatch import receiver

from accounts.signals import account_deactivated
from posts import services
from posts.models import Like


@receiver(account_deactivated)
def account_deleted(sender, user_id, **kwargs):
    """No counter keeps a deleted account's likes, comments or shares, and its likes go."""
    services.counters_recount_for(user_id=user_id)  # first: it finds the posts through the likes
    Like.objects.filter(user_id=user_id).delete()
