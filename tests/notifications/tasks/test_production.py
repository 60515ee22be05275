"""Every type is made by its real action: services commit, the receivers queue a task after
commit, the task (in-process here) re-reads the state and notifies."""

import pytest
from django.db import transaction
from django.utils import timezone

from accounts import services as accounts_services
from messaging import services as messaging_services
from messaging import viewing
from notifications import services, tasks
from notifications.models import Bell, MessageWindow, Notification, Preferences
from posts import services as posts_services
from tests.factories import UserFactory
from tests.notifications.conftest import of

pytestmark = pytest.mark.django_db(transaction=False)
Type = Notification.Type


def test_follow_notifies_the_followed_once(ana, bo, follow):
    follow(bo, ana)
    follow(bo, ana)  # again: nothing new
    [row] = of(ana)
    assert (row.type, row.actor_id, row.read_at) == (Type.FOLLOW, bo.pk, None)
    assert of(bo) == []


def test_follow_request_then_accept(ana, bo, follow, act):
    private = UserFactory(username="priv", private=True)
    follow(ana, private)
    [request] = of(private, Type.FOLLOW_REQUEST)
    assert request.actor_id == ana.pk
    request_id = accounts_services.FollowRequest.objects.get(requester=ana).pk
    act(accounts_services.follow_request_approve, target=private, request_id=request_id)
    [accepted] = of(ana, Type.FOLLOW_ACCEPTED)
    assert accepted.actor_id == private.pk
    # The request is handled: its notification is gone, and approving is no "followed you".
    assert of(private) == []


def test_withdrawn_request_takes_its_notification_back(ana, follow, act):
    private = UserFactory(private=True)
    follow(ana, private)
    assert len(of(private, Type.FOLLOW_REQUEST)) == 1
    act(accounts_services.follow_delete, follower=ana, followed_user_id=private.pk)
    assert of(private) == []


def test_like_and_unlike_leave_nothing_behind(ana, bo, post_by, act):
    post = post_by(ana)
    act(posts_services.like_create, user=bo, post_id=post.pk)
    [row] = of(ana, Type.LIKE)
    assert row.post_id == post.pk
    act(posts_services.like_delete, user=bo, post_id=post.pk)
    assert of(ana) == []
    act(posts_services.like_create, user=bo, post_id=post.pk)  # liked again: told again
    assert len(of(ana, Type.LIKE)) == 1


def test_deleting_a_user_or_post_deletes_their_notifications(ana, bo, cy, post_by, act):
    # recipient, actor and post have no database constraint (bulk insert speed): Django's
    # on_delete must still take the rows with them.
    post = post_by(ana)
    act(posts_services.like_create, user=bo, post_id=post.pk)
    act(posts_services.like_create, user=cy, post_id=post.pk)
    act(accounts_services.follow_create, follower=ana, followed_user_id=bo.pk)
    assert Notification.objects.count() == 3
    cy.delete()  # an actor
    assert set(Notification.objects.values_list("actor_id", flat=True)) == {bo.pk, ana.pk}
    post.delete()  # a target
    assert list(Notification.objects.values_list("type", "recipient_id")) == [(Type.FOLLOW, bo.pk)]
    bo.delete()  # a recipient
    assert not Notification.objects.exists()


def test_a_like_task_that_runs_after_the_unlike_notifies_nobody(
    ana, bo, post_by, act, django_capture_on_commit_callbacks
):
    post = post_by(ana)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        posts_services.like_create(user=bo, post_id=post.pk)
    act(posts_services.like_delete, user=bo, post_id=post.pk)
    for callback in queued:  # the like's task, late
        callback()
    assert of(ana) == []


def test_a_retried_task_adds_nothing(ana, bo, post_by, act):
    post = post_by(ana)
    act(posts_services.like_create, user=bo, post_id=post.pk)
    tasks.on_like.delay(str(bo.pk), str(post.pk))
    tasks.on_like.apply(args=(str(bo.pk), str(post.pk)))
    assert len(of(ana)) == 1


