"""Fan-out state. Timelines themselves live in the timeline store (feeds.store)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Celebrity(models.Model):
    """An author whose posts are pulled at read time rather than pushed to followers.

    Rows follow the follower count across FEED_FANOUT_THRESHOLD (feeds.services.tier_sync).
    Going back below it, the row stays DEMOTING while the author's recent posts are pushed
    into their followers' timelines; readers keep pulling meanwhile, so nothing goes missing.
    """

    class State(models.TextChoices):
        CELEBRITY = "celebrity"
        DEMOTING = "demoting"

    author = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="celebrity"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.CELEBRITY)
    since = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "celebrities"

    def __str__(self):
        return f"{self.author_id} ({self.state})"


class Fanout(models.Model):
    """One post's fan-out: pushed to followers' timelines in batches, or pulled (celebrity).

    Made `pending` in the transaction that publishes the post. Planning writes its batches
    (FanoutBatch) and their tasks (through the outbox) in one transaction and makes it
    `running`; each batch is done once. `updated_at` moves with every step, so a fan-out that
    stopped moving (a worker killed, a task lost with the broker) is found by the sweeper
    (feeds.repair) and resumed from its undone batches.
    """

    class Mode(models.TextChoices):
        PUSH = "push"
        PULL = "pull"

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"

    post = models.OneToOneField("posts.Post", on_delete=models.CASCADE, primary_key=True, related_name="fanout")
    mode = models.CharField(max_length=4, choices=Mode.choices, default=Mode.PUSH)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    batches_total = models.PositiveIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    timelines = models.PositiveIntegerField(default=0, help_text="Home timelines the post went into.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Plans, and resumes by the sweeper.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(default=timezone.now, help_text="The last step: planned, a batch, a resume.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The sweeper's scan: only unfinished fan-outs, which are few.
            models.Index(fields=["updated_at"], condition=~Q(status="done"), name="feeds_fanout_unfinished_idx")
        ]

    def __str__(self):
        return f"fan-out of {self.post_id}: {self.mode} {self.status} {self.batches_done}/{self.batches_total}"


class FanoutBatch(models.Model):
    """Up to FEED_FANOUT_BATCH followers a fan-out pushes to in one task; deleted when it ends."""

    fanout = models.ForeignKey(Fanout, on_delete=models.CASCADE, related_name="batches")
    number = models.PositiveIntegerField()
    queue = models.CharField(max_length=20)
    announce = models.BooleanField(help_text="May hold followers with a socket open (feed.new_post).")
    follower_ids = models.TextField(help_text="Comma-separated user ids.")
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fanout", "number"], name="feeds_fanoutbatch_unique")]

    def __str__(self):
        return f"batch {self.number} of {self.fanout_id}"

    @property
    def followers(self):
        return self.follower_ids.split(",") if self.follower_ids else []
