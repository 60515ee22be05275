"""Writes for the home feed: fan-out, timeline maintenance and author tiers.

Hybrid fan-out: a post by an author below FEED_FANOUT_THRESHOLD followers is pushed into the
home timeline of each recently active follower, in batches on the fan-out queues. A
celebrity's post (a `Celebrity` row) goes only into its author timeline, and readers pull it
(feeds.selectors). Either way the author's own timeline gets it, and followers who are online
get a `feed.new_post` event.

PostgreSQL stays the truth: every timeline can be rebuilt from it (`rebuild_home`), and a
timeline the store lost is rebuilt on its next read. Everything here is idempotent: timeline
writes are set operations, so a retried task changes nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast
from uuid import UUID

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models import BooleanField, CharField, ExpressionWrapper, F, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.models import Follow, Profile
from feeds import graph
from feeds.models import Celebrity, Fanout, FanoutBatch
from feeds.store import Entry, author_key, get_store, home_key, home_ttl, score_of
from posts.models import Post
from socialsite import metrics, outbox
from socialsite.realtime import presence
from socialsite.realtime.events import send_event_on_commit

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

# How many of an author's latest posts a follow, a demotion or a restore pushes.
BACKFILL_POSTS = 100


def entry_of(post_id: UUID, published_at: datetime | None) -> Entry:
    """The entry of a published post: only those go into timelines, and their published_at is set."""
    return Entry(score_of(cast(datetime, published_at)), str(post_id))


def _published(queryset: QuerySet[Post]) -> QuerySet[Post]:
    return queryset.filter(
        status=Post.Status.PUBLISHED,
        published_at__isnull=False,
        deleted_at__isnull=True,
        hidden_at__isnull=True,
        author__is_active=True,
    )


def _recent_entries(author_id: UUID, count: int) -> list[Entry]:
    # Timelines are rebuilt from the primary: one built from a read replica that hasn't replayed
    # a post fanned out meanwhile would lack it for as long as the timeline lives.
    rows = (
        _published(Post.objects.using(DEFAULT_DB_ALIAS).filter(author_id=author_id))
        .order_by("-published_at", "-id")
        .values_list("id", "published_at")[:count]
    )
    return [entry_of(pk, created) for pk, created in rows]


def _event(post: Post) -> dict[str, str]:
    return {"post_id": str(post.id), "author_id": str(post.author_id), "created_at": post.created_at.isoformat()}


# --- Tiers ------------------------------------------------------------------------------------------


def is_celebrity_count(followers_count: int) -> bool:
    celebrity: bool = followers_count >= settings.FEED_FANOUT_THRESHOLD
    return celebrity


@transaction.atomic
def tier_sync(*, author_id: UUID) -> Fanout.Mode:
    """Move the author across the threshold if their follower count did. Returns the fan-out mode."""
    count = Profile.objects.filter(user_id=author_id).values_list("followers_count", flat=True).first() or 0
    row = Celebrity.objects.select_for_update().filter(author_id=author_id).first()
    if is_celebrity_count(count):
        if row is None or row.state != Celebrity.State.CELEBRITY:
            Celebrity.objects.update_or_create(author_id=author_id, defaults={"state": Celebrity.State.CELEBRITY})
            transaction.on_commit(graph.refresh_celebrities)
            logger.info("feed: %s is a celebrity (%s followers)", author_id, count)
        return Fanout.Mode.PULL
    if row is not None and row.state == Celebrity.State.CELEBRITY:
        row.state = Celebrity.State.DEMOTING
        row.save(update_fields=["state"])
        from feeds import tasks

        outbox.enqueue(tasks.finish_demotion, str(author_id))
        logger.info("feed: %s is no longer a celebrity (%s followers); pushing recent posts", author_id, count)
    return Fanout.Mode.PUSH


def finish_demotion(*, author_id: UUID) -> None:
    """Push a former celebrity's recent posts to their followers, then stop pulling them."""
    if not Celebrity.objects.filter(author_id=author_id, state=Celebrity.State.DEMOTING).exists():
        return
    entries = _recent_entries(author_id, BACKFILL_POSTS)
    for batch in _follower_batches(author_id, active_since=_active_since()):
        get_store().add_many([home_key(pk) for pk in batch], entries, settings.FEED_TIMELINE_CAP)
    # Only now stop pulling: a concurrent re-promotion (state back to CELEBRITY) wins.
    if Celebrity.objects.filter(author_id=author_id, state=Celebrity.State.DEMOTING).delete()[0]:
        graph.refresh_celebrities()


