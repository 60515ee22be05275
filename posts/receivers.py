"""What posts do when something happens to an account, or to a post's media."""

from django.dispatch import receiver

from accounts.signals import account_deactivated, account_suspended, account_unsuspended
from media.signals import media_settled
from posts import moderation, services, tasks
from socialsite import outbox


@receiver(account_deactivated)
def account_deleted(sender, user_id, **kwargs):
    services.account_deleted(user_id=user_id)


@receiver(account_suspended)
def suspended(sender, user, moderator, reason, report=None, **kwargs):
    moderation.record_suspension(user=user, moderator=moderator, reason=reason, report=report, suspended=True)


@receiver(account_unsuspended)
def unsuspended(sender, user, moderator, reason, report=None, **kwargs):
    moderation.record_suspension(user=user, moderator=moderator, reason=reason, report=report, suspended=False)


@receiver(media_settled)
def media_item_settled(sender, media, **kwargs):
    # In the media service's transaction: the post is settled once the media's status is committed.
    outbox.enqueue(tasks.settle_post_media, str(media.post_id))
