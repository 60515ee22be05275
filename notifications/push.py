"""Web Push: browsers' subscriptions, and sending a notification to them (pywebpush, VAPID).

Off unless WEBPUSH_VAPID_PUBLIC_KEY and WEBPUSH_VAPID_PRIVATE_KEY are set. When a notification
row is made (services.notify, on_post_failed, the moderation notices) and its recipient has a
subscription, a `push_notification` task is queued through the outbox in the same transaction;
the notification worker runs `send` for it.

Which types push is the user's notification preferences: a type they turned off makes no row,
so it pushes nothing either. `send` is idempotent per (notification, subscription): a delivery
row is claimed before each POST and confirmed after it, so a retried task sends nothing twice.
A 404 or 410 from the push service means the browser dropped the subscription: it is deleted.
Any other failure is counted on the subscription and the task retries with backoff; each push
service host has a circuit breaker (socialsite/breakers.py), so an outage fails fast.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from notifications.models import Notification, PushDelivery, PushSubscription
from notifications.selectors import _text, target_url
from socialsite import breakers
from socialsite.errors import ConflictError, ServiceError

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

ENDPOINT_MAX = 1000
P256DH_BYTES = 65  # an uncompressed P-256 point
AUTH_BYTES = 16
BODY_MAX = 140  # characters of the excerpt a push shows


def enabled() -> bool:
    return bool(settings.WEBPUSH_VAPID_PUBLIC_KEY and settings.WEBPUSH_VAPID_PRIVATE_KEY)


def public_key() -> str | None:
    """The VAPID public key browsers subscribe with (applicationServerKey), or None when push is off."""
    return settings.WEBPUSH_VAPID_PUBLIC_KEY if enabled() else None


# --- Subscriptions ------------------------------------------------------------------------------


def _b64url_bytes(value: object, length: int, field: str) -> str:
    """A base64url text (padding optional) of exactly `length` bytes, returned without padding."""
    message = f"{length} bytes, base64url."
    if not isinstance(value, str) or len(value) > 2 * length or "\x00" in value:
        raise ServiceError("Malformed key.", code="invalid", fields={field: [message]})
    text = value.rstrip("=")
    if text.strip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"):
        raise ServiceError("Malformed key.", code="invalid", fields={field: [message]})
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ServiceError("Malformed key.", code="invalid", fields={field: [message]}) from None
    if len(raw) != length or (field == "p256dh" and raw[0] != 4):
        raise ServiceError("Malformed key.", code="invalid", fields={field: [message]})
    return text


def endpoint_allowed(endpoint: str) -> bool:
    """Whether `endpoint` is a push service's URL (WEBPUSH_ENDPOINT_HOSTS)."""
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 -- raises on a malformed port
    except ValueError:
        return False
    if not parts.hostname or parts.username or parts.password or not parts.path:
        return False
    origin = f"{parts.scheme}://{parts.hostname}"
    return any(fnmatch.fnmatchcase(origin, pattern) for pattern in settings.WEBPUSH_ENDPOINT_HOSTS)


def _clean_endpoint(endpoint: object) -> str:
    if not isinstance(endpoint, str) or len(endpoint) > ENDPOINT_MAX or any(c.isspace() for c in endpoint):
        raise ServiceError(
            "Malformed endpoint.", code="invalid", fields={"endpoint": [f"An https URL, at most {ENDPOINT_MAX}."]}
        )
    if not endpoint_allowed(endpoint):
        raise ServiceError(
            "That endpoint is not a known push service.",
            code="invalid",
            fields={"endpoint": ["The https URL a browser's PushManager gave."]},
        )
    return endpoint


@transaction.atomic
def subscribe(*, user: User, endpoint: object, p256dh: object, auth: object) -> tuple[PushSubscription, bool]:
    """Save a browser's subscription for `user`. -> (it, whether it is new).

    An upsert by endpoint, so a replayed request changes nothing. An endpoint already saved for
    another account moves to this one: it is one browser, and whoever subscribed there last is
    signed in there now. Past WEBPUSH_MAX_SUBSCRIPTIONS, the user's oldest ones are dropped."""
    if not enabled():
        raise ConflictError("Push notifications are off on this server.", code="push_disabled")
    values = {
        "user": user,
        "p256dh": _b64url_bytes(p256dh, P256DH_BYTES, "p256dh"),
        "auth": _b64url_bytes(auth, AUTH_BYTES, "auth"),
    }
    endpoint = _clean_endpoint(endpoint)
    subscription, made = PushSubscription.objects.get_or_create(endpoint=endpoint, defaults=values)
    if not made and any(getattr(subscription, name) != value for name, value in values.items()):
        for name, value in values.items():
            setattr(subscription, name, value)
        subscription.failures = 0
        subscription.save(update_fields=["user", "p256dh", "auth", "failures"])
    extra = PushSubscription.objects.filter(user=user).order_by("-created_at", "-id")[
        settings.WEBPUSH_MAX_SUBSCRIPTIONS :
    ]
    PushSubscription.objects.filter(pk__in=list(extra.values_list("pk", flat=True))).delete()
    return subscription, made


