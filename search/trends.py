"""Trending hashtags: a beat task recomputes them (`compute`), moderators hide them (`hide`,
`show`), the API and pages read them (`trending`).

Only public content trends: the posts counted are the ones an anonymous visitor may see
(`Post.objects.visible_to(None)`: published, neither deleted nor hidden, by an active author
whose account isn't private, visibility public).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from posts import moderation
from posts.models import Post
from posts.text import normalize_hashtag
from search.models import Trend
from socialsite.errors import NotFoundError

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from accounts.models import User

STATS = ["score", "recent_posts", "recent_authors", "baseline_per_hour", "computed_at"]


@transaction.atomic
def compute(now: datetime | None = None) -> list[Trend]:
    """Rank hashtags by how much faster they are used now than usual; returns the kept trends.

    For each hashtag, over public posts (by `published_at`):
      recent            = posts in the last TRENDS_WINDOW_MINUTES,
      recent_authors    = distinct authors of those posts,
      baseline_per_hour = posts per hour over the TRENDS_BASELINE_DAYS before the window,
      expected          = baseline_per_hour × window hours,
      score             = (recent − expected) / sqrt(expected + 1).
    The score is the excess over the usual rate, scaled down where the usual rate is already
    high (a Poisson-like z-score; the +1 keeps brand-new hashtags finite). A hashtag trends with
    at least TRENDS_MIN_AUTHORS recent authors and recent > expected. The top TRENDS_KEEP that
    aren't hidden are upserted and other visible rows deleted; hidden rows stay hidden, and get
    fresh numbers while their hashtag is still a candidate.
    """
    now = now or timezone.now()
    window_hours = settings.TRENDS_WINDOW_MINUTES / 60
    window_start = now - timedelta(minutes=settings.TRENDS_WINDOW_MINUTES)
    baseline_start = window_start - timedelta(days=settings.TRENDS_BASELINE_DAYS)
    public = Post.objects.visible_to(None).filter(published_at__gte=baseline_start, published_at__lte=now)
    recent = Q(post__published_at__gte=window_start)
    rows = (
        Post.hashtags.through.objects.filter(post__in=public.values("pk"))
        .values("hashtag_id")
        .annotate(
            recent_posts=Count("post_id", filter=recent),
            recent_authors=Count("post__author_id", filter=recent, distinct=True),
            baseline_posts=Count("post_id", filter=~recent),
        )
        .filter(recent_authors__gte=settings.TRENDS_MIN_AUTHORS)  # type: ignore[misc]  # the plugin misses annotations made after values()
        .order_by()
    )
    candidates = []
    for row in rows:
        baseline_per_hour = row["baseline_posts"] / (settings.TRENDS_BASELINE_DAYS * 24)
        expected = baseline_per_hour * window_hours
        if row["recent_posts"] <= expected:
            continue
        candidates.append(
            Trend(
                hashtag_id=row["hashtag_id"],
                score=(row["recent_posts"] - expected) / math.sqrt(expected + 1),
                recent_posts=row["recent_posts"],
                recent_authors=row["recent_authors"],
                baseline_per_hour=baseline_per_hour,
                computed_at=now,
            )
        )
    candidates.sort(key=lambda trend: (-trend.score, trend.hashtag_id))
    hidden = set(Trend.objects.filter(hidden_at__isnull=False).values_list("hashtag_id", flat=True))
    kept = [trend for trend in candidates if trend.hashtag_id not in hidden][: settings.TRENDS_KEEP]
    still_hidden = [trend for trend in candidates if trend.hashtag_id in hidden]
    # hidden_at/hidden_by aren't in update_fields, so a moderator's hide survives the upsert.
    Trend.objects.bulk_create(
        kept + still_hidden, update_conflicts=True, unique_fields=["hashtag"], update_fields=STATS
    )
    Trend.objects.filter(hidden_at__isnull=True).exclude(hashtag_id__in=[t.hashtag_id for t in kept]).delete()
    return kept


def _trend_for_update(name: str | None) -> Trend:
    trend = (
        Trend.objects.select_for_update(of=("self",))
        .select_related("hashtag")
        .filter(hashtag__name=normalize_hashtag(name or ""))
        .first()
    )
    if trend is None:
        raise NotFoundError("That hashtag isn't trending.", code="trend_not_found")
    return trend


@transaction.atomic
def hide(*, name: str, moderator: User, reason: str = "") -> Trend:
    """Hide a trending hashtag from everyone until shown again. Idempotent: the first hide is kept,
    and only it goes into the moderation audit log (posts.moderation.record_trend_action)."""
    trend = _trend_for_update(name)
    if trend.hidden_at is None:
        trend.hidden_at, trend.hidden_by = timezone.now(), moderator
        trend.save(update_fields=["hidden_at", "hidden_by"])
        moderation.record_trend_action(moderator=moderator, name=trend.hashtag.name, hidden=True, reason=reason)
    return trend


@transaction.atomic
def show(*, name: str, moderator: User | None = None, reason: str = "") -> Trend:
    """Undo `hide`. The next recompute drops the row if the hashtag no longer trends. With a
    moderator (the admin), it is audited too."""
    trend = _trend_for_update(name)
    if trend.hidden_at is not None:
        trend.hidden_at, trend.hidden_by = None, None
        trend.save(update_fields=["hidden_at", "hidden_by"])
        if moderator is not None:
            moderation.record_trend_action(moderator=moderator, name=trend.hashtag.name, hidden=False, reason=reason)
    return trend


def trending(limit: int = 10, now: datetime | None = None) -> QuerySet[Trend]:
    """The current trends nobody hid, highest score first, with their hashtag. Rows computed
    longer ago than the window describe a past hour (the beat stopped): they don't show."""
    fresh = (now or timezone.now()) - timedelta(minutes=settings.TRENDS_WINDOW_MINUTES)
    visible = Trend.objects.filter(hidden_at__isnull=True, computed_at__gte=fresh).select_related("hashtag")
    return visible.order_by("-score", "hashtag__name")[:limit]
