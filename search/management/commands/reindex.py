"""`python manage.py reindex`: rebuild the search backend's own index of posts from the database.

SQLite (FTS5) and Elasticsearch keep an index that tasks update after each commit; this
rebuilds it in bulk (after a restore, a lost task or a mapping change). PostgreSQL's generated
column needs none: the command says so and does nothing.
"""

from django.core.management.base import BaseCommand

from search.backends import backend


class Command(BaseCommand):
    help = "Rebuild the search index of posts from the database (SQLite FTS5 or Elasticsearch)."

    def handle(self, *args, **options):
        engine = backend()
        if not engine.indexes_posts:
            self.stdout.write(f"{engine.name}: posts are indexed by the database itself; nothing to do.")
            return
        count = engine.reindex(self.stdout)
        self.stdout.write(f"{engine.name}: indexed {count:,} posts.")