def _settled_mode(author_id: UUID, tier: tuple[int, str | None] | None = None) -> Fanout.Mode:
    """The author's fan-out mode: read without a lock or a transaction of its own when the tier
    needs no change (nearly always), else through `tier_sync`. `tier`: (followers_count,
    celebrity state) when the caller read them already."""
    row = tier
    if row is None:
        row = Profile.objects.filter(user_id=author_id).values_list("followers_count", "user__celebrity__state").first()
    if row is not None:
        count, state = row
        if is_celebrity_count(count) and state == Celebrity.State.CELEBRITY:
            return Fanout.Mode.PULL
        if not is_celebrity_count(count) and state != Celebrity.State.CELEBRITY:
            return Fanout.Mode.PUSH  # no row, or a demotion under way (tier_sync leaves it be)
    return tier_sync(author_id=author_id)


def sync_all_tiers() -> int:
    """Catch up with a changed FEED_FANOUT_THRESHOLD or a missed event (periodic)."""
    threshold = settings.FEED_FANOUT_THRESHOLD
    promote = Profile.objects.filter(followers_count__gte=threshold).exclude(
        user__celebrity__state=Celebrity.State.CELEBRITY
    )
    demote = Celebrity.objects.filter(state=Celebrity.State.CELEBRITY, author__profile__followers_count__lt=threshold)
    ids = {*promote.values_list("user_id", flat=True), *demote.values_list("author_id", flat=True)}
    for author_id in ids:
        tier_sync(author_id=author_id)
    return len(ids)


# --- Fan-out ----------------------------------------------------------------------------------------


def _active_since() -> datetime:
    return timezone.now() - timedelta(days=settings.FEED_ACTIVE_DAYS)


def _batches(ids: Sequence[str]) -> list[Sequence[str]]:
    size = max(settings.FEED_FANOUT_BATCH, 1)
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _active_followers(
    author_id: UUID, *, active_since: datetime, hot_since: datetime | None = None, only: Sequence[UUID] | None = None
) -> list[tuple[str, bool]]:
    """[(follower id as str, hot)] of the author's followers active since `active_since`, by id;
    hot: active since `hot_since` too (False without it).

    One plain fetch, never `.iterator()`: inside a transaction that is a server-side cursor,
    which PostgreSQL plans for its first 10% of rows (cursor_tuple_fraction), so it walked a
    whole index in id order (EXPLAIN ANALYZE, 1,000 followers among 5,000 users: 52.6 ms) where
    this plan (the author's follows by index, their users, a sort) took 5.8 ms; the list was
    built whole anyway. PostgreSQL compares last_active: no datetime is parsed per follower.
    """
    followers = Follow.objects.filter(followed_id=author_id, follower__last_active__gte=active_since)
    if only is not None:
        followers = followers.filter(follower_id__in=only)
    hot = (
        ExpressionWrapper(Q(follower__last_active__gte=hot_since), output_field=BooleanField())
        if hot_since is not None
        else Value(False)
    )
    rows = followers.annotate(hot=hot, text_id=Cast("follower_id", CharField())).order_by("follower_id")
    # PostgreSQL's text of a uuid is str(UUID): no UUID object made per follower. (SQLite's is hex.)
    column = "text_id" if connection.vendor == "postgresql" else "follower_id"
    return [(str(pk), bool(is_hot)) for pk, is_hot in rows.values_list(column, "hot")]


