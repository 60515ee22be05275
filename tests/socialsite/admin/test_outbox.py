"""The outbox in the admin: the backlog in the title, rows read-only, and "Publish now"."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from socialsite import outbox
from socialsite.models import OutboxMessage
from tests.socialsite.outbox.recorder import CALLS, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(superuser_client):
    OutboxMessage.objects.all().delete()  # the accounts' own (search indexing)
    CALLS.clear()
    return superuser_client


def waiting(*values):
    with transaction.atomic():  # on_commit doesn't run in these tests: the rows wait
        outbox.enqueue_many((record, (value,), "") for value in values)
    OutboxMessage.objects.update(created_at=timezone.now() - timedelta(minutes=3))


def test_the_changelist_shows_the_backlog(operator):
    waiting("a", "b")
    response = operator.get(reverse("admin:socialsite_outboxmessage_changelist"))
    assert response.status_code == 200
    assert "Outbox: 2 waiting, oldest 180 s" in response.content.decode()
    row = OutboxMessage.objects.first()
    page = operator.get(reverse("admin:socialsite_outboxmessage_change", args=[row.pk]))
    assert page.status_code == 200 and 'name="task"' not in page.content.decode()  # read-only
    assert operator.get(reverse("admin:socialsite_outboxmessage_add")).status_code == 403


def test_publish_now_relays_the_chosen_rows_at_once(operator):
    waiting("a", "b")
    ids = [str(pk) for pk in OutboxMessage.objects.values_list("pk", flat=True)]
    response = operator.post(
        reverse("admin:socialsite_outboxmessage_changelist"),
        {"action": "publish_now", "_selected_action": ids},
        follow=True,
    )
    assert "Published 2 messages" in response.content.decode()
    assert sorted(CALLS) == ["a", "b"]  # without a broker, publishing runs the task
    assert not OutboxMessage.objects.exists()
