"""Elasticsearch documents for posts, users and hashtags (django-elasticsearch-dsl).

Used only when ELASTICSEARCH_URL is set (`search.backends.elastic`). django-elasticsearch-dsl
imports this module at start-up whatever the backend; that opens no connection.

Autosync is off (`ignore_signals`, ELASTICSEARCH_DSL_AUTOSYNC = False, a no-op signal
processor): search tasks index after commit, and `manage.py reindex` rebuilds in bulk.

Names: each index is read and written through an alias, `<ELASTICSEARCH_INDEX_PREFIX>-<kind>`,
resolved when used (`alias_name`), so tests can point at their own prefix; the concrete index
behind it is `<alias>-initial` (made by the first write) or `<alias>-<timestamp>` (made by
`reindex`, which swaps the alias onto it atomically and deletes the old one). Don't build
these indexes with django-elasticsearch-dsl's `search_index` command: it makes a plain index
named like the alias.
"""

from django.conf import settings
from django.db.models import Exists, OuterRef
from django_elasticsearch_dsl import Document, fields
from django_elasticsearch_dsl.registries import registry
from elasticsearch.dsl import analyzer, normalizer, token_filter

from accounts.models import User
from media.models import Media
from posts.models import Hashtag, Post
from search import names

# Longest prefix indexed as an edge n-gram: a username's whole length (30). A longer prefix is
# cut to this by the search analyzers, and the query adds an exact `prefix` on the `.raw` field.
EDGE_MAX = 30

# One shard: BM25 statistics are then exact, so equally relevant posts score the same (ties
# go to the newer). ELASTICSEARCH_DSL_INDEX_SETTINGS overrides this for a big cluster.
INDEX_SETTINGS = {"number_of_shards": 1}

_edges = token_filter("socialsite_edges", type="edge_ngram", min_gram=1, max_gram=EDGE_MAX)
_cut = token_filter("socialsite_cut", type="truncate", length=EDGE_MAX)

# A name as one token (usernames and hashtags): exact, fuzzy (a typo is an edit of the whole).
WHOLE = analyzer("socialsite_whole", tokenizer="keyword", filter=["lowercase"])
# ...and its prefixes, for autocomplete: "zeb" finds "zebrafinch".
WHOLE_PREFIX = analyzer("socialsite_whole_prefix", tokenizer="keyword", filter=["lowercase", _edges])
WHOLE_PREFIX_SEARCH = analyzer("socialsite_whole_prefix_search", tokenizer="keyword", filter=["lowercase", _cut])
# Prefixes of each word of a display name: "pain" finds "Frida Painter".
WORDS_PREFIX = analyzer("socialsite_words_prefix", tokenizer="standard", filter=["lowercase", _edges])
WORDS_PREFIX_SEARCH = analyzer("socialsite_words_prefix_search", tokenizer="standard", filter=["lowercase", _cut])
LOWERCASE = normalizer("socialsite_lowercase", filter=["lowercase"])


def alias_name(kind):
    """The alias every read and write uses: "<prefix>-posts", "-users" or "-hashtags"."""
    return f"{settings.ELASTICSEARCH_INDEX_PREFIX}-{kind}".lower()


def _raw():
    return fields.KeywordField(normalizer=LOWERCASE)


