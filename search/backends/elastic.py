"""Elasticsearch (ELASTICSEARCH_URL): documents in `search.documents`, indexed by tasks after
commit and rebuilt by `manage.py reindex`.

The query builders below are pure functions of a `Search` and a `Scope` (the viewer's id, whom
they follow, who is blocked either way: read from the database by the backend), so they are
unit-tested without a server. Text only ever reaches `match` / `match_phrase` queries, never
`query_string`: Lucene syntax in a query is just text.

The index prefilters what the viewer may see (audience, private accounts, blocks, deletion,
moderation); the selectors still load every id through `visible_to`, so a stale document can
shorten a page but never show what the viewer may not see.
"""

from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import F, Q
from django.db.models.functions import Length

from posts.text import normalize_hashtag
from search import names, query
from search.backends import SearchUnavailable
from socialsite import breakers

# Connection errors, timeouts and 5xx count; an answer about the request (a 404 for a document
# or an index not there yet, a 400) does not.
BREAKER = breakers.breaker("elasticsearch", exclude=[breakers.client_error])

# Constant scores per kind of name match, as the database backends' boosts: the exact name,
# then a prefix, then a near miss (a typo). Ties go to the most followed / the newest.
EXACT, PREFIX, NEAR = 4.0, 2.0, 1.0
# A `terms` query takes at most index.max_terms_count (65,536) values.
MAX_TERMS = 65_000

POST_SORT = [{"_score": "desc"}, {"published_at": "desc"}, {"id": "desc"}]
USER_SORT = [{"_score": "desc"}, {"followers_count": "desc"}, {"date_joined": "desc"}, {"id": "asc"}]
HASHTAG_SORT = [{"_score": "desc"}, {"created_at": "desc"}, {"id": "desc"}]


@dataclass(frozen=True)
class Scope:
    """What the queries need to know about the viewer. viewer_id None: anonymous."""

    viewer_id: str | None = None
    followee_ids: tuple = ()  # accounts the viewer follows
    blocked_ids: tuple = ()  # blocked by the viewer, or blocking the viewer
    blocker_ids: tuple = ()  # blocking the viewer (they can't see the viewer's search either)


# --- Query builders: pure, no database, no server ------------------------------------------------


def _bool(**clauses):
    """A bool query without its empty clause lists (the Search DSL drops them too)."""
    return {"bool": {name: value for name, value in clauses.items() if value != []}}


def _body(query_, sort, offset, limit):
    return {"query": query_, "sort": sort, "from": offset, "size": limit, "_source": False, "track_total_hits": False}


def _ids(values):
    return [str(value) for value in values][:MAX_TERMS]


def text_query(text, field="content"):
    """`query.terms(text)` as a bool query on `field`, or None when the text has no words.

    Words must all match (in any word form the field's analyzer knows); "phrases" match in
    order; -excluded ones must not. A clause the analyzer empties (stop words only: "the") is
    dropped, as PostgreSQL drops it from a tsquery; text of stop words only finds nothing.
    """
    phrases, excluded = query.terms(text)
    if not phrases:
        return None
    words = [phrase[0] for phrase in phrases if len(phrase) == 1]
    must = []
    if words:
        must.append({"match": {field: {"query": " ".join(words), "operator": "and", "zero_terms_query": "all"}}})
    for phrase in phrases:
        if len(phrase) > 1:
            must.append({"match_phrase": {field: {"query": " ".join(phrase), "zero_terms_query": "all"}}})
    everything = " ".join(word for phrase in phrases for word in phrase)
    return _bool(
        must=must,
        # zero_terms_query "none" (the default): some word has to survive the analyzer.
        filter=[{"match": {field: {"query": everything, "operator": "or"}}}],
        must_not=[{"match_phrase": {field: {"query": " ".join(phrase)}}} for phrase in excluded],
    )


