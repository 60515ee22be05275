"""Media processing that stopped (a worker killed mid-run, a task lost with the broker) is queued
again and, after MEDIA_PROCESSING_ATTEMPTS runs, failed; posts left waiting for media that all
settled are published. A real killed worker: tests/faults/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from media import services as media_code
from media.models import Media
from notifications import services as notification_services
from notifications.models import Notification
from posts import services as posts_services
from posts.models import Post
from socialsite.models import OutboxMessage
from tests.conftest import image_bytes
from tests.media.conftest import post_file, processed

pytestmark = pytest.mark.django_db


@pytest.fixture
def lost(user_api, django_capture_on_commit_callbacks):
    """An upload whose processing task was lost: the row waits in `processing`."""

    def make():
        with django_capture_on_commit_callbacks(execute=False):
            response = post_file(user_api, image_bytes(), "a.png")
        OutboxMessage.objects.all().delete()
        return processed(response.json()["id"])

    return make


def overdue(media, settings, **fields):
    past = timezone.now() - timedelta(seconds=settings.MEDIA_PROCESSING_DEADLINE + 1)
    Media.objects.filter(pk=media.pk).update(queued_at=past, **fields)


def pending_post(user, media):
    post = Post.objects.create(author=user, content_type=Post.ContentType.IMAGE, status=Post.Status.PENDING_MEDIA)
    Media.objects.filter(pk=media.pk).update(post=post)
    return post


def test_media_past_the_deadline_is_processed_again(lost, act, settings, user):
    media = lost()
    post = pending_post(user, media)
    assert media_code.media_resume_stalled() == 0  # within its deadline
    overdue(media, settings)
    assert act(media_code.media_resume_stalled) == 1
    assert processed(media.pk).status == Media.Status.READY
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED and post.published_at is not None


def test_requeueing_starts_a_new_deadline(lost, settings):
    media = lost()
    overdue(media, settings)
    assert media_code.media_resume_stalled() == 1
    assert [row.args for row in OutboxMessage.objects.filter(task="posts.tasks.process_media")] == [[str(media.pk)]]
    assert media_code.media_resume_stalled() == 0


def test_media_that_keeps_stopping_fails_and_so_does_its_post(lost, act, settings, user):
    media = lost()
    post = pending_post(user, media)
    overdue(media, settings, attempts=settings.MEDIA_PROCESSING_ATTEMPTS)  # runs that started and died
    assert act(media_code.media_resume_stalled) == 1
    media = processed(media.pk)
    assert (media.status, media.error) == (Media.Status.FAILED, media_code.TOO_SLOW_MESSAGE)
    assert not media.upload.name  # the raw upload is deleted with it
    post.refresh_from_db()
    assert post.status == Post.Status.FAILED


def test_a_post_left_waiting_for_settled_media_is_published(lost, act, settings, user):
    media = lost()
    act(media_code.media_process, media_id=media.pk)
    post = pending_post(user, media)  # attached after it settled: as if the settle task was lost
    assert posts_services.posts_settle_stuck() == 0  # touched within the last minute
    Post.objects.filter(pk=post.pk).update(updated_at=timezone.now() - timedelta(minutes=2))
    assert act(posts_services.posts_settle_stuck) == 1
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert OutboxMessage.objects.filter(task="feeds.tasks.fanout_post", args=[str(post.pk)]).exists() is False
    assert post.fanout.status == "done"  # published through the usual path: fanned out after the commit


def test_the_author_is_told_when_their_post_fails(lost, act, settings, user, user_api):
    media = lost()
    post = pending_post(user, media)
    overdue(media, settings, attempts=settings.MEDIA_PROCESSING_ATTEMPTS)
    act(media_code.media_resume_stalled)
    (notification,) = Notification.objects.filter(recipient=user)
    assert (notification.type, notification.post_id, notification.actor_id) == ("post_failed", post.pk, user.pk)
    (line,) = user_api.get("/api/v1/users/me/notifications").json()["results"]
    assert line["text"] == "Your post couldn't be published"
    assert line["excerpt"] == media_code.TOO_SLOW_MESSAGE
    assert line["url"] == f"/posts/{post.pk}/"
    act(posts_services.post_media_settled, post_id=post.pk)  # settled again: told once
    assert Notification.objects.filter(recipient=user).count() == 1


def test_an_author_who_turned_it_off_is_not_told(lost, act, settings, user):
    act(notification_services.preferences_update, user=user, changes={"post_failed": False})
    media = lost()
    pending_post(user, media)
    overdue(media, settings, attempts=settings.MEDIA_PROCESSING_ATTEMPTS)
    act(media_code.media_resume_stalled)
    assert not Notification.objects.filter(recipient=user).exists()