def unsubscribe(*, user: User, endpoint: object) -> int:
    """Forget one of the user's subscriptions (someone else's stays). -> how many went (0 or 1)."""
    if not isinstance(endpoint, str) or len(endpoint) > ENDPOINT_MAX:
        raise ServiceError("Malformed endpoint.", code="invalid", fields={"endpoint": ["An https URL."]})
    deleted, _ = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return min(deleted, 1)


# --- Queueing -------------------------------------------------------------------------------------


def queue(rows: Iterable[tuple[uuid.UUID | str, uuid.UUID | str]]) -> int:
    """Inside the transaction that made these notifications ([(id, recipient_id)]): queue a push
    task for each whose recipient has a subscription. One query, none when push is off."""
    if not enabled():
        return 0
    rows = list(rows)
    if not rows:
        return 0
    from notifications import tasks
    from socialsite import outbox

    recipients = {str(recipient_id) for _, recipient_id in rows}
    subscribed = {
        str(user_id)
        for user_id in PushSubscription.objects.filter(user_id__in=recipients)
        .values_list("user_id", flat=True)
        .distinct()
    }
    calls: list[outbox.Call] = [
        (tasks.push_notification, (str(pk),), "") for pk, recipient_id in rows if str(recipient_id) in subscribed
    ]
    outbox.enqueue_many(calls)
    return len(calls)


# --- Sending ------------------------------------------------------------------------------------


def payload(notification: Notification) -> dict[str, str]:
    """What the push shows: the line's text, its excerpt, where a click goes, and a tag that
    folds a group's pushes into one. Nothing the notifications page doesn't show."""
    excerpt = str(notification.payload.get("excerpt") or "")
    if len(excerpt) > BODY_MAX:
        excerpt = excerpt[: BODY_MAX - 1] + "…"
    return {
        "title": _text(notification.type, notification.actor.username, payload=notification.payload),
        "body": excerpt,
        "url": target_url(notification),
        "tag": notification.group_key[:64],
    }


class PushGone(Exception):
    """The push service says the subscription is no more (404 or 410)."""


class PushRefused(Exception):
    """The push service refused this push for good (another 4xx than 429: a VAPID key that
    changed, a payload too large): a retry would be refused too."""


class PushServiceDown(breakers.CircuitBreakerError):
    """A push service's breaker is open: the task runs again when it lets a trial call through
    (breakers.retry_later), without spending a retry."""

    def __init__(self, breaker: str) -> None:
        super().__init__(f"{breaker} is open")
        self.breaker = breaker


def _breaker_name(endpoint: str) -> str:
    # Hosts come from WEBPUSH_ENDPOINT_HOSTS' few services, so the breakers (and metric labels) stay few.
    return f"webpush:{urlsplit(endpoint).hostname}"


def _breaker(endpoint: str) -> breakers.Breaker:
    return breakers.breaker(_breaker_name(endpoint), exclude=[breakers.client_error])


def _post(subscription: PushSubscription, data: str) -> None:
    from pywebpush import webpush

    webpush(
        subscription_info={
            "endpoint": subscription.endpoint,
            "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
        },
        data=data,
        vapid_private_key=settings.WEBPUSH_VAPID_PRIVATE_KEY,
        vapid_claims={"sub": settings.WEBPUSH_VAPID_SUBJECT},
        ttl=settings.WEBPUSH_TTL,
        timeout=settings.WEBPUSH_TIMEOUT,
        headers={"Urgency": "normal"},
    )


