"""Sending Web Push: a like makes a notification, the notification worker's task POSTs it,
encrypted for the browser's keys with a VAPID signature, to a real local push service; the test
decrypts what arrived. Gone subscriptions are deleted, failures retry, and nothing is sent twice."""

from datetime import timedelta

import pytest
from django.utils import timezone
from py_vapid import Vapid02
from uuid6 import uuid7

from accounts import services as accounts_services
from notifications import push, tasks
from notifications.models import Notification, PushDelivery, PushSubscription
from posts import services as posts_services
from socialsite.errors import ServiceError
from socialsite.models import OutboxMessage

pytestmark = pytest.mark.django_db

TASK = "notifications.tasks.push_notification"


@pytest.fixture
def unpushed(settings):
    """unpushed(recipient, actor) -> a follow notification made while push was off (no task
    ran): the tests then run the task's body themselves."""
    from notifications.services import notify

    def make(recipient, actor):
        private, settings.WEBPUSH_VAPID_PRIVATE_KEY = settings.WEBPUSH_VAPID_PRIVATE_KEY, ""
        notify(kind="follow", actor=actor, recipient_ids=[recipient.pk], key=f"follow:{actor.pk}")
        settings.WEBPUSH_VAPID_PRIVATE_KEY = private
        return Notification.objects.get(recipient=recipient, key=f"follow:{actor.pk}")

    return make


@pytest.fixture
def liked(ana, bo, post_by, act):
    """-> a function: bo likes a new post of ana's (a like notification for her); -> the post."""

    def like():
        post = post_by(ana, "Sunset over the bay")
        act(posts_services.like_create, user=bo, post_id=post.pk)
        return post

    return like


def test_a_like_is_pushed_encrypted_and_signed(ana, bo, subscribe, push_service, liked, vapid):
    subscription, keys = subscribe(ana)
    post = liked()

    [request] = push_service.to("/push/0")
    headers = request["headers"]
    assert headers["content-encoding"] == "aes128gcm"
    assert int(headers["ttl"]) > 0 and headers["urgency"] == "normal"
    # Signed with the server's VAPID key for this push service's origin.
    scheme, token = headers["authorization"].split(" ", 1)
    assert scheme == "vapid"
    assert f"k={vapid['public_key']}" in token
    assert Vapid02.verify(headers["authorization"])
    notification = Notification.objects.get(recipient=ana, type="like")
    assert keys.decrypt(request["body"]) == {
        "title": "bo liked your post",
        "body": "",
        "url": f"/posts/{post.pk}/",
        "tag": notification.group_key,
    }
    delivery = PushDelivery.objects.get(notification_id=notification.pk, subscription=subscription)
    assert delivery.sent_at is not None
    subscription.refresh_from_db()
    assert subscription.last_success_at is not None and subscription.failures == 0

    # A retried task (at-least-once delivery) sends nothing again.
    tasks.push_notification.run(str(notification.pk))
    assert push.send(notification_id=notification.pk).skipped == 1
    assert len(push_service.requests) == 1


def test_every_browser_of_the_recipient_gets_it_and_nobody_else(ana, bo, cy, subscribe, push_service, liked):
    subscribe(ana, "/ana-phone")
    subscribe(ana, "/ana-laptop")
    subscribe(cy, "/cy")
    liked()
    assert sorted(request["path"] for request in push_service.requests) == ["/ana-laptop", "/ana-phone"]


def test_a_comment_push_shows_the_excerpt_the_page_shows(ana, bo, subscribe, push_service, post_by, act):
    _, keys = subscribe(ana)
    post = post_by(ana)
    act(posts_services.comment_create, author=bo, post_id=post.pk, content="What a view " * 20)
    body = keys.decrypt(push_service.requests[0]["body"])
    assert body["title"] == "bo commented on your post"
    assert body["body"].startswith("What a view") and len(body["body"]) <= push.BODY_MAX
    assert body["url"].startswith(f"/posts/{post.pk}/")


