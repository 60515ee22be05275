"""Mail through the outbox: EMAIL_BACKEND with EMAIL_URL set (socialsite/settings.py).

Every message any code sends (allauth's confirmations and password resets, the admin's) is
written to the outbox as a `send_email` task, committed with the request's change, and sent by
a worker through EMAIL_DELIVERY_BACKEND (SMTP) behind the "smtp" circuit breaker. A request
never waits on SMTP; with SMTP down the mail waits in the queue and goes out once it is back
(docs/operations.md, "Degraded modes").
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction

from socialsite import breakers, outbox

# A recipient the server refuses is that address's problem, not an SMTP outage.
BREAKER = breakers.breaker("smtp", exclude=[smtplib.SMTPRecipientsRefused])


def as_dict(message: EmailMessage) -> dict[str, Any]:
    """What a worker needs to send `message` again (attachments are not supported)."""
    if message.attachments:
        raise ValueError("OutboxEmailBackend does not carry attachments")
    return {
        "subject": str(message.subject),
        "body": str(message.body),
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": dict(message.extra_headers),
        "alternatives": [[str(content), mimetype] for content, mimetype in getattr(message, "alternatives", [])],
        "content_subtype": message.content_subtype,
    }


def from_dict(data: dict[str, Any]) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=data["subject"],
        body=data["body"],
        from_email=data["from_email"],
        to=data["to"],
        cc=data["cc"],
        bcc=data["bcc"],
        reply_to=data["reply_to"],
        headers=data["headers"],
    )
    for content, mimetype in data["alternatives"]:
        message.attach_alternative(content, mimetype)
    message.content_subtype = data["content_subtype"]
    return message


class OutboxEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        from socialsite import tasks

        with transaction.atomic():  # one commit for the lot, or the caller's
            for message in email_messages:
                outbox.enqueue(tasks.send_email, as_dict(message))
        return len(email_messages)


def deliver(data: dict[str, Any]) -> None:
    """Send one queued message now through EMAIL_DELIVERY_BACKEND, behind the breaker."""
    connection = get_connection(settings.EMAIL_DELIVERY_BACKEND, fail_silently=False)
    BREAKER.call(connection.send_messages, [from_dict(data)])
