"""Search keeps no copy of posts or users: the database backends query the live tables (on
PostgreSQL a generated tsvector column and trigram indexes that this app's migration adds; on
SQLite an FTS5 table it keeps in step), and Elasticsearch holds documents indexed by tasks.

What it owns is the trending-hashtag ranking that a beat task recomputes (`search.trends`).
"""

from django.conf import settings
from django.db import models


class Trend(models.Model):
    """A hashtag used faster than its baseline by enough distinct authors. A moderator's hide
    outlives the recomputes: the row stays, hidden, and the hashtag never shows as trending."""

    hashtag = models.OneToOneField("posts.Hashtag", primary_key=True, on_delete=models.CASCADE, related_name="trend")
    score = models.FloatField(help_text="Velocity: the last hour against the hourly baseline.")
    recent_posts = models.PositiveIntegerField(help_text="Posts in the last TRENDS_WINDOW_MINUTES.")
    recent_authors = models.PositiveIntegerField(help_text="Distinct authors of those posts.")
    baseline_per_hour = models.FloatField(help_text="Posts per hour over the TRENDS_BASELINE_DAYS before.")
    computed_at = models.DateTimeField()
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["-score"], name="search_trend_score_idx")]
        permissions = [("hide_trend", "Can hide or show a trending hashtag")]

    def __str__(self):
        return f"#{self.hashtag.name} ({self.score:.1f})"
