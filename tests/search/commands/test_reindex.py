"""`manage.py reindex` rebuilds what the backend indexes itself: SQLite's FTS5 table of posts
(PostgreSQL's generated column needs no rebuild). Completion names: test_completion_names.py."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from posts import services as posts_services

pytestmark = pytest.mark.django_db


def test_reindex_rebuilds_a_lost_index(api, ana, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        posts_services.post_create(author=ana, content_type="text", content="lost kingfisher")

    def ids():
        return [row["content"] for row in api.get("/api/v1/search", {"query": "kingfisher"}).json()["results"]]

    assert ids() == ["lost kingfisher"]
    out = StringIO()
    if connection.vendor != "sqlite":
        call_command("reindex", stdout=out)
        assert "posts" not in out.getvalue()
        return
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM search_post_fts")
    assert ids() == []
    call_command("reindex", stdout=out)
    assert "sqlite: indexed 1 posts, " in out.getvalue()
    assert ids() == ["lost kingfisher"]
