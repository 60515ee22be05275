"""Hooks from accounts and posts (explicit signals their services send) into the feed.

Each receiver runs inside the sender's transaction and defers its work to on_commit: the
graph cache is forgotten and a task keeps the timelines in step.
"""

from django.db import transaction
from django.dispatch import receiver

from accounts.signals import relationship_changed
from feeds import graph, tasks
from posts.signals import post_published, post_withdrawn


@receiver(post_published)
def fan_out(sender, post, **kwargs):
    post_id = str(post.pk)
    transaction.on_commit(lambda: tasks.fanout_post.delay(post_id))


@receiver(post_withdrawn)
def withdraw(sender, post, **kwargs):
    post_id = str(post.pk)
    transaction.on_commit(lambda: tasks.withdraw_post.delay(post_id))


@receiver(relationship_changed)
def follow_graph_changed(sender, kind, user_id, other_id, **kwargs):
    user_id, other_id = str(user_id), str(other_id)
    # Blocks change what both sides see; follows and mutes only the actor's view.
    transaction.on_commit(lambda: graph.refresh_graph(user_id, other_id))
    if kind == "follow":
        transaction.on_commit(lambda: tasks.follow_merge.delay(user_id, other_id))
    elif kind == "unfollow":
        transaction.on_commit(lambda: tasks.unfollow_purge.delay(user_id, other_id))
