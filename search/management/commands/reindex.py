"""`python manage.py reindex`: rebuild what the search backend keeps of its own from the database.

The database backends keep the names @mention autocomplete matches, and SQLite an FTS5 table of
posts; Elasticsearch keeps documents of posts, users and hashtags. Tasks update them after each
commit; this rebuilds them in bulk (after a restore, a lost task or a mapping change).
"""

from django.core.management.base import BaseCommand

from search.backends import backend


class Command(BaseCommand):
    help = "Rebuild the search backend's own index from the database."

    def handle(self, *args, **options):
        engine = backend()
        counts = engine.reindex(self.stdout)
        self.stdout.write(f"{engine.name}: indexed " + ", ".join(f"{n:,} {what}" for what, n in counts.items()) + ".")