def audience_filter(scope):
    """Posts the viewer's audience rules allow (posts.models.PostQuerySet.visible_to)."""
    public = {"bool": {"filter": [{"term": {"visibility": "public"}}, {"term": {"author_private": False}}]}}
    if scope.viewer_id is None:
        return public
    should = [public, {"term": {"author_id": scope.viewer_id}}]
    if scope.followee_ids:
        should.append(
            {
                "bool": {
                    "filter": [
                        {"terms": {"author_id": _ids(scope.followee_ids)}},
                        {"terms": {"visibility": ["public", "followers"]}},
                    ]
                }
            }
        )
    should.append(
        {"bool": {"filter": [{"term": {"visibility": "mentioned"}}, {"term": {"tagged_user_ids": scope.viewer_id}}]}}
    )
    return {"bool": {"should": should, "minimum_should_match": 1}}


def post_query(search, scope, offset, limit):
    """-> the search body for posts, or None when the text has no words (nothing to find)."""
    text = text_query(search.text)
    if text is None:
        return None
    filters = [
        text,
        {"term": {"status": "published"}},
        {"term": {"deleted": False}},
        {"term": {"hidden": False}},
        {"term": {"author_active": True}},
        audience_filter(scope),
    ]
    if search.author_id:
        filters.append({"term": {"author_id": str(search.author_id)}})
    if search.since or search.until:
        bounds = {}
        if search.since:
            bounds["gte"] = search.since.isoformat()
        if search.until:
            bounds["lte"] = search.until.isoformat()
        filters.append({"range": {"published_at": bounds}})
    if search.has_media is not None:
        filters.append({"term": {"has_media": search.has_media}})
    if search.content_type:
        filters.append({"term": {"content_type": search.content_type}})
    must_not = [{"terms": {"author_id": _ids(scope.blocked_ids)}}] if scope.blocked_ids else []
    # The text query is the one scored clause; the rest filter (no effect on the score).
    return _body(
        _bool(must=[filters[0]], filter=filters[1:], must_not=must_not),
        POST_SORT,
        offset,
        limit,
    )


def _scored(clause, score):
    return {"constant_score": {"filter": clause, "boost": score}}


def prefix_clause(field, text, grams="prefix"):
    """Names whose `field` starts with `text` (lower case), by the `field.<grams>` edge n-grams.
    A prefix longer than the n-grams (EDGE_MAX) also needs an exact `prefix` on `field.raw`."""
    from search.documents import EDGE_MAX

    clause = {"match": {f"{field}.{grams}": text}}
    if len(text) > EDGE_MAX:
        clause = {"bool": {"filter": [clause, {"prefix": {f"{field}.raw": text}}]}}
    return clause


def _followed_filters(search, scope):
    """-> (filters, must_not) for followed_by_me, or None when it can match nobody."""
    if search.followed_by_me is True:
        if not scope.followee_ids:
            return None
        return [{"terms": {"id": _ids(scope.followee_ids)}}], []
    if search.followed_by_me is False and scope.followee_ids:
        return [], [{"terms": {"id": _ids(scope.followee_ids)}}]
    return [], []


def _any(clauses):
    """One clause, or a bool query matching any of them (one score under constant_score)."""
    return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses, "minimum_should_match": 1}}


def _name_prefixes(text):
    """-> (username prefixes, display name prefixes): clauses for `text` and for its key
    (search.names.name_key: "nadja" is "nadia", as the key of "Nadiia" and "Надія" is), as the
    database backends match the key against every completion name."""
    key = names.name_key(text)
    usernames = [prefix_clause("username", text)]
    display_names = []
    if key:
        display_names.append({"match": {"name_key": {"query": key, "operator": "and"}}})
        if key != text:
            usernames.append(prefix_clause("username", key))
    return usernames, display_names


def user_query(search, scope, offset, limit):
    """Usernames: exact, prefix, or within a typo or two (fuzziness AUTO); display names: their
    words or the words' prefixes, as typed or folded (`name_key`: near spellings, other
    scripts). Active accounts not blocking the viewer."""
    text = search.text.removeprefix("@").strip().lower()
    followed = _followed_filters(search, scope)
    if not text or followed is None:
        return None
    filters, must_not = followed
    filters = [{"term": {"is_active": True}}, *filters]
    if scope.blocked_ids:  # either way
        must_not.append({"terms": {"id": _ids(scope.blocked_ids)}})
    usernames, keys = _name_prefixes(text)
    display_names = [{"match": {"display_name.prefix": {"query": text, "operator": "and"}}}, *keys]
    should = [
        _scored({"term": {"username.raw": text}}, EXACT),
        # Each a single constant score however many of its clauses match: a key that equals
        # the name as typed doesn't count twice.
        _scored(_any(usernames), PREFIX),
        _scored(_any(display_names), PREFIX),
        _scored({"match": {"username": {"query": text, "fuzziness": "AUTO"}}}, NEAR),
        _scored({"match": {"display_name": {"query": text, "fuzziness": "AUTO", "operator": "and"}}}, NEAR),
    ]
    query_ = _bool(filter=filters, must_not=must_not, should=should, minimum_should_match=1)
    return _body(query_, USER_SORT, offset, limit)


