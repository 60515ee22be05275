import pytest

from posts import services as posts_services
from tests.factories import UserFactory


@pytest.fixture
def settle(act):
    """settle(fn, *args, **kwargs): run a service and the tasks it queues on commit, as a worker would."""
    return act


@pytest.fixture
def post(settle):
    def make(author, content="hello", **fields):
        return settle(posts_services.post_create, author=author, content_type="text", content=content, **fields)

    return make


@pytest.fixture
def threshold(settings):
    """Celebrities from 3 followers up, as in the issue's walk-through."""
    settings.FEED_FANOUT_THRESHOLD = 3
    return 3


@pytest.fixture
def fans(follow):
    def make(author, n):
        users = UserFactory.create_batch(n)
        for user in users:
            follow(user, author)
        return users

    return make
