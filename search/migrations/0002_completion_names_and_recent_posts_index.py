"""Search latency (bench_search): the CompletionName table @mention autocomplete matches, filled
from the accounts there are. On PostgreSQL:
- the recent-posts index carries each post's search vector, so the newest matches of a frequent
  word come from an index-only walk (backwards) instead of one heap page per post walked.
  Rebuilding it locks writes to posts_post: on a large table run this in a quiet hour;
- the followers_count index on profiles goes: the autocomplete walk it served reads
  CompletionName now, and while a profile index holds followers_count no follow's count
  update can be a HOT update (in place, without new entries in every profile index).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from search import names

RECENT_POSTS = "WHERE status = 'published' AND deleted_at IS NULL AND hidden_at IS NULL"


def swap_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX search_profile_followers_idx")
        schema_editor.execute("DROP INDEX search_post_published_idx")
        # Ascending, read backwards: new posts land on its right edge, where a full page splits
        # leaving the old one full. Descending, every new post landed on the left edge, and the
        # 50/50 splits there left the index half empty (1.7 times the size, as many more pages
        # to walk).
        schema_editor.execute(
            f"CREATE INDEX search_post_recent_idx ON posts_post (published_at, id) INCLUDE (search_vector) {RECENT_POSTS}"
        )


def swap_indexes_back(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE INDEX search_profile_followers_idx ON accounts_profile (followers_count DESC)")
        schema_editor.execute("DROP INDEX search_post_recent_idx")
        schema_editor.execute(
            f"CREATE INDEX search_post_published_idx ON posts_post (published_at DESC, id DESC) {RECENT_POSTS}"
        )


def fill_completion_names(apps, schema_editor):
    db = schema_editor.connection.alias
    User = apps.get_model(settings.AUTH_USER_MODEL)
    names.fill(apps.get_model("search", "CompletionName"), User.objects.using(db).filter(is_active=True), db)


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0001_search"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CompletionName",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=50)),
                ("followers_count", models.PositiveIntegerField(default=0)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["name"],
                        include=("followers_count", "user"),
                        name="search_completion_prefix",
                        opclasses=["text_pattern_ops"],
                    ),
                    models.Index(fields=["-followers_count", "name"], include=("user",), name="search_completion_rank"),
                ],
                "constraints": [models.UniqueConstraint(fields=("user", "name"), name="search_completion_user_name")],
            },
        ),
        migrations.RunPython(fill_completion_names, migrations.RunPython.noop),
        migrations.RunPython(swap_indexes, swap_indexes_back),
    ]
