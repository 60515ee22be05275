import pytest

from accounts import services as accounts_services
from messaging import services as messaging_services
from notifications.models import Notification
from posts import services as posts_services


@pytest.fixture
def act(django_capture_on_commit_callbacks):
    """act(fn, **kwargs): call a service and run what it queued for after commit (the tasks run
    in-process: task_always_eager), as a real request and worker would."""

    def call(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return call


@pytest.fixture
def follow(act):
    def make(follower, followed):
        return act(accounts_services.follow_create, follower=follower, followed_user_id=followed.pk)

    return make


@pytest.fixture
def post_by(act):
    def make(author, content="hello", **extra):
        post = act(posts_services.post_create, author=author, content_type="text", content=content, **extra)
        return post[0] if isinstance(post, tuple) else post

    return make


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
