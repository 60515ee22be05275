"""The database's own search: PostgreSQL full-text and trigrams, or SQLite FTS5 (the embedded default).

Visibility is never decided here: every candidate set starts from `visible_to(viewer)`.
"""

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

from accounts.models import Follow, Profile, User
from posts.models import Hashtag, Media, Post
from posts.text import normalize_hashtag
from search import query

# Autocomplete ranks a prefix's matches itself up to this many; more, and it walks the most followed.
COMPLETE_RANKED = 500
COMPLETE_WALK = 2000
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
    indexes_users = False  # True: users too (the database backends read the live tables)

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
        users = User.objects.visible_to(viewer)
        if search.followed_by_me is not None:
            followed = Exists(Follow.objects.filter(follower=viewer, followed=OuterRef("pk")))
            users = users.filter(followed) if search.followed_by_me else users.exclude(followed)
        return users

    # --- Autocomplete: prefixes only, the same on both databases ------------------------------------

    def complete_users(self, viewer, prefix, limit):
        """Usernames or display names starting with `prefix`: people the viewer follows first,
        then the most followed. A rare prefix has few matches, found by the two prefix indexes
        and ranked; a common one ("a") has thousands, so the most followed accounts are walked
        (followers_count index) until enough match."""
        prefix = prefix.removeprefix("@")
        if not prefix:
            return []
        # From the profile, which holds the order: PostgreSQL can walk its followers_count index.
        named = Q(user__username__istartswith=prefix) | Q(display_name__istartswith=prefix)
        people = (
            Profile.objects.filter(named, user__in=User.objects.visible_to(viewer))
            .order_by("-followers_count", "user__username")
            .values_list("user_id", flat=True)
        )
        chosen = []
        if viewer.is_authenticated:
            people = people.exclude(user=viewer)
            chosen = list(people.filter(user__in=Follow.objects.filter(follower=viewer).values("followed"))[:limit])
        # Two prefix scans, one per table, as one UNION (an OR across the join reads every user).
        by_username = User.objects.filter(username__istartswith=prefix).values_list("pk", flat=True)
        by_name = Profile.objects.filter(display_name__istartswith=prefix).values_list("user_id", flat=True)
        matches = list(by_username.union(by_name, all=True)[: COMPLETE_RANKED + 1])  # ALL: stops early
        people = people.exclude(user_id__in=chosen)
        wanted = limit - len(chosen)
        if len(matches) > COMPLETE_RANKED:
            # Common: the COMPLETE_WALK most followed accounts hold enough of them. (Asked for
            # "matching, most followed first", PostgreSQL misjudged the OR of two LIKEs and read
            # both tables whole: 75 ms.)
            most_followed = Profile.objects.order_by("-followers_count").values("pk")[:COMPLETE_WALK]
            found = list(people.filter(pk__in=most_followed)[:wanted])
            if len(found) == wanted:
                return chosen + found
            return chosen + list(people[:wanted])
        # Few: rank them here. Asked to sort and cut them, PostgreSQL sometimes walked the whole
        # followers_count index instead, hoping to meet them early.
        rows = people.filter(user_id__in=matches).order_by().values_list("user_id", "followers_count", "user__username")
        ranked = sorted(rows, key=lambda row: (-row[1], row[2]))
        return chosen + [row[0] for row in ranked[:wanted]]

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
        pass

    def reindex(self, stdout=None):
        return 0


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
        `visible_to` the viewer. Neither step joins a match to its author, profile, follows or
        blocks. A rare word's matches all fit in the window (a GIN bitmap finds them); a word in
        1% of a million posts has 10,000, and ranking them all cost 100 ms, so its newest ones
        are read from the published_at index instead. Every page of one query ranks the same
        window, so pages don't overlap."""
        tsquery = self._tsquery(search.text)
        if tsquery is None:
            return []
        published = Post.objects.filter(status=Post.Status.PUBLISHED, deleted_at__isnull=True, hidden_at__isnull=True)
        newest = (
            self.post_filters(published, search)
            .alias(vector=PostSearchVector())
            .filter(vector=tsquery)
            .order_by("-published_at", "-id")
            .values("pk")[: settings.SEARCH_RANK_WINDOW]
        )
        # Cover density, divided by 1 + log(length): a focused post before a long one that mentions it.
        rank = SearchRank(PostSearchVector(), tsquery, cover_density=True, normalization=Value(1))
        ranked = list(
            Post.objects.filter(pk__in=newest)
            .annotate(rank=rank)
            .order_by("-rank", "-published_at", "-id")
            .values_list("pk", flat=True)
        )
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
        text = search.text.removeprefix("@")
        by_username = User.objects.filter(Q(username__trigram_similar=text) | Q(username__istartswith=text))
        by_name = Profile.objects.filter(Q(display_name__trigram_word_similar=text) | Q(display_name__istartswith=text))
        boost = Case(
            When(username__iexact=text, then=Value(2.0)),
            When(Q(username__istartswith=text) | Q(profile__display_name__istartswith=text), then=Value(1.0)),
            default=Value(0.0),
        )
        relevance = boost + Greatest(
            TrigramSimilarity("username", text), TrigramWordSimilarity(text, "profile__display_name")
        )
        return list(
            self.user_candidates(viewer, search)
            .filter(pk__in=by_username.values("pk").union(by_name.values("user_id")))
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
    def _ranked(rows, text, offset, limit, tiebreak):
        """rows: (pk, [names], tiebreak value); the best of prefix boost + trigram similarity."""
        scored = []
        for pk, names, tie in rows:
            names = [name.lower() for name in names if name]
            boost = 2.0 if text in names else 1.0 if any(name.startswith(text) for name in names) else 0.0
            sim = max((query.similarity(text, name) for name in names), default=0.0)
            word_match = any(query.similarity(text, word) >= 0.5 for name in names for word in name.split())
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
        return self._ranked(rows, text, offset, limit, lambda tie: (-tie[0], -tie[1].timestamp()))

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
        """Rebuild the FTS table from every post not deleted. -> how many were indexed."""
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
        return done


def _hex(pk):
    return pk.hex if isinstance(pk, uuid.UUID) else uuid.UUID(str(pk)).hex