def hashtag_query(search, offset, limit):
    """Hashtags: the name, a prefix of it, or within a typo or two."""
    text = normalize_hashtag(search.text.removeprefix("#")).strip()
    if not text:
        return None
    should = [
        _scored({"term": {"name.raw": text}}, EXACT),
        _scored(prefix_clause("name", text), PREFIX),
        _scored({"match": {"name": {"query": text, "fuzziness": "AUTO"}}}, NEAR),
    ]
    return _body({"bool": {"should": should, "minimum_should_match": 1}}, HASHTAG_SORT, offset, limit)


def complete_user_query(prefix, scope, limit):
    """@mention autocomplete: usernames or whole display names starting with `prefix`, or
    display names with words starting with its key's (`name_key`); those the viewer follows
    first, then the most followed. Never the viewer."""
    text = prefix.removeprefix("@").lower()
    if not text:
        return None
    usernames, keys = _name_prefixes(text)
    by_name = [*usernames, prefix_clause("display_name", text, grams="start"), *keys]
    matches = {"bool": {"should": by_name, "minimum_should_match": 1}}
    must_not = []
    if scope.viewer_id is not None:
        must_not.append({"term": {"id": scope.viewer_id}})
    if scope.blocked_ids:  # either way
        must_not.append({"terms": {"id": _ids(scope.blocked_ids)}})
    should = [_scored({"terms": {"id": _ids(scope.followee_ids)}}, 1.0)] if scope.followee_ids else []
    # filter + should and no must: should is optional and only scores (followed: 1, others: 0).
    query_ = _bool(filter=[{"term": {"is_active": True}}, matches], must_not=must_not, should=should)
    sort = [{"_score": "desc"}, {"followers_count": "desc"}, {"username.raw": "asc"}]
    return _body(query_, sort, 0, limit)


def complete_hashtag_query(prefix, exclude_ids, limit):
    """#hashtag autocomplete after the trending ones (`exclude_ids`): the shortest first."""
    query_ = {"bool": {"filter": [prefix_clause("name", prefix)]}}
    if exclude_ids:
        query_["bool"]["must_not"] = [{"terms": {"id": list(exclude_ids)}}]
    return _body(query_, [{"name_length": "asc"}, {"name.raw": "asc"}], 0, limit)


def author_flags_update(user_id, *, private, active):
    """update_by_query arguments copying an author's privacy and state onto their posts (only
    the posts that differ, so an unchanged profile costs one empty search)."""
    return {
        "query": {
            "bool": {
                "filter": [{"term": {"author_id": str(user_id)}}],
                "should": [
                    {"bool": {"must_not": [{"term": {"author_private": private}}]}},
                    {"bool": {"must_not": [{"term": {"author_active": active}}]}},
                ],
                "minimum_should_match": 1,
            }
        },
        "script": {
            "lang": "painless",
            "source": "ctx._source.author_private = params.private; ctx._source.author_active = params.active",
            "params": {"private": private, "active": active},
        },
    }


# --- The backend -----------------------------------------------------------------------------------

_ready: set[str] = set()  # aliases known to exist, per process


