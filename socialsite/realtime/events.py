"""Server → client events over /ws/, sent only after the data they describe is committed.

A service decides the recipients and calls send_event_on_commit(); the consumer just
forwards what reaches the user's group. Delivery is best effort: a client that was
offline resyncs through REST.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def user_group(user_id):
    return f"user.{user_id}"


def send_event_on_commit(user_ids, event, data):
    """Queue `{"event": event, "data": data}` for every open socket of these users."""
    recipients = [str(user_id) for user_id in user_ids]
    transaction.on_commit(lambda: send_event_now_unsafe(recipients, event, data))


def send_event_now_unsafe(user_ids, event, data):
    """Send immediately. Unsafe inside a transaction: the data may never commit."""
    _send_to_groups(user_ids, {"type": "event.push", "event": event, "data": data})


def close_sockets_on_commit(user_ids):
    """Close every open socket of these users once the transaction commits (e.g. deactivation)."""
    recipients = [str(user_id) for user_id in user_ids]
    transaction.on_commit(lambda: _send_to_groups(recipients, {"type": "session.close"}))


def _send_to_groups(user_ids, message):
    layer = get_channel_layer()
    for user_id in user_ids:
        try:
            async_to_sync(layer.group_send)(user_group(user_id), message)
        except Exception:  # the commit stands; clients resync over REST
            logger.exception("Could not send %s to user %s", message["type"], user_id)