def _follower_batches(
    author_id: UUID, *, active_since: datetime, only: Sequence[UUID] | None = None
) -> list[Sequence[str]]:
    """Ids (str) of the author's followers active since then, in batches of FEED_FANOUT_BATCH."""
    return _batches([pk for pk, _ in _active_followers(author_id, active_since=active_since, only=only)])


def fanout_open(*, post_id: UUID) -> None:
    """A post was published: its fan-out is owed, as a `pending` row in the same transaction
    (so the sweeper finds it even if the task is lost) and a task through the outbox."""
    from feeds import tasks

    Fanout.objects.bulk_create([Fanout(post_id=post_id)], ignore_conflicts=True)
    outbox.enqueue(tasks.fanout_post, str(post_id))


_PLANNED = ("id", "author_id", "visibility", "created_at", "published_at")  # what fanout_post reads of the post


def fanout_post(*, post_id: UUID) -> list[FanoutBatch]:
    """Plan a published post's fan-out: its batches, written with their push_batch tasks.

    Pushed (below the threshold): followers active in the last FEED_HOT_HOURS on fanout_high,
    the rest active in the last FEED_ACTIVE_DAYS on fanout_low. Pulled (a celebrity): nothing
    is written, and the batches of hot followers only look for those online, for the event.
    `announce`: whether the batch may hold followers with a socket open (only hot ones can).
    Idempotent: a fan-out planned already returns no batches (the sweeper resumes a stalled one).
    Returns the FanoutBatch rows made.
    """
    from feeds import tasks

    post = (
        _published(Post.objects.filter(pk=post_id))
        .only(*_PLANNED)
        .annotate(tier_count=F("author__profile__followers_count"), tier_state=F("author__celebrity__state"))
        .first()
    )
    if post is None:
        return []
    mode = _settled_mode(post.author_id, (post.tier_count, post.tier_state) if post.tier_count is not None else None)
    with transaction.atomic():
        # post_create wrote the row (fanout_open); only an older post's fan-out lacks one.
        fanout = Fanout.objects.select_for_update().filter(post=post).first()
        if fanout is None:
            Fanout.objects.bulk_create([Fanout(post=post, mode=mode)], ignore_conflicts=True)
            fanout = Fanout.objects.select_for_update().get(post=post)
        if fanout.status != Fanout.Status.PENDING:
            return []
        entry = entry_of(post.pk, post.published_at)
        store = get_store()
        store.add_many([home_key(post.author_id)], [entry], settings.FEED_TIMELINE_CAP)
        if mode == Fanout.Mode.PULL:
            store.add_many([author_key(post.author_id)], [entry], settings.FEED_AUTHOR_TIMELINE_CAP)
        # A post for the people it mentions goes only to them.
        only = None
        if post.visibility == Post.Visibility.MENTIONED:
            only = list(post.tags.values_list("user_id", flat=True))
        now = timezone.now()
        hot_since = now - timedelta(hours=settings.FEED_HOT_HOURS)
        if mode == Fanout.Mode.PUSH:
            followers = _active_followers(post.author_id, active_since=_active_since(), hot_since=hot_since, only=only)
            hot = [pk for pk, is_hot in followers if is_hot]
            warm = [pk for pk, is_hot in followers if not is_hot]
            # A socket keeps its user active, so whoever is online is among the hot followers.
            plan = [("fanout_high", batch, True) for batch in _batches(hot)]
            plan += [("fanout_low", batch, False) for batch in _batches(warm)]
        else:
            plan = [
                ("fanout_low", batch, True)
                for batch in _follower_batches(post.author_id, active_since=hot_since, only=only)
            ]
        batches = FanoutBatch.objects.bulk_create(
            FanoutBatch(fanout=fanout, number=number, queue=queue, announce=announce, follower_ids=",".join(ids))
            for number, (queue, ids, announce) in enumerate(plan)
        )
        outbox.enqueue_many((tasks.push_batch, (str(post.pk), batch.number), batch.queue) for batch in batches)
        fanout.mode = mode
        fanout.batches_total = len(plan)
        fanout.attempts = F("attempts") + 1
        fanout.updated_at = now
        if plan:
            fanout.status = Fanout.Status.RUNNING
        else:
            fanout.status, fanout.finished_at = Fanout.Status.DONE, now
            _observe_lag(post.published_at)  # the author's own timeline was the last one
        fanout.save()
    send_event_on_commit([post.author_id], "feed.new_post", _event(post))
    return batches