def test_no_task_without_a_subscription_or_with_push_off(ana, bo, liked, settings, django_capture_on_commit_callbacks):
    from notifications.services import notify

    settings.WEBPUSH_VAPID_PUBLIC_KEY = "key"
    settings.WEBPUSH_VAPID_PRIVATE_KEY = "key"
    notify(kind="follow", actor=bo, recipient_ids=[ana.pk], key="follow:test")  # enabled, nobody subscribed
    assert not OutboxMessage.objects.filter(task=TASK).exists()
    PushSubscription.objects.create(user=ana, endpoint="https://fcm.googleapis.com/fcm/send/x", p256dh="p", auth="a")
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""  # push off: not even the lookup
    notify(kind="follow", actor=bo, recipient_ids=[ana.pk], key="follow:test2")
    assert not OutboxMessage.objects.filter(task=TASK).exists()
    settings.WEBPUSH_VAPID_PRIVATE_KEY = "key"
    notify(kind="follow", actor=bo, recipient_ids=[ana.pk, bo.pk], key="follow:test3")
    [row] = OutboxMessage.objects.filter(task=TASK)
    assert row.args == [str(Notification.objects.get(key="follow:test3").pk)]
    notify(kind="follow", actor=bo, recipient_ids=[ana.pk], key="follow:test3")  # made before: nothing new
    assert OutboxMessage.objects.filter(task=TASK).count() == 1


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_deleted(ana, subscribe, push_service, liked, status):
    gone, _ = subscribe(ana, "/gone")
    kept, _ = subscribe(ana, "/kept")
    push_service.status["/gone"] = status
    liked()
    assert not PushSubscription.objects.filter(pk=gone.pk).exists()
    assert PushSubscription.objects.filter(pk=kept.pk).exists()
    assert len(push_service.to("/gone")) == 1 and len(push_service.to("/kept")) == 1


def test_a_failure_retries_and_sends_only_what_failed(ana, bo, subscribe, push_service, unpushed):
    flaky, _ = subscribe(ana, "/flaky")
    subscribe(ana, "/fine")
    push_service.status["/flaky"] = 503
    notification = unpushed(ana, bo)

    with pytest.raises(Exception, match="503"):
        push.send(notification_id=notification.pk)
    flaky.refresh_from_db()
    assert flaky.failures == 1
    assert not PushDelivery.objects.filter(subscription=flaky).exists()  # the claim went: a retry sends
    # The retry (the task's autoretry) sends only to the one that failed.
    push_service.status["/flaky"] = 201
    outcome = push.send(notification_id=notification.pk)
    assert (outcome.sent, outcome.skipped) == (1, 1)
    assert len(push_service.to("/fine")) == 1 and len(push_service.to("/flaky")) == 2
    flaky.refresh_from_db()
    assert flaky.failures == 0


def test_a_refused_push_is_not_retried(ana, bo, subscribe, push_service, unpushed):
    refused, _ = subscribe(ana, "/refused")
    push_service.status["/refused"] = 403  # e.g. the VAPID key changed since the browser subscribed
    outcome = push.send(notification_id=unpushed(ana, bo).pk)  # no exception: no retry
    assert outcome.failed == 1
    refused.refresh_from_db()
    assert refused.failures == 1


def test_a_claim_in_flight_is_skipped_and_a_dead_workers_is_taken_over(ana, bo, subscribe, push_service, unpushed):
    subscription, _ = subscribe(ana)
    notification = unpushed(ana, bo)
    # Another worker is sending it now (a redelivered task running twice at once).
    PushDelivery.objects.create(notification_id=notification.pk, subscription=subscription, claimed_at=timezone.now())
    assert push.send(notification_id=notification.pk).skipped == 1
    assert push_service.requests == []
    # That worker died before confirming: once a send can't still be running, a retry takes over.
    PushDelivery.objects.update(claimed_at=timezone.now() - timedelta(minutes=5))
    assert push.send(notification_id=notification.pk).sent == 1
    assert len(push_service.requests) == 1


def test_nothing_is_pushed_once_read_or_hidden(ana, bo, cy, subscribe, push_service, unpushed, act):
    from notifications.services import mark_all_read

    subscribe(ana)
    from_bo, from_cy = unpushed(ana, bo), unpushed(ana, cy)
    act(accounts_services.mute_create, muter=ana, muted_user_id=bo.pk)
    assert push.send(notification_id=from_bo.pk).sent == 0
    mark_all_read(user=ana)
    assert push.send(notification_id=from_cy.pk).sent == 0
    assert push.send(notification_id=uuid7()).sent == 0  # deleted since
    assert push_service.requests == []


