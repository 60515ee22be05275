"""The media tasks kept the names they had in posts: messages queued before a deploy, and outbox
rows naming them, still reach them, on the same queues."""

import pytest

from media import tasks
from media.models import Media
from socialsite import outbox
from socialsite.celery import app
from socialsite.models import OutboxMessage
from tests.conftest import image_bytes
from tests.media.conftest import post_file


def test_the_names_and_queues_are_those_from_before_media_was_an_app():
    assert (tasks.process_media.name, tasks.refilter_media.name) == (
        "posts.tasks.process_media",
        "posts.tasks.refilter_media",
    )
    assert app.amqp.router.route({}, "posts.tasks.process_media")["queue"].name == "media"
    assert app.amqp.router.route({}, "posts.tasks.refilter_media")["queue"].name == "default"


@pytest.mark.django_db
def test_an_outbox_row_written_before_the_move_is_relayed_to_the_media_task(
    user_api, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=False):
        media = Media.objects.get(pk=post_file(user_api, image_bytes(), "a.png").json()["id"])
    row = OutboxMessage.objects.get(task="posts.tasks.process_media")
    OutboxMessage.objects.filter(pk=row.pk).update(due_at=row.created_at)  # due now, as after a deploy
    settings.OUTBOX_RELAY_AFTER = 0
    assert outbox.relay() == 1
    media.refresh_from_db()
    assert media.status == Media.Status.READY
