"""The core's periodic tasks: the outbox relay (socialsite.outbox) and idempotency-key pruning."""

from celery import shared_task


@shared_task
def relay_outbox():
    """Publish outbox rows the fast path left (the broker was down, or a process died)."""
    from socialsite import outbox

    return outbox.relay()


@shared_task
def prune_idempotency_keys():
    """Delete Idempotency-Key answers older than IDEMPOTENCY_KEY_HOURS (socialsite.api.idempotency)."""
    from socialsite.api import idempotency

    return idempotency.prune()


@shared_task
def repair():
    """The sweepers (socialsite.repair): work that stopped is set going again."""
    from socialsite import repair

    return repair.run_all()