def test_an_outage_opens_the_breaker(ana, bo, subscribe, push_service, unpushed, fast_breakers):
    from pybreaker import CircuitBreakerError

    subscribe(ana, "/down")
    push_service.status["/down"] = 502
    notification = unpushed(ana, bo)
    for _ in range(fast_breakers.BREAKER_FAIL_MAX - 1):
        with pytest.raises(Exception, match="502"):
            push.send(notification_id=notification.pk)
    with pytest.raises(CircuitBreakerError):
        push.send(notification_id=notification.pk)  # the one that opens it
    with pytest.raises(CircuitBreakerError):
        push.send(notification_id=notification.pk)
    assert len(push_service.requests) == fast_breakers.BREAKER_FAIL_MAX  # the last call never reached it
    subscription = PushSubscription.objects.get()
    assert subscription.failures == fast_breakers.BREAKER_FAIL_MAX - 1  # the service's fault, not this browser's
    assert not PushDelivery.objects.exists()  # nothing claimed: the trial call's run sends it


def test_a_worker_waits_for_the_breaker_without_spending_a_retry(
    ana, bo, subscribe, push_service, unpushed, fast_breakers
):
    """In a worker the task is published again with its retries unchanged and an ETA at the
    breaker's half-open time (as tests/search/test_degraded.py checks for indexing)."""
    from celery.exceptions import Ignore
    from celery.signals import before_task_publish

    from socialsite import breakers
    from socialsite.celery import app

    subscribe(ana, "/down")
    push_service.status["/down"] = 502
    notification = unpushed(ana, bo)
    for _ in range(fast_breakers.BREAKER_FAIL_MAX):
        with pytest.raises(Exception):  # noqa: B017 -- 502s, then the breaker opening
            push.send(notification_id=notification.pk)
    assert breakers.is_open("webpush:127.0.0.1")
    published = []

    def record(sender=None, headers=None, **kwargs):
        published.append((sender, headers["retries"]))

    before_task_publish.connect(record, weak=False)
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    tasks.push_notification.push_request(args=[str(notification.pk)], kwargs={}, retries=3, is_eager=False)
    try:
        with pytest.raises(Ignore):  # this run ends; the published copy runs at the trial call
            tasks.push_notification.run(str(notification.pk))
    finally:
        tasks.push_notification.pop_request()
        before_task_publish.disconnect(record)
        app.conf.task_always_eager = eager
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge("notifications")
    assert published == [(TASK, 3)]
    assert len(push_service.requests) == fast_breakers.BREAKER_FAIL_MAX


def test_the_payload_stays_small_and_push_off_sends_nothing(ana, bo, subscribe, push_service, unpushed, settings):
    subscribe(ana)
    notification = unpushed(ana, bo)
    notification.payload = {"excerpt": "word " * 100}
    assert len(push.payload(notification)["body"]) == push.BODY_MAX
    settings.WEBPUSH_VAPID_PUBLIC_KEY = ""
    assert push.send(notification_id=notification.pk).sent == 0
    assert push_service.requests == []
    with pytest.raises(ServiceError):
        push.unsubscribe(user=ana, endpoint=None)


def test_old_delivery_records_are_pruned(ana, bo, subscribe, unpushed, settings):
    subscription, _ = subscribe(ana)
    old, new = unpushed(ana, bo), unpushed(bo, ana)
    now = timezone.now()
    PushDelivery.objects.create(notification_id=old.pk, subscription=subscription, claimed_at=now - timedelta(hours=25))
    PushDelivery.objects.create(notification_id=new.pk, subscription=subscription, claimed_at=now - timedelta(hours=23))
    assert tasks.prune_push_deliveries.run() == 1
    assert list(PushDelivery.objects.values_list("notification_id", flat=True)) == [new.pk]


def test_notifications_still_go_in_one_statement():
    """Nothing points at Notification: a deleted post or user takes its notifications with one
    DELETE, never loading them (a celebrity's post has one per bell subscriber)."""
    from django.db.models.deletion import Collector

    assert Collector(using="default").can_fast_delete(Notification.objects.all())