class ElasticsearchBackend:
    name = "elasticsearch"
    indexes_posts = True  # posts are (re)indexed by tasks after commit

    # --- Reads ----------------------------------------------------------------------------------

    @staticmethod
    def scope(viewer, *, follows=True, blocks=True):
        """The viewer's Scope from the database: at most two queries, none for anonymous."""
        if viewer is None or not viewer.is_authenticated:
            return Scope()
        from accounts.models import Block, Follow

        followees = ()
        if follows:
            followees = tuple(
                str(pk) for pk in Follow.objects.filter(follower=viewer).values_list("followed_id", flat=True)
            )
        blocked, blockers = set(), set()
        if blocks:
            for blocker, blocked_id in Block.objects.filter(Q(blocker=viewer) | Q(blocked=viewer)).values_list(
                "blocker_id", "blocked_id"
            ):
                if blocker == viewer.pk:
                    blocked.add(str(blocked_id))
                else:
                    blockers.add(str(blocker))
        return Scope(
            viewer_id=str(viewer.pk),
            followee_ids=followees,
            blocked_ids=tuple(sorted(blocked | blockers)),
            blocker_ids=tuple(sorted(blockers)),
        )

    def posts(self, viewer, search, offset, limit):
        if text_query(search.text) is None:  # no words: nothing to find, no need to ask
            return []
        return self._search("posts", post_query(search, self.scope(viewer), offset, limit))

    def users(self, viewer, search, offset, limit):
        scope = self.scope(viewer, follows=search.followed_by_me is not None)
        return self._search("users", user_query(search, scope, offset, limit))

    def hashtags(self, viewer, search, offset, limit):
        return self._search("hashtags", hashtag_query(search, offset, limit))

    def complete_users(self, viewer, prefix, limit):
        if not prefix.removeprefix("@"):
            return []
        return self._search("users", complete_user_query(prefix, self.scope(viewer), limit))

    def complete_hashtags(self, prefix, limit):
        """Trending hashtags first (from the database: a few dozen rows), then the shortest."""
        from posts.models import Hashtag

        prefix = normalize_hashtag(prefix.removeprefix("#"))
        if not prefix:
            return []
        trending = list(
            Hashtag.objects.filter(name__startswith=prefix, trend__isnull=False, trend__hidden_at__isnull=True)
            .order_by(F("trend__score").desc(), Length("name"), "name")
            .values_list("pk", flat=True)[:limit]
        )
        if len(trending) >= limit:
            return trending
        return trending + self._search("hashtags", complete_hashtag_query(prefix, trending, limit - len(trending)))

    def _search(self, kind, body):
        """-> the ids of the hits, as the model's primary keys (UUID or int), best first."""
        if body is None:
            return []
        from elasticsearch import ApiError, NotFoundError, TransportError

        from search import documents

        try:
            response = BREAKER.call(client().search, index=documents.alias_name(kind), body=body)
        except NotFoundError:  # nothing indexed yet
            return []
        except (breakers.CircuitBreakerError, ApiError, TransportError) as exc:
            raise SearchUnavailable(f"Elasticsearch: {type(exc).__name__}: {exc}") from exc
        pk = _model(kind)._meta.pk
        return [pk.to_python(hit["_id"]) for hit in response["hits"]["hits"]]

    # --- Writes (tasks, after commit) -------------------------------------------------------------------

    def index_post(self, post_id):
        BREAKER.call(self._index_post, post_id)

    def remove_post(self, post_id):
        BREAKER.call(self._delete, "posts", str(post_id))

    def index_user(self, user_id):
        BREAKER.call(self._index_user, user_id)

    def _index_post(self, post_id):
        from search import documents

        document = documents.PostDocument()
        post = document.get_queryset().filter(pk=post_id).first()
        if post is None:  # deleted since, or never existed
            self._delete("posts", str(post_id))
            return
        hashtags = documents.HashtagDocument()
        actions = [_action(document, post), *(_action(hashtags, tag) for tag in post.hashtags.all())]
        self._write(actions)

    def _index_user(self, user_id):
        """The user's document, and their privacy and state copied onto their posts. A user gone
        from the database takes their documents along."""
        from search import documents

        document = documents.UserDocument()
        user = document.get_queryset().filter(pk=user_id).first()
        if user is None:
            self._delete("users", str(user_id))
            self._ensure()
            client().delete_by_query(
                index=documents.alias_name("posts"),
                query={"term": {"author_id": str(user_id)}},
                conflicts="proceed",
                refresh=_refresh(),
            )
            return
        self._write([_action(document, user)])
        flags = author_flags_update(user.pk, private=document.prepare_is_private(user), active=user.is_active)
        client().update_by_query(index=documents.alias_name("posts"), conflicts="proceed", refresh=_refresh(), **flags)

    def reindex(self, stdout=None):
        """Build a new index for each kind from the database, then move its alias onto it in one
        atomic step (searches keep answering from the old one meanwhile). -> {kind: documents}

        Writes that tasks make to the old index while this runs are lost with it: run it when
        writes are quiet, or run it again."""
        from elasticsearch.helpers import bulk

        from search import documents

        es = client()
        counts = {}
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        for document_class in documents.DOCUMENTS:
            document = document_class()
            alias = documents.alias_name(document.kind)
            concrete = f"{alias}-{stamp}"
            body = documents.index_body(document_class)
            es.indices.create(index=concrete, settings=body.get("settings"), mappings=body.get("mappings"))
            actions = (_action(document, row, index=concrete) for row in document.get_indexing_queryset())
            counts[document.kind], _ = bulk(es, actions, chunk_size=500, stats_only=True)
            es.indices.refresh(index=concrete)
            _swap_alias(es, alias, concrete)
            _ready.add(alias)
            if stdout is not None:
                stdout.write(f"{self.name}: {counts[document.kind]:,} {document.kind} into {concrete}")
        return counts

    # --- Plumbing ------------------------------------------------------------------------------------------

    def _ensure(self):
        """Create any missing index (and its alias) before the first write of this process."""
        from elasticsearch import BadRequestError

        from search import documents

        es = client()
        for document_class in documents.DOCUMENTS:
            alias = documents.alias_name(document_class.kind)
            if alias in _ready:
                continue
            if not es.indices.exists(index=alias):
                body = documents.index_body(document_class)
                concrete = f"{alias}-initial"  # one name, so two workers can't both make one
                try:
                    es.indices.create(
                        index=concrete,
                        settings=body.get("settings"),
                        mappings=body.get("mappings"),
                        aliases={alias: {}},
                    )
                except BadRequestError:  # resource_already_exists: another worker made it first
                    if not es.indices.exists(index=alias):
                        raise
            _ready.add(alias)

    def _write(self, actions):
        from elasticsearch.helpers import BulkIndexError, bulk

        self._ensure()
        try:
            # require_alias: a write never auto-creates an index with a guessed mapping.
            bulk(client(), actions, refresh=_refresh(), require_alias=True)
        except BulkIndexError:
            _ready.clear()  # perhaps an index was deleted under us: check again on the retry
            raise

    def _delete(self, kind, doc_id):
        from elasticsearch import NotFoundError

        from search import documents

        with suppress(NotFoundError):  # never indexed, already gone, or no index yet
            client().delete(index=documents.alias_name(kind), id=doc_id, refresh=_refresh())


