"""What the shell, logs and the sweeper's warnings print for the fan-out bookkeeping rows."""

import pytest

from feeds.models import Celebrity, Fanout, FanoutBatch
from tests.factories import UserFactory
from tests.posts.factories import PostFactory

pytestmark = pytest.mark.django_db


def test_rows_name_what_they_track():
    author = UserFactory()
    post = PostFactory(author=author)
    fanout = Fanout.objects.create(post=post, mode=Fanout.Mode.PULL, batches_total=3, batches_done=1)
    batch = FanoutBatch.objects.create(fanout=fanout, number=2, queue="fanout_low", announce=False, follower_ids="")

    assert str(Celebrity.objects.create(author=author)) == f"{author.pk} (celebrity)"
    assert str(fanout) == f"fan-out of {post.pk}: pull pending 1/3"
    assert str(batch) == f"batch 2 of {post.pk}"
