"""Service-level behaviour: counters, transactions, and the events sent after commit."""

import asyncio

import pytest
from channels.layers import get_channel_layer
from django.db import transaction

from accounts import services
from accounts.models import Block, Follow, FollowRequest, Mute
from socialsite.errors import ForbiddenError, NotFoundError
from socialsite.realtime.events import user_group
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def counts(user):
    user.profile.refresh_from_db()
    return user.profile.followers_count, user.profile.following_count


class GroupListener:
    """A channel subscribed to users' groups on the real channel layer, as a socket would be.

    It keeps one event loop: the Redis layer binds its receive buffers to the loop that made them.
    """

    def __init__(self, *users):
        self.loop = asyncio.new_event_loop()
        self.layer = get_channel_layer()
        self.channel = self.loop.run_until_complete(self.layer.new_channel())
        for user in users:
            self.loop.run_until_complete(self.layer.group_add(user_group(user.pk), self.channel))

    def drain(self, timeout=0.5):
        received = []
        while True:
            try:
                message = self.loop.run_until_complete(asyncio.wait_for(self.layer.receive(self.channel), timeout))
            except TimeoutError:
                return received
            received.append((message["event"], message["data"]))


class TestCounters:
    def test_counts_track_the_rows(self):
        star, fans = UserFactory(), UserFactory.create_batch(3)
        for fan in fans:
            services.follow_create(follower=fan, followed_user_id=star.pk)
            services.follow_create(follower=fan, followed_user_id=star.pk)
        services.follow_delete(follower=fans[0], followed_user_id=star.pk)
        services.follower_remove(user=star, follower_user_id=fans[1].pk)
        assert counts(star) == (1, 0) == (Follow.objects.filter(followed=star).count(), 0)
        assert [counts(f)[1] for f in fans] == [0, 0, 1]

    def test_deactivation_fixes_everyone_elses_counts(self):
        leaving, a, b = UserFactory(), UserFactory(), UserFactory()
        services.follow_create(follower=leaving, followed_user_id=a.pk)
        services.follow_create(follower=b, followed_user_id=leaving.pk)
        services.mute_create(muter=leaving, muted_user_id=b.pk)
        services.block_create(blocker=a, blocked_user_id=b.pk)
        services.user_deactivate(user=leaving)
        assert counts(a) == (0, 0) and counts(b) == (0, 0)
        assert not Follow.objects.exists() and not Mute.objects.exists()
        assert Block.objects.filter(blocker=a).exists()  # other people's blocks stay

    def test_a_failed_transaction_leaves_no_half_follow(self):
        fan, star = UserFactory(), UserFactory()
        with pytest.raises(RuntimeError), transaction.atomic():
            services.follow_create(follower=fan, followed_user_id=star.pk)
            raise RuntimeError
        assert counts(star) == (0, 0) and not Follow.objects.exists()


class TestRules:
    def test_cannot_follow_deactivated_or_unknown(self):
        fan, gone = UserFactory(), UserFactory()
        services.user_deactivate(user=gone)
        with pytest.raises(NotFoundError):
            services.follow_create(follower=fan, followed_user_id=gone.pk)
        with pytest.raises(NotFoundError):
            services.follow_create(follower=fan, followed_user_id="not-a-uuid")

    def test_block_clears_requests_both_ways_and_stops_new_ones(self):
        owner, asker = UserFactory(private=True), UserFactory()
        services.follow_create(follower=asker, followed_user_id=owner.pk)
        services.block_create(blocker=owner, blocked_user_id=asker.pk)
        assert not FollowRequest.objects.exists()
        with pytest.raises(ForbiddenError):
            services.follow_create(follower=asker, followed_user_id=owner.pk)
        services.block_delete(blocker=owner, blocked_user_id=asker.pk)
        assert services.follow_create(follower=asker, followed_user_id=owner.pk).status == "requested"


class TestEventsAfterCommit:
    def test_follow_events_wait_for_the_commit(self, django_capture_on_commit_callbacks):
        fan, star, private = UserFactory(), UserFactory(), UserFactory(private=True)
        listener = GroupListener(star, private)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.follow_create(follower=fan, followed_user_id=star.pk)
            services.follow_create(follower=fan, followed_user_id=private.pk)
        assert listener.drain(timeout=0.2) == []  # nothing leaves before the commit
        for callback in callbacks:
            callback()
        events = listener.drain()
        assert [name for name, _ in events] == ["follow.new", "follow_request.new"]
        assert events[0][1]["user"]["id"] == str(fan.pk)

    def test_rolled_back_follow_sends_nothing(self, django_capture_on_commit_callbacks):
        fan, star = UserFactory(), UserFactory()
        listener = GroupListener(star)
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
            services.follow_create(follower=fan, followed_user_id=star.pk)
            raise RuntimeError
        assert listener.drain(timeout=0.2) == []

    def test_approval_tells_the_requester(self, django_capture_on_commit_callbacks):
        owner, asker = UserFactory(private=True), UserFactory()
        services.follow_create(follower=asker, followed_user_id=owner.pk)
        listener = GroupListener(asker)
        with django_capture_on_commit_callbacks(execute=True):
            services.follow_request_approve(target=owner, request_id=FollowRequest.objects.get().pk)
        assert [name for name, _ in listener.drain()] == ["follow.accepted"]
