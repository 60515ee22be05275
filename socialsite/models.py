"""The core's own tables: the transactional outbox (socialsite.outbox) and the API's idempotency
keys (socialsite.api.idempotency)."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class OutboxMessage(models.Model):
    """A Celery task a committed change owes: written in the change's transaction, deleted once
    the broker has it. Rows still here were not confirmed by the broker (it was down, or the
    process died between the commit and the publish); the relay publishes them again."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    queue = models.CharField(max_length=50, blank=True, help_text="Empty: the task's route decides.")
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(help_text="The relay publishes the row from then on.")
    attempts = models.PositiveIntegerField(default=0, help_text="Publishes that failed.")
    last_error = models.CharField(max_length=300, blank=True)
    # The request (or task) that queued it, for the task's logs and trace (socialsite.logs, tracing).
    request_id = models.CharField(max_length=64, blank=True)
    traceparent = models.CharField(max_length=128, blank=True, help_text="W3C trace context; empty: tracing off.")

    class Meta:
        indexes = [models.Index(fields=["due_at"], name="outbox_due_idx")]
        verbose_name = "outbox message"

    def __str__(self):
        return f"{self.task} #{self.pk}"


class IdempotencyKey(models.Model):
    """The first successful answer to an API create sent with an `Idempotency-Key` header, so a
    retry with the same key gets it again instead of making a second object. Written in the
    same transaction as the object (socialsite.api.idempotency); ignored after
    IDEMPOTENCY_KEY_HOURS and pruned by beat."""

    # No index of its own: the unique (user, key) index starts with user.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    # Filled before the commit: a committed row always has its answer.
    status_code = models.PositiveSmallIntegerField(null=True)
    # JSON as text, not jsonb: a replay keeps the first answer's key order.
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_uniq")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]
        verbose_name = "idempotency key"

    def __str__(self):
        return f"{self.key} ({self.status_code})"
