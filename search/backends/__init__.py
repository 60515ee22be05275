"""Search backends behind one interface. Each answers with ids, best first; `search.selectors`
loads those ids through the same `visible_to` as every other read and builds the payloads, so
the response is the same whatever answered.

    posts(viewer, search, offset, limit)    -> [post id]
    users(viewer, search, offset, limit)    -> [user id]
    hashtags(viewer, search, offset, limit) -> [hashtag id]
    complete_users(viewer, prefix, limit)   -> [user id]     @mention autocomplete
    complete_hashtags(prefix, limit)        -> [hashtag id]  #hashtag autocomplete
    index_post(post_id), remove_post(post_id), index_user(user_id), reindex(stdout) -> {what: count}
    indexes_posts: whether tasks must keep the backend's own index of posts in step (users are
    always re-indexed when they change: every backend keeps something of them)

Which one: Elasticsearch when ELASTICSEARCH_URL is set (`search.backends.elastic`), else the
database's own (PostgreSQL full-text and trigrams, or SQLite FTS5). When Elasticsearch fails
(SearchUnavailable: its circuit breaker is open, or a call just failed) the selectors ask the
database's own instead (docs/operations.md, "Degraded modes").
"""

from django.conf import settings
from django.db import connection


class SearchUnavailable(Exception):
    """The search engine is down: ask `database_backend()` instead."""


def backend():
    if settings.ELASTICSEARCH_URL:
        from search.backends.elastic import ElasticsearchBackend

        return ElasticsearchBackend()
    return database_backend()


def database_backend():
    from search.backends import database

    return database.PostgresBackend() if connection.vendor == "postgresql" else database.SQLiteBackend()