def _claim(notification_id: uuid.UUID, subscription_id: uuid.UUID) -> bool:
    """Take the (notification, subscription) delivery: False when it was sent, or another worker
    is sending it now. A claim older than a send can take is a dead worker's: taken over."""
    now = timezone.now()
    _, made = PushDelivery.objects.get_or_create(
        notification_id=notification_id, subscription_id=subscription_id, defaults={"claimed_at": now}
    )
    if made:
        return True
    stale = now - timedelta(seconds=settings.WEBPUSH_TIMEOUT * 3)
    taken: int = PushDelivery.objects.filter(
        notification_id=notification_id, subscription_id=subscription_id, sent_at__isnull=True, claimed_at__lt=stale
    ).update(claimed_at=now)
    return taken == 1


@dataclass
class Outcome:
    sent: int = 0
    gone: int = 0
    failed: int = 0
    skipped: int = 0


def _deliverable(notification_id: uuid.UUID) -> Notification | None:
    """The notification, if it is still worth a push: there, unread, and visible to its recipient."""
    row = (
        Notification.objects.select_related("recipient", "actor")
        .filter(pk=notification_id, read_at__isnull=True, recipient__is_active=True)
        .first()
    )
    if row is None or not Notification.objects.visible_to(row.recipient).filter(pk=row.pk).exists():
        return None
    return row


def send(*, notification_id: uuid.UUID) -> Outcome:
    """Push one notification to every subscription of its recipient, each at most once.

    Raises when a send failed for a reason other than the subscription being gone (after
    trying the others), so the task retries; PushServiceDown when the only trouble was an open
    breaker. What was sent is recorded and not sent again."""
    outcome = Outcome()
    if not enabled():
        return outcome
    notification = _deliverable(notification_id)
    if notification is None:
        return outcome
    data = json.dumps(payload(notification), separators=(",", ":"))
    error: BaseException | None = None
    down = ""
    for subscription in PushSubscription.objects.filter(user_id=notification.recipient_id).order_by("created_at"):
        if not _claim(notification.pk, subscription.pk):
            outcome.skipped += 1
            continue
        try:
            _send_one(subscription, data)
        except PushGone:
            subscription.delete()  # its claim goes with it
            outcome.gone += 1
        except breakers.CircuitBreakerError:  # the service is known to be down: no request, no failure counted
            PushDelivery.objects.filter(notification_id=notification.pk, subscription_id=subscription.pk).delete()
            down = _breaker_name(subscription.endpoint)
        except PushRefused as exc:
            PushSubscription.objects.filter(pk=subscription.pk).update(failures=F("failures") + 1)
            logger.warning("Web Push to %s refused: %s", urlsplit(subscription.endpoint).hostname, exc)
            outcome.failed += 1
        except Exception as exc:  # the push service failed or is unreachable: retry later
            PushDelivery.objects.filter(notification_id=notification.pk, subscription_id=subscription.pk).delete()
            PushSubscription.objects.filter(pk=subscription.pk).update(failures=F("failures") + 1)
            logger.warning("Web Push to %s failed: %s", urlsplit(subscription.endpoint).hostname, exc)
            outcome.failed += 1
            error = exc
        else:
            now = timezone.now()
            PushDelivery.objects.filter(notification_id=notification.pk, subscription_id=subscription.pk).update(
                sent_at=now
            )
            PushSubscription.objects.filter(pk=subscription.pk).update(last_success_at=now, failures=0)
            outcome.sent += 1
    if error is not None:
        raise error
    if down:
        raise PushServiceDown(down)
    return outcome


def _send_one(subscription: PushSubscription, data: str) -> None:
    from pywebpush import WebPushException

    try:
        _breaker(subscription.endpoint).call(_post, subscription, data)
    except WebPushException as exc:
        if exc.status_code in (404, 410):
            raise PushGone from exc
        if breakers.client_error(exc):
            raise PushRefused(str(exc)) from exc
        raise


def prune() -> int:
    """Delete the delivery records no task can need any more (older than
    WEBPUSH_DELIVERY_KEEP_HOURS, past every retry); how many. Beat, hourly."""
    cutoff = timezone.now() - timedelta(hours=settings.WEBPUSH_DELIVERY_KEEP_HOURS)
    deleted: int = PushDelivery.objects.filter(claimed_at__lt=cutoff).delete()[0]
    return deleted


def keys() -> dict[str, Any]:
    """A new VAPID key pair (py-vapid), both base64url: the public key as the uncompressed point
    browsers take, the private key as its 32 raw bytes (what WEBPUSH_VAPID_PRIVATE_KEY holds)."""
    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid02, b64urlencode

    vapid = Vapid02()
    vapid.generate_keys()
    public = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    private = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
    return {"public_key": b64urlencode(public), "private_key": b64urlencode(private)}
