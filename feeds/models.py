"""Fan-out state. Timelines themselves live in the timeline store (feeds.store)."""

from django.conf import settings
from django.db import models


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
    """One post's fan-out: pushed to followers' timelines in batches, or pulled (celebrity)."""

    class Mode(models.TextChoices):
        PUSH = "push"
        PULL = "pull"

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"

    post = models.OneToOneField("posts.Post", on_delete=models.CASCADE, primary_key=True, related_name="fanout")
    mode = models.CharField(max_length=4, choices=Mode.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    batches_total = models.PositiveIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    timelines = models.PositiveIntegerField(default=0, help_text="Home timelines the post went into.")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"fan-out of {self.post_id}: {self.mode} {self.status} {self.batches_done}/{self.batches_total}"