def test_comment_reply_and_mention(ana, bo, cy, post_by, act):
    post = post_by(ana)
    top = act(posts_services.comment_create, author=bo, post_id=post.pk, content="nice one @cy")
    [comment] = of(ana, Type.COMMENT)
    assert (comment.comment_id, comment.payload["excerpt"]) == (top.pk, "nice one @cy")
    [mention] = of(cy, Type.MENTION)
    assert mention.comment_id == top.pk
    act(posts_services.comment_create, author=cy, post_id=post.pk, content="thanks", parent_comment_id=top.pk)
    [reply] = of(bo, Type.REPLY)
    assert reply.actor_id == cy.pk
    assert len(of(ana, Type.COMMENT)) == 2  # the post's author hears of the reply too
    # Replying to yourself on your own post tells nobody.
    act(posts_services.comment_create, author=ana, post_id=post.pk, content="me", parent_comment_id=top.pk)
    assert len(of(bo, Type.REPLY)) == 2  # bo's comment got a reply from ana
    assert len(of(ana)) == 2


def test_post_mentions_and_shares(ana, bo, cy, post_by, act):
    post = post_by(ana, content="hello @bo")
    [mention] = of(bo, Type.MENTION)
    assert mention.post_id == post.pk
    act(posts_services.share_create, user=cy, post_id=post.pk)
    [share] = of(ana, Type.SHARE)
    assert (share.actor_id, share.post_id) == (cy.pk, post.pk)


def test_a_content_warning_is_the_excerpt_not_what_it_hides(ana, bo, cy, follow, post_by, act):
    follow(cy, ana)
    act(services.bell_set, user=cy, author_id=ana.pk, on=True)
    post_by(ana, content="the butler did it, @bo", spoiler_text="Mystery spoilers")
    [mention], [posted] = of(bo, Type.MENTION), of(cy, Type.NEW_POST)
    assert mention.payload["excerpt"] == posted.payload["excerpt"] == "CW: Mystery spoilers"


def test_bell_followers_hear_of_new_posts_in_batches(ana, follow, post_by, act, settings):
    settings.NOTIFICATION_BATCH = 2
    fans = [UserFactory() for _ in range(5)]
    for fan in fans:
        follow(fan, ana)
        act(services.bell_set, user=fan, author_id=ana.pk, on=True)
    quiet = UserFactory()
    follow(quiet, ana)  # follows without the bell
    post = post_by(ana, content="news")
    assert list(services.on_post_published(post_id=post.pk)) == [
        [str(fan.pk) for fan in fans[:2]],
        [str(fan.pk) for fan in fans[2:4]],
        [str(fans[4].pk)],
    ]
    for fan in fans:
        [row] = of(fan, Type.NEW_POST)
        assert row.post_id == post.pk
    assert of(quiet) == []


def test_bell_needs_a_follow_and_ends_with_it(ana, bo, follow, act):
    from socialsite.errors import ConflictError

    with pytest.raises(ConflictError):
        services.bell_set(user=bo, author_id=ana.pk, on=True)
    follow(bo, ana)
    act(services.bell_set, user=bo, author_id=ana.pk, on=True)
    act(accounts_services.follow_delete, follower=bo, followed_user_id=ana.pk)
    assert not Bell.objects.exists()
    assert of(ana) == []  # the follow's notification went with the unfollow


def test_mentioned_only_posts_tell_bell_followers_nothing(ana, bo, cy, follow, post_by, act):
    follow(bo, ana)
    act(services.bell_set, user=bo, author_id=ana.pk, on=True)
    post_by(ana, content="psst @cy", visibility="mentioned")
    assert of(bo, Type.NEW_POST) == []
    assert len(of(cy, Type.MENTION)) == 1


