"""The database's own search: PostgreSQL full-text and trigrams, or SQLite FTS5 (the embedded default).

Visibility is never decided here: every candidate set starts from `visible_to(viewer)`.
"""

import itertools
import uuid

from django.conf import settings
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVectorField,
    TrigramSimilarity,
    TrigramWordSimilarity,
)
from django.db import connection, transaction
from django.db.models import Case, Exists, Expression, F, OuterRef, Q, Value, When
from django.db.models.functions import Greatest, Length

from accounts.models import Block, Follow, Profile, User
from media.models import Media
from posts.models import Hashtag, Post
from posts.text import normalize_hashtag
from search import names, query
from search.models import CompletionName

# ts_rank_cd and the tsquery use this configuration; the generated column (migration 0001) too.
FTS_CONFIG = "english"


class PostSearchVector(Expression):
    """posts_post.search_vector: the generated tsvector column migration 0001 adds on PostgreSQL
    (no model field, so the posts app and SQLite never see it)."""

    output_field = SearchVectorField()

    def as_sql(self, compiler, connection):
        # The query's own alias for posts_post: "U0" and the like when it is a subquery.
        table = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        return f"{table}.{connection.ops.quote_name('search_vector')}", []


class DatabaseBackend:
    name = "database"
    indexes_posts = False  # True: posts must be (re)indexed by tasks after commit

    # --- Candidates: what the viewer may see, narrowed by the filters -----------------------------

    @staticmethod
    def post_filters(posts, search):
        """The search's own filters (author, dates, media, kind) on a queryset of posts."""
        if search.author_id:
            posts = posts.filter(author_id=search.author_id)
        if search.since:
            posts = posts.filter(published_at__gte=search.since)
        if search.until:
            posts = posts.filter(published_at__lte=search.until)
        if search.has_media is not None:
            with_media = Exists(Media.objects.filter(post=OuterRef("pk")))
            posts = posts.filter(with_media) if search.has_media else posts.exclude(with_media)
        if search.content_type:
            posts = posts.filter(content_type=search.content_type)
        return posts

    def post_candidates(self, viewer, search):
        return self.post_filters(Post.objects.visible_to(viewer).filter(status=Post.Status.PUBLISHED), search)

    def user_candidates(self, viewer, search):
        users = User.objects.findable_by(viewer)
        if search.followed_by_me is not None:
            followed = Exists(Follow.objects.filter(follower=viewer, followed=OuterRef("pk")))
            users = users.filter(followed) if search.followed_by_me else users.exclude(followed)
        return users

    # --- Autocomplete: prefixes only, the same on both databases ------------------------------------

    def complete_users(self, viewer, prefix, limit):
        """People with a name (search.names) starting with `prefix`, or with its key: those the
        viewer follows first, then the most followed. Blocks and deactivations are checked
        again on loading."""
        prefix = prefix.removeprefix("@").lower()
        if not prefix:
            return []
        matching = [CompletionName.objects.filter(name__startswith=start) for start in _starts(prefix)]
        followed = []
        if viewer.is_authenticated:
            blockers = Block.objects.filter(blocked=viewer).values("blocker")
            blocked = Block.objects.filter(blocker=viewer).values("blocked")
            matching = [m.exclude(user=viewer).exclude(user__in=blockers).exclude(user__in=blocked) for m in matching]
            followees = Follow.objects.filter(follower=viewer).values("followed")
            followed = _most_followed([m.filter(user__in=followees) for m in matching], limit)
        rest = [m.exclude(user__in=followed) for m in matching]
        return followed + _most_followed(rest, limit - len(followed))

    def complete_hashtags(self, prefix, limit):
        """Hashtags starting with `prefix`: trending ones first, then the shortest."""
        prefix = normalize_hashtag(prefix.removeprefix("#"))
        if not prefix:
            return []
        trending = Case(When(trend__hidden_at__isnull=True, then=F("trend__score")), default=None)
        return list(
            Hashtag.objects.filter(name__startswith=prefix)
            .annotate(trending=trending, length=Length("name"))
            .order_by(F("trending").desc(nulls_last=True), "length", "name")
            .values_list("pk", flat=True)[:limit]
        )

    def index_post(self, post_id):
        pass

    def remove_post(self, post_id):
        pass

    def index_user(self, user_id):
        """The user's completion names as they are now: none once deactivated or deleted."""
        person = (
            User.objects.filter(pk=user_id, is_active=True)
            .values_list("username", "profile__display_name", "profile__followers_count")
            .first()
        )
        wanted = names.completion_names(*person[:2]) if person else []
        with transaction.atomic():
            CompletionName.objects.filter(user_id=user_id).exclude(name__in=wanted).delete()
            CompletionName.objects.bulk_create(
                [CompletionName(user_id=user_id, name=name, followers_count=person[2] or 0) for name in wanted],
                update_conflicts=True,
                unique_fields=["user", "name"],
                update_fields=["followers_count"],
            )

    def reindex(self, stdout=None):
        """Rebuild the completion names from the accounts. -> {what: how many written}"""
        with transaction.atomic():
            CompletionName.objects.all().delete()
            return {"completion names": names.fill(CompletionName, User.objects.filter(is_active=True))}


