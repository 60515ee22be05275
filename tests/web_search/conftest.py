import pytest

from accounts import services as accounts_services
from posts import services as posts_services


@pytest.fixture
def act(django_capture_on_commit_callbacks):
    """Call a service and run what it queued for after commit (the search index, on SQLite)."""

    def call(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return call


@pytest.fixture
def post_by(act):
    def make(author, content, **extra):
        extra.setdefault("content_type", "text")
        post = act(posts_services.post_create, author=author, content=content, **extra)
        return post[0] if isinstance(post, tuple) else post

    return make


@pytest.fixture
def follow(act):
    def make(follower, followed):
        act(accounts_services.follow_create, follower=follower, followed_user_id=followed.pk)

    return make