def push_batch(*, post_id: UUID, number: int) -> int:
    """Put the post into one batch's followers' timelines (push mode), then tell those online.
    A batch done already (a redelivered or resumed task) is a no-op. Returns timelines written."""
    batch = (
        FanoutBatch.objects.select_related("fanout")
        .filter(fanout_id=post_id, number=number, done_at__isnull=True)
        .first()
    )
    if batch is None:  # done, or the fan-out is gone with a withdrawn post
        return 0
    # Still there? (A withdrawn post's own task takes it out of the timelines it reached.)
    post = (
        Post.objects.filter(pk=post_id, status=Post.Status.PUBLISHED, deleted_at__isnull=True, hidden_at__isnull=True)
        .only("id", "author_id", "created_at", "published_at")
        .first()
    )
    if post is None:
        return 0
    follower_ids = batch.followers
    touched = 0
    if batch.fanout.mode == Fanout.Mode.PUSH:
        touched = get_store().add_many(
            [home_key(pk) for pk in follower_ids], [entry_of(post.pk, post.published_at)], settings.FEED_TIMELINE_CAP
        )
    now = timezone.now()
    with transaction.atomic():
        # Count the batch once (a concurrent duplicate doesn't), and the last one ends the fan-out.
        if not FanoutBatch.objects.filter(pk=batch.pk, done_at__isnull=True).update(done_at=now):
            return touched
        Fanout.objects.filter(post_id=post.pk).update(
            batches_done=F("batches_done") + 1, timelines=F("timelines") + touched, updated_at=now
        )
        if Fanout.objects.filter(
            post_id=post.pk, status=Fanout.Status.RUNNING, batches_done__gte=F("batches_total")
        ).update(status=Fanout.Status.DONE, finished_at=now):
            FanoutBatch.objects.filter(fanout_id=post.pk).delete()
            _observe_lag(post.published_at)  # this batch was the fan-out's last
        if batch.announce:
            send_event_on_commit(presence.online_among(follower_ids), "feed.new_post", _event(post))
    return touched


def _observe_lag(published_at: datetime | None) -> None:
    """Publication to the last timeline written, once the fan-out's transaction commits."""
    if published_at is not None:
        transaction.on_commit(lambda: metrics.FANOUT_LAG.observe((timezone.now() - published_at).total_seconds()))


def resume_stalled(*, limit: int = 1000) -> int:
    """Fan-outs that stopped moving for FEED_FANOUT_STALL_SECONDS (a worker killed mid-task, a
    task lost with the broker): queue their plan again if it never ran, else their undone
    batches. Done batches are skipped, so a fan-out continues where it stopped. Returns how many."""
    from feeds import tasks

    now = timezone.now()
    stalled_before = now - timedelta(seconds=settings.FEED_FANOUT_STALL_SECONDS)
    ids = list(
        Fanout.objects.filter(updated_at__lt=stalled_before)
        .exclude(status=Fanout.Status.DONE)
        .order_by("updated_at")
        .values_list("post_id", flat=True)[:limit]
    )
    resumed = 0
    for post_id in ids:
        with transaction.atomic():
            fanout = (
                Fanout.objects.select_for_update(skip_locked=True)
                .filter(post_id=post_id, updated_at__lt=stalled_before)
                .exclude(status=Fanout.Status.DONE)
                .first()
            )
            if fanout is None:
                continue
            if fanout.status == Fanout.Status.PENDING:
                outbox.enqueue(tasks.fanout_post, str(post_id))
            else:
                undone = fanout.batches.filter(done_at__isnull=True).values_list("number", "queue")
                outbox.enqueue_many((tasks.push_batch, (str(post_id), number), queue) for number, queue in undone)
            Fanout.objects.filter(pk=post_id).update(updated_at=now, attempts=F("attempts") + 1)
            resumed += 1
            logger.warning("feed: fan-out of %s stalled (%s); resumed", post_id, fanout.status)
    return resumed


