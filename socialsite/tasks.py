"""The core's tasks: the outbox relay (socialsite.outbox), idempotency-key pruning, the sweepers, and
sending the mail socialsite.mail queued."""

import logging
import smtplib

from celery import shared_task

logger = logging.getLogger(__name__)


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


@shared_task(bind=True, max_retries=10, acks_late=True)
def send_email(self, message):
    """Send a message socialsite.mail queued. SMTP failing: retried with backoff (10 s doubling
    to 10 min); its breaker open: tried again when the breaker lets a call through."""
    from socialsite import breakers, mail

    try:
        mail.deliver(message)
    except smtplib.SMTPRecipientsRefused:
        logger.warning("Mail to %s refused by the server; not sent", message["to"])
    except breakers.CircuitBreakerError as exc:
        breakers.retry_later(self, "smtp", exc)
    except Exception as exc:
        if self.request.is_eager:
            raise  # in process: the outbox keeps the row and its relay tries again, backing off
        raise self.retry(exc=exc, countdown=min(600, 10 * 2 ** (self.request.retries or 0)))
