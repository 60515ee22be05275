"""What posts do when something happens to an account."""

from django.dispatch import receiver

from accounts.signals import account_deactivated, account_suspended, account_unsuspended
from posts import moderation, services


@receiver(account_deactivated)
def account_deleted(sender, user_id, **kwargs):
    services.account_deleted(user_id=user_id)


@receiver(account_suspended)
def suspended(sender, user, moderator, reason, report=None, **kwargs):
    moderation.record_suspension(user=user, moderator=moderator, reason=reason, report=report, suspended=True)


@receiver(account_unsuspended)
def unsuspended(sender, user, moderator, reason, report=None, **kwargs):
    moderation.record_suspension(user=user, moderator=moderator, reason=reason, report=report, suspended=False)
