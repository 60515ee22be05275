"""The Elasticsearch backend without a server: its query builders, its mappings, the documents
it prepares from the database and the tasks it gets queued. (test_elastic_contract.py runs
the search contract against a real server when ELASTICSEARCH_URL is set.)"""

import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from elasticsearch.dsl import Search as DslSearch

from accounts import services as accounts_services
from media.models import Media
from posts import services as posts_services
from posts.models import Post
from search import documents
from search.backends import backend
from search.backends.elastic import (
    ElasticsearchBackend,
    Scope,
    audience_filter,
    author_flags_update,
    complete_hashtag_query,
    complete_user_query,
    hashtag_query,
    post_query,
    text_query,
    user_query,
)
from search.query import Search, terms
from tests.factories import UserFactory

VIEWER = "00000000-0000-0000-0000-00000000000a"
FOLLOWED = ("00000000-0000-0000-0000-0000000000f1", "00000000-0000-0000-0000-0000000000f2")
BLOCKED = ("00000000-0000-0000-0000-0000000000b1",)
BLOCKER = ("00000000-0000-0000-0000-0000000000b2",)
SIGNED_IN = Scope(VIEWER, FOLLOWED, BLOCKED + BLOCKER, BLOCKER)

ODD = [
    "'; DROP TABLE posts_post; --",
    "' OR 1=1 --",
    'title:(fox AND "dog") OR body:*',
    "fox~2 AND ^boost [a TO z] {!lucene}",
    "!!fox & | <-> :* \\",
    "ünïcödé 日本語 fox",
    "fox\x00null",
    '{"query": {"match_all": {}}}',
]