def client():
    """The connection django-elasticsearch-dsl configured from ELASTICSEARCH_DSL (made lazily:
    nothing connects before the first request)."""
    from elasticsearch.dsl.connections import connections

    return connections.get_connection("default")


def _refresh():
    """Make writes searchable at once: tests set ELASTICSEARCH_DSL_AUTO_REFRESH; production
    leaves it off and lets the index refresh each second."""
    return bool(settings.ELASTICSEARCH_DSL_AUTO_REFRESH)


def _action(document, instance, index=None):
    from search import documents

    return {
        "_op_type": "index",
        "_index": index or documents.alias_name(document.kind),
        "_id": str(instance.pk),
        "_source": document.prepare(instance),
    }


def _swap_alias(es, alias, concrete):
    """Point `alias` at `concrete` only, deleting what it pointed at, in one request. An index
    that is itself named `alias` (made by hand or by `search_index`) is deleted the same way."""
    from elasticsearch import NotFoundError

    actions = [{"add": {"index": concrete, "alias": alias}}]
    if es.indices.exists_alias(name=alias):
        try:
            old = es.indices.get_alias(name=alias)
        except NotFoundError:
            old = {}
        actions += [{"remove_index": {"index": name}} for name in old if name != concrete]
    elif es.indices.exists(index=alias):
        actions.append({"remove_index": {"index": alias}})
    es.indices.update_aliases(actions=actions)


def _model(kind):
    from accounts.models import User
    from posts.models import Hashtag, Post

    return {"posts": Post, "users": User, "hashtags": Hashtag}[kind]
