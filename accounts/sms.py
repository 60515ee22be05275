"""Pluggable SMS senders. settings.SMS_BACKEND names the class; the default prints."""

import logging
from typing import Any, ClassVar

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class ConsoleSMSBackend:
    """Writes the text to stdout, like Django's console email backend."""

    def send(self, phone, text):
        print(f"SMS to {phone}: {text}", flush=True)


class LocmemSMSBackend:
    """Keeps texts in memory; for tests (like django.core.mail.outbox)."""

    outbox: ClassVar[list[Any]] = []

    def send(self, phone, text):
        self.outbox.append({"to": phone, "text": text})


def send_sms(phone, text):
    import_string(settings.SMS_BACKEND)().send(str(phone), text)