class PostgresBackend(DatabaseBackend):
    """Posts: the stored, GIN-indexed `posts_post.search_vector` (english stemming) and
    ts_rank_cd. Users and hashtags: pg_trgm similarity (typos) plus prefixes, GIN-indexed."""

    name = "postgres"

    @staticmethod
    def _tsquery(text):
        """The text's words and phrases as a tsquery expression, or None when it has no words."""
        phrases, excluded = query.terms(text)
        if not phrases:
            return None
        tsquery = None
        for words in phrases:
            part = SearchQuery(" ".join(words), search_type="phrase", config=FTS_CONFIG)
            tsquery = part if tsquery is None else tsquery & part
        for words in excluded:
            tsquery &= ~SearchQuery(" ".join(words), search_type="phrase", config=FTS_CONFIG)
        return tsquery

    def posts(self, viewer, search, offset, limit):
        """The newest SEARCH_RANK_WINDOW matches among published posts, ranked, then the ones
        `visible_to` the viewer. A rare word's matches all fit in the window (a GIN bitmap finds
        them); a word in 1% of a million posts has 10,000, and ranking them all cost 100 ms, so
        its newest ones are walked from the recent-posts index, which holds each post's vector
        (migration 0002): the walk and the rank read no table page. Neither step joins a match
        to its author, profile, follows or blocks. Every page of one query ranks the same window,
        so pages don't overlap."""
        tsquery = self._tsquery(search.text)
        if tsquery is None:
            return []
        # Cover density, divided by 1 + log(length): a focused post before a long one that mentions it.
        rank = SearchRank(PostSearchVector(), tsquery, cover_density=True, normalization=Value(1))
        published = Post.objects.filter(status=Post.Status.PUBLISHED, deleted_at__isnull=True, hidden_at__isnull=True)
        window = (
            self.post_filters(published, search)
            .alias(vector=PostSearchVector())
            .filter(vector=tsquery)
            .annotate(rank=rank)
            .order_by("-published_at", "-id")
            .values_list("pk", "rank")[: settings.SEARCH_RANK_WINDOW]
        )
        # Newest first already: a stable sort by rank leaves recency breaking ties.
        ranked = [pk for pk, _ in sorted(window, key=lambda row: -row[1])]
        # Visibility in slices of the ranked list, as far as the page needs: usually one small one.
        wanted, kept, step = offset + limit, [], max(2 * (offset + limit), 50)
        for start in range(0, len(ranked), step):
            chunk = ranked[start : start + step]
            seen = set(self.post_candidates(viewer, search).filter(pk__in=chunk).values_list("pk", flat=True))
            kept += [pk for pk in chunk if pk in seen]
            if len(kept) >= wanted:
                break
        return kept[offset:wanted]

    def users(self, viewer, search, offset, limit):
        """Trigram similarity (typos) and prefixes of the live names, and prefixes of the folded
        keys in the completion names (near spellings, other scripts: search.names.name_key),
        which rank with the prefixes."""
        text = search.text.removeprefix("@")
        by_username = User.objects.filter(Q(username__trigram_similar=text) | Q(username__istartswith=text))
        by_name = Profile.objects.filter(Q(display_name__trigram_word_similar=text) | Q(display_name__istartswith=text))
        prefixed = Q(username__istartswith=text) | Q(profile__display_name__istartswith=text)
        matched = [by_name.values("user_id")]
        if by_key := _by_key(text):
            prefixed |= Q(pk__in=by_key)
            matched.append(by_key)
        boost = Case(
            When(username__iexact=text, then=Value(2.0)),
            When(prefixed, then=Value(1.0)),
            default=Value(0.0),
        )
        relevance = boost + Greatest(
            TrigramSimilarity("username", text), TrigramWordSimilarity(text, "profile__display_name")
        )
        return list(
            self.user_candidates(viewer, search)
            .filter(pk__in=by_username.values("pk").union(*matched))
            .annotate(relevance=relevance)
            .order_by("-relevance", "-profile__followers_count", "-date_joined", "pk")
            .values_list("pk", flat=True)[offset : offset + limit]
        )

    def hashtags(self, viewer, search, offset, limit):
        text = normalize_hashtag(search.text.removeprefix("#"))
        if not text:
            return []
        boost = Case(When(name=text, then=Value(2.0)), When(name__startswith=text, then=Value(1.0)), default=Value(0.0))
        return list(
            Hashtag.objects.filter(Q(name__trigram_similar=text) | Q(name__startswith=text))
            .annotate(relevance=boost + TrigramSimilarity("name", text))
            .order_by("-relevance", "-created_at", "-pk")
            .values_list("pk", flat=True)[offset : offset + limit]
        )