def withdraw_post(*, post_id: UUID) -> None:
    """Take a deleted or hidden post out of every timeline it went into."""
    post = Post.objects.filter(pk=post_id).only("id", "author_id").first()
    if post is None:
        return
    ids = [str(post.pk)]
    store = get_store()
    store.remove_many([home_key(post.author_id), author_key(post.author_id)], ids)
    for batch in _follower_batches(post.author_id, active_since=_active_since()):
        store.remove_many([home_key(pk) for pk in batch], ids)
    # A restore fans it out again.
    Fanout.objects.filter(post_id=post.pk).delete()


# --- Relationships ----------------------------------------------------------------------------------


def follow_merge(*, follower_id: UUID, followed_id: UUID) -> None:
    """A new follow: the followed author's recent posts join the follower's timeline."""
    mode = tier_sync(author_id=followed_id)
    if mode == Fanout.Mode.PUSH:
        get_store().add_many(
            [home_key(follower_id)], _recent_entries(followed_id, BACKFILL_POSTS), settings.FEED_TIMELINE_CAP
        )


def unfollow_purge(*, follower_id: UUID, followed_id: UUID) -> None:
    """An unfollow (or a block): the author's posts leave the former follower's timeline."""
    tier_sync(author_id=followed_id)
    ids = [
        str(pk)
        for pk in Post.objects.filter(author_id=followed_id)
        .order_by("-published_at")
        .values_list("id", flat=True)[: settings.FEED_TIMELINE_CAP]
    ]
    get_store().remove_many([home_key(follower_id)], ids)


# --- Rebuild ----------------------------------------------------------------------------------------


def home_sources(user_id: UUID, user_graph: graph.Graph) -> frozenset[str]:
    """Authors whose posts are pushed to this user: non-celebrity followees and the user (mutes
    are applied at read time, so unmuting needs no rebuild)."""
    return (user_graph.followees - user_graph.celebrities) | {str(user_id)}


def rebuild_home(*, user: User) -> list[Entry]:
    """Build the user's home timeline from the database, as fan-out would have made it."""
    user_graph = graph.graph_for(user.pk)
    rows = (
        Post.objects.db_manager(DEFAULT_DB_ALIAS)  # the primary, as _recent_entries says
        .visible_to(user)
        .filter(status=Post.Status.PUBLISHED, author_id__in=home_sources(user.pk, user_graph))  # type: ignore[misc]  # UUIDs as text (feeds.selectors.affinities)
        .order_by("-published_at", "-id")
        .values_list("id", "published_at")[: settings.FEED_TIMELINE_CAP]
    )
    entries = [entry_of(pk, created) for pk, created in rows]
    get_store().replace(home_key(user.pk), entries, settings.FEED_TIMELINE_CAP, ttl=home_ttl())
    return entries


def rebuild_author(*, author_id: UUID) -> list[Entry]:
    entries = _recent_entries(author_id, settings.FEED_AUTHOR_TIMELINE_CAP)
    get_store().replace(author_key(author_id), entries, settings.FEED_AUTHOR_TIMELINE_CAP)
    return entries
