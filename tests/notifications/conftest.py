import pytest

from messaging import services as messaging_services
from notifications.models import Notification


@pytest.fixture
def dm(act):
    def send(sender, receiver, content="hi"):
        message, _ = act(messaging_services.message_send, sender=sender, receiver_id=receiver.pk, content=content)
        return message

    return send


def of(user, kind=None):
    rows = Notification.objects.filter(recipient=user)
    if kind:
        rows = rows.filter(type=kind)
    return list(rows.order_by("created_at"))