class SQLiteBackend(DatabaseBackend):
    """Posts: the FTS5 table `search_post_fts` (porter stemming, unicode61), kept by tasks after
    commit. Users and hashtags: prefixes, plus pg_trgm's similarity computed here over the names,
    which is fine at the embedded default's size (SEARCH_SQLITE_SCAN names at most)."""

    name = "sqlite"
    indexes_posts = True

    @staticmethod
    def _fts_query(text):
        def quoted(words):
            return '"' + " ".join(word.replace('"', '""') for word in words) + '"'

        phrases, excluded = query.terms(text)
        if not phrases:
            return None
        match = " AND ".join(quoted(words) for words in phrases)
        return match + "".join(f" NOT {quoted(words)}" for words in excluded)

    def posts(self, viewer, search, offset, limit):
        match = self._fts_query(search.text)
        if match is None:
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT post_id, rank FROM search_post_fts WHERE search_post_fts MATCH %s ORDER BY rank LIMIT %s",
                [match, settings.SEARCH_MAX_RESULTS * 4],
            )
            ranks = {row[0]: row[1] for row in cursor.fetchall()}
        # bm25: lower is better. Visible ones only, then recency breaks ties.
        rows = self.post_candidates(viewer, search).filter(pk__in=list(ranks)).values_list("pk", "published_at")
        ordered = sorted(rows, key=lambda row: (round(ranks[row[0].hex], 6), -row[1].timestamp(), row[0].hex))
        return [pk for pk, _ in ordered][offset : offset + limit]

    @staticmethod
    def _ranked(rows, text, offset, limit, tiebreak, prefixed=frozenset()):
        """rows: (pk, [labels], tiebreak value); the best of prefix boost + trigram similarity.
        `prefixed`: pks that count as a prefix match whatever their labels (a folded key's)."""
        scored = []
        for pk, labels, tie in rows:
            labels = [label.lower() for label in labels if label]
            starts = pk in prefixed or any(label.startswith(text) for label in labels)
            boost = 2.0 if text in labels else 1.0 if starts else 0.0
            sim = max((query.similarity(text, label) for label in labels), default=0.0)
            word_match = any(query.similarity(text, word) >= 0.5 for label in labels for word in label.split())
            if boost or sim >= 0.3 or word_match:
                scored.append((-(boost + sim), tiebreak(tie), str(pk), pk))
        scored.sort()
        return [row[-1] for row in scored][offset : offset + limit]

    def users(self, viewer, search, offset, limit):
        text = search.text.removeprefix("@").lower()
        rows = (
            self.user_candidates(viewer, search)
            .order_by("-profile__followers_count")
            .values_list("pk", "username", "profile__display_name", "profile__followers_count", "date_joined")
        )[: settings.SEARCH_SQLITE_SCAN]
        rows = [(pk, [username, name], (followers, joined)) for pk, username, name, followers, joined in rows]
        by_key = _by_key(text)
        prefixed = set(by_key.values_list("user_id", flat=True)) if by_key else frozenset()
        return self._ranked(rows, text, offset, limit, lambda tie: (-tie[0], -tie[1].timestamp()), prefixed)

    def hashtags(self, viewer, search, offset, limit):
        text = normalize_hashtag(search.text.removeprefix("#"))
        if not text:
            return []
        rows = Hashtag.objects.order_by("-created_at").values_list("pk", "name", "created_at")
        rows = [(pk, [name], created) for pk, name, created in rows[: settings.SEARCH_SQLITE_SCAN]]
        return self._ranked(rows, text, offset, limit, lambda created: -created.timestamp())

    def index_post(self, post_id):
        post = Post.objects.filter(pk=post_id).values_list("pk", "content", "deleted_at").first()
        with transaction.atomic():
            self.remove_post(post_id)
            if post is not None and post[2] is None:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO search_post_fts (post_id, body) VALUES (%s, %s)", [post[0].hex, post[1]]
                    )

    def remove_post(self, post_id):
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM search_post_fts WHERE post_id = %s", [_hex(post_id)])

    def reindex(self, stdout=None):
        """Rebuild the FTS table from every post not deleted, and the completion names."""
        done = 0
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM search_post_fts")
            rows = Post.objects.filter(deleted_at__isnull=True).values_list("pk", "content").iterator(chunk_size=2000)
            batch = []
            for pk, content in rows:
                batch.append((pk.hex, content))
                if len(batch) == 2000:
                    cursor.executemany("INSERT INTO search_post_fts (post_id, body) VALUES (%s, %s)", batch)
                    done, batch = done + len(batch), []
            if batch:
                cursor.executemany("INSERT INTO search_post_fts (post_id, body) VALUES (%s, %s)", batch)
                done += len(batch)
        return {"posts": done, **super().reindex(stdout)}