def test_message_notifies_unless_the_recipient_is_looking(ana, bo, dm, settings):
    settings.NOTIFICATION_MESSAGE_SECONDS = 0  # every message on its own
    message = dm(ana, bo)
    [row] = of(bo, Type.MESSAGE)
    assert row.conversation_id == message.conversation_id
    viewing.view(bo.pk, message.conversation_id, "socket-1")
    dm(ana, bo, "are you there?")
    assert len(of(bo, Type.MESSAGE)) == 1
    viewing.leave(bo.pk, message.conversation_id, "socket-1")
    dm(ana, bo, "hello?")
    assert len(of(bo, Type.MESSAGE)) == 2
    assert of(ana) == []


def test_blocks_mutes_and_preferences_are_respected(ana, bo, cy, post_by, act):
    post = post_by(ana)
    act(accounts_services.mute_create, muter=ana, muted_user_id=bo.pk)
    act(posts_services.like_create, user=bo, post_id=post.pk)
    assert of(ana) == []
    act(services.preferences_update, user=ana, changes={"like": False})
    act(posts_services.like_create, user=cy, post_id=post.pk)
    assert of(ana) == []
    act(services.preferences_update, user=ana, changes={"like": True})
    act(posts_services.comment_create, author=cy, post_id=post.pk, content="hey")
    assert len(of(ana, Type.COMMENT)) == 1
    # A block: the blocked actor's notifications go, and no new ones come.
    act(accounts_services.block_create, blocker=ana, blocked_user_id=cy.pk)
    assert of(ana) == []


def test_a_blocked_actor_is_refused_even_if_the_task_runs(ana, bo, act):
    act(accounts_services.block_create, blocker=ana, blocked_user_id=bo.pk)
    assert services.notify(kind=Type.FOLLOW, actor=bo, recipient_ids=[ana.pk], key="follow:x") == 0


def test_preferences_default_on_and_refuse_junk(ana):
    assert services.preferences_for(ana).as_dict() == dict.fromkeys(Preferences.SWITCHABLE, True)
    from socialsite.errors import ServiceError

    with pytest.raises(ServiceError) as refused:
        services.preferences_update(user=ana, changes={"likes": False, "share": "no"})
    assert set(refused.value.fields) == {"likes", "share"}
    assert not Preferences.objects.exists()


def test_messages_in_a_group_reach_members_who_joined_before(ana, bo, cy, act):
    conversation = act(
        messaging_services.conversation_group_create, creator=ana, title="trio", member_ids=[bo.pk, cy.pk]
    )
    conversation_id = conversation.conversation_id  # the creator's membership
    act(messaging_services.message_send, sender=ana, conversation_id=conversation_id, content="hi all")
    assert len(of(bo, Type.MESSAGE)) == 1
    assert len(of(cy, Type.MESSAGE)) == 1


def test_a_burst_of_messages_is_one_notification(ana, bo, cy, dm, settings):
    settings.NOTIFICATION_MESSAGE_SECONDS = 60
    dm(ana, bo, "one")
    dm(ana, bo, "two")
    dm(bo, ana, "three")  # the same conversation, the other way: still the same burst
    assert len(of(bo, Type.MESSAGE)) == 1
    assert of(ana) == []
    dm(ana, cy, "elsewhere")  # another conversation has its own window
    assert len(of(cy, Type.MESSAGE)) == 1


def test_a_message_that_never_committed_holds_back_no_notification(ana, bo, dm, settings):
    """The burst window is kept in the message's own transaction: a rolled-back send opens none."""
    settings.NOTIFICATION_MESSAGE_SECONDS = 60
    conversation = dm(ana, bo, "first").conversation_id
    MessageWindow.objects.filter(pk=conversation).update(until=timezone.now())  # the window ended
    with pytest.raises(RuntimeError), transaction.atomic():
        messaging_services.message_send(sender=ana, conversation_id=conversation, content="lost")
        raise RuntimeError("the send's transaction fails after the message was written")
    dm(ana, bo, "second")
    assert len(of(bo, Type.MESSAGE)) == 2
