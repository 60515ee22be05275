"""Pluggable SMS senders. settings.SMS_BACKEND names the class; the default prints.

Every text goes through the "sms" circuit breaker (socialsite.breakers): with the provider down,
`send_sms` raises SMSUnavailable at once instead of making each request wait for it.
"""

import logging
from typing import Any, ClassVar

import requests
from django.conf import settings
from django.utils.module_loading import import_string

from socialsite import breakers

logger = logging.getLogger(__name__)


class SMSRejected(Exception):
    """The provider refused this text (an invalid or unreachable number): the provider is up."""


class SMSUnavailable(breakers.DependencyUnavailable):
    """The provider is down, or its breaker is open: 503 from the API and the web pages alike."""

    def __init__(self) -> None:
        super().__init__("sms", "Text messages can't be sent right now. Try again in a moment.")


BREAKER = breakers.breaker("sms", exclude=[SMSRejected])


class ConsoleSMSBackend:
    """Writes the text to stdout, like Django's console email backend."""

    def send(self, phone, text):
        print(f"SMS to {phone}: {text}", flush=True)


class LocmemSMSBackend:
    """Keeps texts in memory; for tests (like django.core.mail.outbox)."""

    outbox: ClassVar[list[Any]] = []

    def send(self, phone, text):
        self.outbox.append({"to": phone, "text": text})


class TwilioSMSBackend:
    """Twilio's Messages API: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, and SMS_FROM (the sender)."""

    URL = "https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json"
    TIMEOUT = (3, 10)  # connect, read: seconds

    def send(self, phone, text):
        sid = settings.TWILIO_ACCOUNT_SID
        response = requests.post(
            self.URL.format(sid=sid),
            data={"To": phone, "From": settings.SMS_FROM, "Body": text},
            auth=(sid, settings.TWILIO_AUTH_TOKEN),
            timeout=self.TIMEOUT,
        )
        if response.status_code == 400:  # Twilio's answer for a number it can't text (21211, 21614 ...)
            raise SMSRejected(response.text[:200])
        response.raise_for_status()


def send_sms(phone, text):
    try:
        BREAKER.call(import_string(settings.SMS_BACKEND)().send, str(phone), text)
    except SMSRejected:
        raise
    except Exception as exc:
        logger.warning("SMS not sent: %s: %s", type(exc).__name__, exc)
        raise SMSUnavailable() from exc