def _starts(prefix):
    """What completion names may start with: `prefix` (lower case), and its key (search.names)
    where that is another ("nadj": "nadi", the start of "nadia kovalenko", the key of "Nadiia
    Kovalenko" and of "Надія Коваленко"). Only one when it covers the other, so the two
    never match the same row."""
    key = names.name_key(prefix)
    if not key or key.startswith(prefix):
        return [prefix]
    if prefix.startswith(key):
        return [key]
    return [prefix, key]


def _by_key(text):
    """The user ids whose completion names start with the key of `text` (a subquery), or None
    when the text has no letters or digits to make a key of."""
    key = names.name_key(text)
    return CompletionName.objects.filter(name__startswith=key).values("user_id") if key else None


def _most_followed(matchings, limit):
    """The first `limit` people among `matchings` (querysets of CompletionName rows: a prefix as
    typed, and its key's, which match no row in common), most followed first. Each is read on
    its own and the rows merged here: one query with both prefixes ORed lost the index-only
    scan (a bitmap heap scan of every name starting with "i" when "y" was typed: 8.5 ms, not
    0.8). Someone can match by two names, so rows are read until that many distinct people
    are found."""
    people, rows = [], max(2 * limit, 8)
    while limit > 0:
        parts = [
            list(m.order_by("-followers_count", "name").values_list("followers_count", "name", "user_id")[:rows])
            for m in matchings
        ]
        exhausted = all(len(part) < rows for part in parts)
        found = parts[0] if len(parts) == 1 else sorted(itertools.chain(*parts), key=lambda row: (-row[0], row[1]))
        if not exhausted:
            found = found[:rows]  # beyond this, a part cut short may hold better rows
        people = list(dict.fromkeys(row[2] for row in found))[:limit]
        if len(people) == limit or exhausted:
            return people
        rows *= 4
    return people


def _hex(pk):
    return pk.hex if isinstance(pk, uuid.UUID) else uuid.UUID(str(pk)).hex