def walk(node):
    """Every (key, value) pair anywhere in a query body."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def keys(body):
    return {key for key, _ in walk(body)}


def clauses(body, kind):
    return [value for key, value in walk(body) if key == kind]


def posts(text, scope=Scope(), **filters):
    return post_query(Search(type="post", text=text, **filters), scope, 0, 21)


# --- Text: words, phrases, exclusions; odd text is only ever text -----------------------------------


def test_words_all_match_in_one_match_query_with_the_field_analyzer():
    query = text_query("jumping foxes")
    [words] = query["bool"]["must"]
    assert words == {"match": {"content": {"query": "jumping foxes", "operator": "and", "zero_terms_query": "all"}}}
    assert "analyzer" not in keys(query)  # the field's english analyzer stems both sides


def test_phrases_become_match_phrase_and_excluded_ones_must_not():
    query = text_query('fox "brown fox" -lazy -"red dog"')
    must = query["bool"]["must"]
    assert {"match_phrase": {"content": {"query": "brown fox", "zero_terms_query": "all"}}} in must
    assert must[0]["match"]["content"]["query"] == "fox"
    assert query["bool"]["must_not"] == [
        {"match_phrase": {"content": {"query": "lazy"}}},
        {"match_phrase": {"content": {"query": "red dog"}}},
    ]


def test_stop_words_alone_find_nothing_but_are_dropped_beside_others():
    # A clause the analyzer empties matches all (zero_terms_query "all"), but one word of the
    # whole text has to survive the analyzer (the filter keeps zero_terms_query "none").
    query = text_query('the "of a" otters')
    [anything] = query["bool"]["filter"]
    assert anything == {"match": {"content": {"query": "the of a otters", "operator": "or"}}}
    assert "zero_terms_query" not in anything["match"]["content"]


@pytest.mark.parametrize("text", ["🦊🦊", "-only", '""', "!!! ???"])
def test_text_without_words_asks_nothing(text):
    assert text_query(text) is None
    assert posts(text) is None


@pytest.mark.parametrize("text", ODD)
def test_odd_text_is_just_words_inside_match_queries(text):
    body = posts(text, SIGNED_IN)
    found = keys(body)
    assert not found & {"query_string", "simple_query_string", "script", "wildcard", "regexp", "match_all"}
    phrases, excluded = terms(text)
    words = [word for phrase in phrases + excluded for word in phrase]
    # Only the words reach Elasticsearch, in match/match_phrase "query" values.
    texts = [
        value["query"]
        for kind in ("match", "match_phrase")
        for clause in clauses(body, kind)
        for value in clause.values()
        if isinstance(value, dict) and "query" in value
    ]
    assert texts and all(set(t.split()) <= set(words) for t in texts)
    json.dumps(body)  # a plain JSON body
    for query in (
        user_query(Search(type="user", text=text), SIGNED_IN, 0, 5),
        hashtag_query(Search(type="hashtag", text=text), 0, 5),
        complete_user_query(text, SIGNED_IN, 5),
    ):
        assert not keys(query) & {"query_string", "simple_query_string", "script", "wildcard", "regexp"}
        json.dumps(query)


def test_the_whole_text_of_a_name_search_is_one_match_value():
    text = 'title:(fox AND "dog") OR body:*'
    query = user_query(Search(type="user", text=text), Scope(), 0, 5)
    assert {"term": {"username.raw": text.lower()}} in clauses(query, "filter")


# --- Posts: privacy prefilter, filters, sort, paging ------------------------------------------------


def test_anonymous_viewers_get_public_posts_of_public_accounts_only():
    body = posts("fox")
    audience = audience_filter(Scope())
    assert audience == {"bool": {"filter": [{"term": {"visibility": "public"}}, {"term": {"author_private": False}}]}}
    assert audience in body["query"]["bool"]["filter"]
    assert "must_not" not in body["query"]["bool"]  # no one is blocked for nobody


def test_signed_in_viewers_see_own_followed_and_mentioned_posts_and_no_blocked_authors():
    body = posts("fox", SIGNED_IN)
    filters = body["query"]["bool"]["filter"]
    audience = audience_filter(SIGNED_IN)
    assert audience in filters
    should = audience["bool"]["should"]
    assert audience["bool"]["minimum_should_match"] == 1
    assert audience_filter(Scope()) in should  # public posts of public accounts
    assert {"term": {"author_id": VIEWER}} in should  # own posts, any audience
    assert {
        "bool": {
            "filter": [{"terms": {"author_id": list(FOLLOWED)}}, {"terms": {"visibility": ["public", "followers"]}}]
        }
    } in should  # followers-only (and private accounts' public) posts of people followed
    assert {
        "bool": {"filter": [{"term": {"visibility": "mentioned"}}, {"term": {"tagged_user_ids": VIEWER}}]}
    } in should
    # Blocked either way: neither the blocked nor the blocker.
    assert body["query"]["bool"]["must_not"] == [{"terms": {"author_id": list(BLOCKED + BLOCKER)}}]
    for flag in ({"term": {"status": "published"}}, {"term": {"deleted": False}}, {"term": {"hidden": False}}):
        assert flag in filters
    assert {"term": {"author_active": True}} in filters


def test_a_viewer_following_nobody_has_no_followers_clause():
    should = audience_filter(Scope(VIEWER))["bool"]["should"]
    assert not [clause for clause in should if "terms" in json.dumps(clause)]


def test_post_filters_are_filters_and_only_the_text_scores():
    since, until = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 31, 23, 59, tzinfo=UTC)
    body = posts("fox", Scope(), author_id="abc", since=since, until=until, has_media=False, content_type="image")
    query = body["query"]["bool"]
    assert query["must"] == [text_query("fox")]
    assert {"term": {"author_id": "abc"}} in query["filter"]
    assert {"range": {"published_at": {"gte": since.isoformat(), "lte": until.isoformat()}}} in query["filter"]
    assert {"term": {"has_media": False}} in query["filter"]
    assert {"term": {"content_type": "image"}} in query["filter"]
    only_since = posts("fox", since=since)["query"]["bool"]["filter"]
    assert {"range": {"published_at": {"gte": since.isoformat()}}} in only_since
    assert "has_media" not in json.dumps(posts("fox"))


def test_posts_sort_by_score_then_recency_then_id_and_page_with_from_size():
    body = post_query(Search(type="post", text="fox"), Scope(), 40, 21)
    assert body["sort"] == [{"_score": "desc"}, {"published_at": "desc"}, {"id": "desc"}]
    assert (body["from"], body["size"], body["_source"], body["track_total_hits"]) == (40, 21, False, False)


# --- Users and hashtags ----------------------------------------------------------------------------------


def test_user_search_matches_exact_prefix_and_fuzzy_names_of_active_unblocking_accounts():
    body = user_query(Search(type="user", text="@ZebraFnch"), SIGNED_IN, 0, 10)
    query = body["query"]["bool"]
    assert query["minimum_should_match"] == 1
    should = [clause["constant_score"] for clause in query["should"]]
    assert {"filter": {"term": {"username.raw": "zebrafnch"}}, "boost": 4.0} in should  # "@" and case gone
    assert {"filter": {"match": {"username.prefix": "zebrafnch"}}, "boost": 2.0} in should
    assert {"filter": {"match": {"username": {"query": "zebrafnch", "fuzziness": "AUTO"}}}, "boost": 1.0} in should
    fuzzy_name = {"match": {"display_name": {"query": "zebrafnch", "fuzziness": "AUTO", "operator": "and"}}}
    assert {"filter": fuzzy_name, "boost": 1.0} in should
    # The display name as typed, or its folded key (search.names.name_key): one prefix score.
    display_names = [
        {"match": {"display_name.prefix": {"query": "zebrafnch", "operator": "and"}}},
        {"match": {"name_key": {"query": "zebrafnch", "operator": "and"}}},
    ]
    assert {"filter": {"bool": {"should": display_names, "minimum_should_match": 1}}, "boost": 2.0} in should
    assert query["filter"] == [{"term": {"is_active": True}}]
    assert query["must_not"] == [{"terms": {"id": list(BLOCKED + BLOCKER)}}]  # blocks hide either way
    assert body["sort"] == [{"_score": "desc"}, {"followers_count": "desc"}, {"date_joined": "desc"}, {"id": "asc"}]


def test_followed_by_me_filters_on_the_viewers_followees():
    def query(followed_by_me, scope=SIGNED_IN):
        body = user_query(Search(type="user", text="frida", followed_by_me=followed_by_me), scope, 0, 10)
        return body and body["query"]["bool"]

    assert {"terms": {"id": list(FOLLOWED)}} in query(True)["filter"]
    assert {"terms": {"id": list(FOLLOWED)}} in query(False)["must_not"]
    assert "terms" not in json.dumps(query(None)["filter"])
    assert query(True, Scope(VIEWER)) is None  # following nobody: nobody to find
    assert "must_not" not in query(False, Scope(VIEWER))


@pytest.mark.parametrize("text", ["Nadja", "nadya", "NADIIA", "Надя", "@Nádia"])
def test_near_spellings_send_the_folded_key(text):
    """What the database backends match in their completion names, this matches in name_key:
    the key of what was typed ("nadia"), by word prefixes, scored as a prefix; and usernames
    starting with it, as the completion names hold usernames too."""
    should = user_query(Search(type="user", text=text), SIGNED_IN, 0, 10)["query"]["bool"]["should"]
    prefixes = [clause["constant_score"] for clause in should if clause["constant_score"]["boost"] == 2.0]
    [usernames, display_names] = [json.dumps(clause["filter"], ensure_ascii=False) for clause in prefixes]
    key = '{"match": {"name_key": {"query": "nadia", "operator": "and"}}}'
    assert key in display_names
    typed = text.removeprefix("@").lower()
    assert f'"username.prefix": "{typed}"' in usernames
    assert ('"username.prefix": "nadia"' in usernames) is (typed != "nadia")
    completing = json.dumps(complete_user_query(text[:4], SIGNED_IN, 5), ensure_ascii=False)
    assert '"name_key": {"query": "nad' in completing


def test_text_without_letters_sends_no_key():
    should = user_query(Search(type="user", text="🦊"), Scope(), 0, 5)["query"]["bool"]["should"]
    assert "name_key" not in json.dumps(should)
    assert "name_key" not in json.dumps(complete_user_query("🦊", Scope(), 5))


def test_a_name_prefix_longer_than_the_edge_ngrams_also_needs_the_exact_prefix():
    long = "a" * (documents.EDGE_MAX + 5)
    should = user_query(Search(type="user", text=long), Scope(), 0, 5)["query"]["bool"]["should"]
    assert {"bool": {"filter": [{"match": {"username.prefix": long}}, {"prefix": {"username.raw": long}}]}} in [
        clause["constant_score"]["filter"] for clause in should
    ]


def test_hashtag_search_normalizes_and_matches_exact_prefix_and_fuzzy():
    body = hashtag_query(Search(type="hashtag", text="#ＳunSet"), 0, 10)
    should = [clause["constant_score"] for clause in body["query"]["bool"]["should"]]
    assert {"filter": {"term": {"name.raw": "sunset"}}, "boost": 4.0} in should
    assert {"filter": {"match": {"name.prefix": "sunset"}}, "boost": 2.0} in should
    assert {"filter": {"match": {"name": {"query": "sunset", "fuzziness": "AUTO"}}}, "boost": 1.0} in should
    assert body["sort"] == [{"_score": "desc"}, {"created_at": "desc"}, {"id": "desc"}]
    assert hashtag_query(Search(type="hashtag", text="#"), 0, 10) is None


def test_user_autocomplete_puts_followed_first_and_never_the_viewer():
    body = complete_user_query("@Mar", SIGNED_IN, 5)
    query = body["query"]["bool"]
    names = {
        "bool": {
            "should": [
                {"match": {"username.prefix": "mar"}},
                {"match": {"display_name.start": "mar"}},
                {"match": {"name_key": {"query": "mar", "operator": "and"}}},
            ],
            "minimum_should_match": 1,
        }
    }
    assert query["filter"] == [{"term": {"is_active": True}}, names]
    assert query["should"] == [{"constant_score": {"filter": {"terms": {"id": list(FOLLOWED)}}, "boost": 1.0}}]
    assert {"term": {"id": VIEWER}} in query["must_not"]
    assert {"terms": {"id": list(BLOCKED + BLOCKER)}} in query["must_not"]
    assert body["sort"] == [{"_score": "desc"}, {"followers_count": "desc"}, {"username.raw": "asc"}]
    assert (body["from"], body["size"]) == (0, 5)
    anonymous = complete_user_query("mar", Scope(), 5)["query"]["bool"]
    assert "should" not in anonymous and "must_not" not in anonymous
    assert complete_user_query("@", SIGNED_IN, 5) is None


def test_hashtag_autocomplete_skips_the_trending_ones_and_prefers_short_names():
    body = complete_hashtag_query("mount", [7, 9], 3)
    assert body["query"]["bool"] == {
        "filter": [{"match": {"name.prefix": "mount"}}],
        "must_not": [{"terms": {"id": [7, 9]}}],
    }
    assert body["sort"] == [{"name_length": "asc"}, {"name.raw": "asc"}]
    assert "must_not" not in complete_hashtag_query("mount", [], 3)["query"]["bool"]


def test_author_flags_are_copied_only_onto_posts_that_differ():
    update = author_flags_update("u1", private=True, active=False)
    assert update["query"]["bool"]["filter"] == [{"term": {"author_id": "u1"}}]
    assert update["query"]["bool"]["minimum_should_match"] == 1
    assert update["script"]["params"] == {"private": True, "active": False}
    assert "ctx._source.author_private = params.private" in update["script"]["source"]


def test_every_body_is_valid_search_dsl():
    """elasticsearch.dsl parses each body into its typed queries (an unknown query or a
    misplaced clause fails) and writes back the same JSON."""
    long = "x" * (documents.EDGE_MAX + 1)
    bodies = [
        posts('a "b c" -d', SIGNED_IN, author_id="x", since=datetime(2026, 1, 1, tzinfo=UTC), has_media=True),
        posts("fox"),
        user_query(Search(type="user", text=long, followed_by_me=True), SIGNED_IN, 0, 5),
        user_query(Search(type="user", text="frida", followed_by_me=False), SIGNED_IN, 0, 5),
        hashtag_query(Search(type="hashtag", text="#sun"), 0, 5),
        complete_user_query("mar", SIGNED_IN, 5),
        user_query(Search(type="user", text="Надя Ковал"), SIGNED_IN, 0, 5),
        complete_user_query("nadj", SIGNED_IN, 5),
        complete_hashtag_query("mount", [1], 5),
    ]
    for body in bodies:
        assert DslSearch.from_dict(body).to_dict() == body


# --- Mappings and index names --------------------------------------------------------------------------


def test_post_content_uses_the_english_analyzer():
    mapping = documents.index_body(documents.PostDocument)["mappings"]["properties"]
    assert mapping["content"] == {"type": "text", "analyzer": "english"}
    for name in ("author_id", "visibility", "status", "content_type", "tagged_user_ids", "id"):
        assert mapping[name] == {"type": "keyword"}, name
    for name in ("has_media", "deleted", "hidden", "author_private", "author_active"):
        assert mapping[name] == {"type": "boolean"}, name
    assert mapping["published_at"] == {"type": "date"}


def test_names_have_edge_ngram_prefixes_and_a_fuzzy_whole_name():
    body = documents.index_body(documents.UserDocument)
    analysis = body["settings"]["analysis"]
    edges = analysis["filter"]["socialsite_edges"]
    assert edges == {"type": "edge_ngram", "min_gram": 1, "max_gram": documents.EDGE_MAX}
    assert analysis["filter"]["socialsite_cut"] == {"type": "truncate", "length": documents.EDGE_MAX}
    assert analysis["analyzer"]["socialsite_whole_prefix"]["filter"] == ["lowercase", "socialsite_edges"]
    assert analysis["analyzer"]["socialsite_words_prefix"]["tokenizer"] == "standard"
    assert analysis["analyzer"]["socialsite_whole"] == {
        "type": "custom",
        "tokenizer": "keyword",
        "filter": ["lowercase"],
    }
    properties = body["mappings"]["properties"]
    username = properties["username"]
    assert username["analyzer"] == "socialsite_whole"
    assert username["fields"]["prefix"] == {
        "type": "text",
        "analyzer": "socialsite_whole_prefix",
        "search_analyzer": "socialsite_whole_prefix_search",
    }
    assert username["fields"]["raw"] == {"type": "keyword", "normalizer": "socialsite_lowercase"}
    assert properties["display_name"]["fields"]["prefix"]["analyzer"] == "socialsite_words_prefix"
    assert properties["display_name"]["fields"]["start"]["analyzer"] == "socialsite_whole_prefix"
    # The folded key is made in Python (search.names.name_key); the index only splits it into
    # words and their prefixes, as it does display names.
    assert properties["name_key"] == {
        "type": "text",
        "analyzer": "socialsite_words_prefix",
        "search_analyzer": "socialsite_words_prefix_search",
    }
    for name, kind in (("is_active", "boolean"), ("followers_count", "integer"), ("date_joined", "date")):
        assert properties[name] == {"type": kind}
    hashtags = documents.index_body(documents.HashtagDocument)["mappings"]["properties"]
    assert hashtags["name"]["fields"]["prefix"]["analyzer"] == "socialsite_whole_prefix"
    assert hashtags["name_length"] == {"type": "integer"} and hashtags["created_at"] == {"type": "date"}


def test_one_shard_so_scores_are_exact():
    for document in documents.DOCUMENTS:
        assert documents.index_body(document)["settings"]["number_of_shards"] == 1


def test_index_names_use_the_prefix_setting(settings):
    assert documents.alias_name("posts") == "socialsite-posts"
    settings.ELASTICSEARCH_INDEX_PREFIX = "test-abc"
    assert [documents.alias_name(document.kind) for document in documents.DOCUMENTS] == [
        "test-abc-posts",
        "test-abc-users",
        "test-abc-hashtags",
    ]


def test_autosync_is_off(settings):
    for document in documents.DOCUMENTS:
        assert document.django.ignore_signals is True
    assert settings.ELASTICSEARCH_DSL_AUTOSYNC is False
    assert settings.ELASTICSEARCH_DSL_SIGNAL_PROCESSOR.endswith("BaseSignalProcessor")


# --- With the database (no server): backend choice, scope, documents, queued tasks ----------------------


def test_the_backend_follows_elasticsearch_url(settings):
    settings.ELASTICSEARCH_URL = ""
    assert backend().name == ("postgres" if connection.vendor == "postgresql" else "sqlite")
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:9"
    engine = backend()  # makes no connection
    assert isinstance(engine, ElasticsearchBackend)
    assert (engine.name, engine.indexes_posts) == ("elasticsearch", True)


@pytest.mark.django_db
def test_scope_reads_followees_and_blocks_either_way(ana, bo, cy, django_assert_num_queries):
    dan, eve = UserFactory(username="dan"), UserFactory(username="eve")
    accounts_services.follow_create(follower=ana, followed_user_id=bo.pk)
    accounts_services.block_create(blocker=ana, blocked_user_id=cy.pk)
    accounts_services.block_create(blocker=dan, blocked_user_id=ana.pk)
    accounts_services.block_create(blocker=eve, blocked_user_id=bo.pk)  # not about ana
    with django_assert_num_queries(2):
        scope = ElasticsearchBackend.scope(ana)
    assert scope.viewer_id == str(ana.pk)
    assert scope.followee_ids == (str(bo.pk),)
    assert set(scope.blocked_ids) == {str(cy.pk), str(dan.pk)}
    assert scope.blocker_ids == (str(dan.pk),)
    with django_assert_num_queries(0):
        from django.contrib.auth.models import AnonymousUser

        assert ElasticsearchBackend.scope(AnonymousUser()) == Scope()


@pytest.mark.django_db
def test_post_documents_hold_what_the_prefilter_needs(ana, bo, django_capture_on_commit_callbacks):
    private = UserFactory(username="hermit", private=True)
    with django_capture_on_commit_callbacks(execute=True):
        post = posts_services.post_create(
            author=private, content_type="text", content="hello @bo #Sunset", visibility="mentioned"
        )
    Media.objects.create(owner=private, post=post, kind=Media.Kind.IMAGE, status=Media.Status.READY)
    document = documents.PostDocument()
    [row] = document.get_queryset().filter(pk=post.pk)
    data = document.prepare(row)
    assert data["id"] == str(post.pk) and data["author_id"] == str(private.pk)
    assert data["content"] == "hello @bo #Sunset"
    assert (data["visibility"], data["status"], data["content_type"]) == ("mentioned", "published", "text")
    assert data["tagged_user_ids"] == [str(bo.pk)]
    assert data["has_media"] is True
    assert (data["deleted"], data["hidden"], data["author_private"], data["author_active"]) == (
        False,
        False,
        True,
        True,
    )
    assert data["published_at"] == post.published_at
    Post.objects.filter(pk=post.pk).update(deleted_at=post.published_at)
    assert not document.get_queryset().filter(pk=post.pk).exists()  # deleted ones aren't indexed
    [tag] = post.hashtags.all()
    assert documents.HashtagDocument().prepare(tag) == {
        "id": tag.pk,
        "name": "sunset",
        "name_length": 6,
        "created_at": tag.created_at,
    }


@pytest.mark.django_db
def test_user_documents(ana):
    ana.profile.display_name = "Ana Lima"
    ana.profile.followers_count = 3
    ana.profile.save()
    data = documents.UserDocument().prepare(documents.UserDocument().get_queryset().get(pk=ana.pk))
    assert data == {
        "id": str(ana.pk),
        "username": "ana",
        "display_name": "Ana Lima",
        "name_key": "ana lima",
        "is_active": True,
        "is_private": False,
        "followers_count": 3,
        "date_joined": ana.date_joined,
    }
    ana.profile.display_name = "Надія Ко-Валенко 🦊"
    ana.profile.save()
    data = documents.UserDocument().prepare(documents.UserDocument().get_queryset().get(pk=ana.pk))
    assert data["name_key"] == "nadia ko valenko"
