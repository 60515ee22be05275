"""Search keeps no copy of posts: the database backends query the live tables (on PostgreSQL a
generated tsvector column and indexes that this app's migrations add; on SQLite an FTS5 table
it keeps in step), and Elasticsearch holds documents indexed by tasks.

What it owns: the trending-hashtag ranking that a beat task recomputes (`search.trends`), and,
for the database backends, the names @mention autocomplete matches (`CompletionName`).
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


class CompletionName(models.Model):
    """A name someone can be @mentioned by as it is typed: their username, their display name, or
    a later word of it, lower-cased; with their follower count, the order. One table holds both
    the match and the order, so a prefix is one index-only scan (matching usernames in one table
    and ordering by followers in another joined thousands of rows for a common prefix).

    Kept by the `index_user` task after commit (search.receivers), rebuilt by `reindex`. Only
    the database backends read it; visibility is still decided when the ids are loaded."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=50)
    followers_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="search_completion_user_name")]
        indexes = [
            # A rare prefix: its matches in name order, followers read from the index.
            models.Index(
                fields=["name"],
                opclasses=["text_pattern_ops"],
                include=["followers_count", "user"],
                name="search_completion_prefix",
            ),
            # A common prefix ("a"): the most followed first, until enough match.
            models.Index(fields=["-followers_count", "name"], include=["user"], name="search_completion_rank"),
        ]

    def __str__(self):
        return f"{self.name} → {self.user_id}"
