"""The completion names gain the folded keys of display names (search.names.name_key: "Надія
Коваленко" and "Nadiia Kovalenko" are also "nadia kovalenko"), which near spellings match in
people search and @mention autocomplete on the database backends. This refills the table from
the accounts there are, in one transaction: until it commits, autocomplete reads the old rows.
The same as `manage.py reindex` does; Elasticsearch's user documents need that command (their
mapping has a new field), see docs/search.md.
"""

from django.conf import settings
from django.db import migrations

from search import names


def refill_completion_names(apps, schema_editor):
    db = schema_editor.connection.alias
    User = apps.get_model(settings.AUTH_USER_MODEL)
    CompletionName = apps.get_model("search", "CompletionName")
    CompletionName.objects.using(db).all().delete()
    names.fill(CompletionName, User.objects.using(db).filter(is_active=True), db)


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0002_completion_names_and_recent_posts_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # Backwards there is nothing to undo: the old code ignores the key rows it didn't write,
    # and each account's next index_user (or `reindex`) drops them.
    operations = [migrations.RunPython(refill_completion_names, migrations.RunPython.noop)]