class _Document(Document):
    """Keeps the field preparers where `prepare` finds them.

    django-elasticsearch-dsl 9.0 caches them with `self._prepared_fields = ...`; from
    elasticsearch 9.4 on, elasticsearch.dsl's AttrDict stores that assignment in the document's
    data instead, `prepare()` reads the empty class default and every document is indexed
    empty (django-es/django-elasticsearch-dsl#505). This works with either version.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.__dict__["_preparers"] = self.init_prepare()

    def prepare(self, instance):
        return {name: prepare(instance) for name, _field, prepare in self.__dict__["_preparers"]}


@registry.register_document
class PostDocument(_Document):
    kind = "posts"

    id = fields.KeywordField()  # sort tiebreak (ids are UUIDv7: later ones sort higher)
    content = fields.TextField(analyzer="english")  # stems: "jumping" finds "jumps"
    author_id = fields.KeywordField()
    visibility = fields.KeywordField()
    status = fields.KeywordField()
    content_type = fields.KeywordField()
    published_at = fields.DateField()
    has_media = fields.BooleanField()
    tagged_user_ids = fields.KeywordField(multi=True)  # may see a "mentioned" post
    deleted = fields.BooleanField()
    hidden = fields.BooleanField()
    author_private = fields.BooleanField()
    author_active = fields.BooleanField()

    class Index:
        name = alias_name("posts")
        settings = INDEX_SETTINGS

    class Django:
        model = Post
        ignore_signals = True
        auto_refresh = False
        queryset_pagination = 1000

    def get_queryset(self):
        """What is indexed: every post not deleted (hidden ones carry hidden=True)."""
        return (
            Post.objects.filter(deleted_at__isnull=True)
            .select_related("author__profile")
            .annotate(with_media=Exists(Media.objects.filter(post=OuterRef("pk"))))
            .prefetch_related("tags")
            .order_by("pk")
        )

    def prepare_id(self, post):
        return str(post.pk)

    def prepare_author_id(self, post):
        return str(post.author_id)

    def prepare_has_media(self, post):
        with_media = getattr(post, "with_media", None)
        return bool(with_media if with_media is not None else post.media.exists())

    def prepare_tagged_user_ids(self, post):
        return sorted(str(tag.user_id) for tag in post.tags.all())

    def prepare_deleted(self, post):
        return post.deleted_at is not None

    def prepare_hidden(self, post):
        return post.hidden_at is not None

    def prepare_author_private(self, post):
        return _profile_value(post.author, "is_private", False)

    def prepare_author_active(self, post):
        return post.author.is_active


@registry.register_document
class UserDocument(_Document):
    kind = "users"

    id = fields.KeywordField()
    username = fields.TextField(
        analyzer=WHOLE,
        fields={
            "raw": _raw(),
            "prefix": fields.TextField(analyzer=WHOLE_PREFIX, search_analyzer=WHOLE_PREFIX_SEARCH),
        },
    )
    display_name = fields.TextField(
        analyzer="standard",
        fields={
            "raw": _raw(),
            "prefix": fields.TextField(analyzer=WORDS_PREFIX, search_analyzer=WORDS_PREFIX_SEARCH),
            "start": fields.TextField(analyzer=WHOLE_PREFIX, search_analyzer=WHOLE_PREFIX_SEARCH),
        },
    )
    # The display name's key (search.names.name_key), made here in Python as the database
    # backends make theirs: "Надія", "Nádia" and "Nadiia" are all "nadia", and the queries send
    # the key of what was typed. Its words' prefixes match, as display_name.prefix does.
    name_key = fields.TextField(analyzer=WORDS_PREFIX, search_analyzer=WORDS_PREFIX_SEARCH)
    is_active = fields.BooleanField()
    is_private = fields.BooleanField()
    followers_count = fields.IntegerField()
    date_joined = fields.DateField()

    class Index:
        name = alias_name("users")
        settings = INDEX_SETTINGS

    class Django:
        model = User
        ignore_signals = True
        auto_refresh = False
        queryset_pagination = 1000

    def get_queryset(self):
        return User.objects.select_related("profile").order_by("pk")

    def prepare_id(self, user):
        return str(user.pk)

    def prepare_display_name(self, user):
        return _profile_value(user, "display_name", "")

    def prepare_name_key(self, user):
        return names.name_key(_profile_value(user, "display_name", ""))

    def prepare_is_private(self, user):
        return _profile_value(user, "is_private", False)

    def prepare_followers_count(self, user):
        return _profile_value(user, "followers_count", 0)


@registry.register_document
class HashtagDocument(_Document):
    kind = "hashtags"

    id = fields.LongField()
    name = fields.TextField(
        analyzer=WHOLE,
        fields={
            "raw": _raw(),
            "prefix": fields.TextField(analyzer=WHOLE_PREFIX, search_analyzer=WHOLE_PREFIX_SEARCH),
        },
    )
    name_length = fields.IntegerField()  # autocomplete: the shortest first
    created_at = fields.DateField()

    class Index:
        name = alias_name("hashtags")
        settings = INDEX_SETTINGS

    class Django:
        model = Hashtag
        ignore_signals = True
        auto_refresh = False
        queryset_pagination = 2000

    def get_queryset(self):
        return Hashtag.objects.order_by("pk")

    def prepare_name_length(self, hashtag):
        return len(hashtag.name)


DOCUMENTS = (PostDocument, UserDocument, HashtagDocument)


def index_body(document):
    """{"settings": {... "analysis": ...}, "mappings": {...}} to create `document`'s index."""
    return document._index.to_dict()


def _profile_value(user, name, default):
    try:
        return getattr(user.profile, name)
    except User.profile.RelatedObjectDoesNotExist:  # the manager creates it right after the user
        return default
