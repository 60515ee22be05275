"""Uploaded photos and videos, checked on upload and processed by the media worker.

`Media.post` is the one link upwards, to posts.Post by name: media never imports posts. Other
apps (direct messages, stories) link their media from their own side.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from uuid6 import uuid7


class Media(models.Model):
    """An uploaded photo or video, processed by a worker before any post may show it."""

    class Kind(models.TextChoices):
        IMAGE = "image"
        VIDEO = "video"

    class Status(models.TextChoices):
        PROCESSING = "processing"
        READY = "ready"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="media")
    post = models.ForeignKey("posts.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="media")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROCESSING, db_index=True)
    error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Processing runs started.")
    # When it was last sent to processing: past MEDIA_PROCESSING_DEADLINE the sweeper sends it
    # again, or marks it failed after MEDIA_PROCESSING_ATTEMPTS runs (media.repair).
    queued_at = models.DateTimeField(default=timezone.now)
    upload = models.FileField(upload_to="uploads/%Y/%m/", max_length=300, blank=True)
    alt_text = models.CharField(max_length=1000, blank=True)
    filter = models.CharField(max_length=20, blank=True)
    # {"original": {"path", "width", "height"}, "medium": {...}, "thumbnail": {...}, "video": {...}, "poster": {...}}
    variants = models.JSONField(default=dict, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds, for videos.")
    blurhash = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "posts_media"  # made by posts before media was an app of its own
        ordering = ["position", "created_at"]
        indexes = [models.Index(fields=["post", "position"], name="posts_media_post_position_idx")]

    def __str__(self):
        return f"{self.kind} {self.id} ({self.status})"
