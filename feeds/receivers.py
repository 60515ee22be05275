"""Hooks from accounts and posts (explicit signals their services send) into the feed.

Each receiver runs inside the sender's transaction: tasks that keep the timelines in step go
through the outbox (written with the change, published after the commit), and the graph cache
is refreshed after the commit.
"""

from django.db import transaction
from django.dispatch import receiver

from accounts.signals import relationship_changed
from feeds import graph, services, tasks
from posts.signals import post_published, post_withdrawn
from socialsite import outbox


@receiver(post_published)
def fan_out(sender, post, **kwargs):
    services.fanout_open(post_id=post.pk)


@receiver(post_withdrawn)
def withdraw(sender, post, **kwargs):
    outbox.enqueue(tasks.withdraw_post, str(post.pk))


@receiver(relationship_changed)
def follow_graph_changed(sender, kind, user_id, other_id, **kwargs):
    user_id, other_id = str(user_id), str(other_id)
    # Blocks change what both sides see; follows and mutes only the actor's view.
    transaction.on_commit(lambda: graph.refresh_graph(user_id, other_id))
    if kind == "follow":
        outbox.enqueue(tasks.follow_merge, user_id, other_id)
    elif kind == "unfollow":
        outbox.enqueue(tasks.unfollow_purge, user_id, other_id)
