"""What posts do when something happens to an account."""

from django.dispatch import receiver

from accounts.signals import account_deactivated
from posts import services


@receiver(account_deactivated)
def account_deleted(sender, user_id, **kwargs):
    services.account_deleted(user_id=user_id)
