"""Search: the Trend table, and the database backends' indexes per engine (search.backends.database).

PostgreSQL: pg_trgm; a stored tsvector column generated from posts_post.content (english
stemming) with a GIN index; trigram GIN indexes for typo-tolerant names; pattern indexes for
prefixes (autocomplete). Adding the generated column rewrites posts_post once: on a large
table run this migration in a quiet hour.
SQLite: an FTS5 table (porter stemming) that search tasks keep in step, filled here once.
"""

import django.db.models.deletion
from django.conf import settings
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

POSTGRES = [
    (
        "ALTER TABLE posts_post ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
        "(to_tsvector('english'::regconfig, coalesce(content, ''))) STORED",
        "ALTER TABLE posts_post DROP COLUMN search_vector",
    ),
    (
        "CREATE INDEX search_post_vector_idx ON posts_post USING gin (search_vector)",
        "DROP INDEX IF EXISTS search_post_vector_idx",
    ),
    (
        # The newest matches of a frequent word (SEARCH_RANK_WINDOW) come from this walk.
        "CREATE INDEX search_post_published_idx ON posts_post (published_at DESC, id DESC) "
        "WHERE status = 'published' AND deleted_at IS NULL AND hidden_at IS NULL",
        "DROP INDEX search_post_published_idx",
    ),
    (
        # Autocomplete walks the most followed accounts for a common prefix.
        "CREATE INDEX search_profile_followers_idx ON accounts_profile (followers_count DESC)",
        "DROP INDEX search_profile_followers_idx",
    ),
    (
        "CREATE INDEX search_user_username_trgm ON accounts_user USING gin (username gin_trgm_ops)",
        "DROP INDEX search_user_username_trgm",
    ),
    (
        "CREATE INDEX search_user_username_prefix ON accounts_user (UPPER(username::text) text_pattern_ops)",
        "DROP INDEX search_user_username_prefix",
    ),
    (
        "CREATE INDEX search_profile_name_trgm ON accounts_profile USING gin (display_name gin_trgm_ops)",
        "DROP INDEX search_profile_name_trgm",
    ),
    (
        "CREATE INDEX search_profile_name_prefix ON accounts_profile (UPPER(display_name::text) text_pattern_ops)",
        "DROP INDEX search_profile_name_prefix",
    ),
    (
        "CREATE INDEX search_hashtag_name_trgm ON posts_hashtag USING gin (name gin_trgm_ops)",
        "DROP INDEX search_hashtag_name_trgm",
    ),
    (
        "CREATE INDEX search_hashtag_name_prefix ON posts_hashtag (name text_pattern_ops)",
        "DROP INDEX search_hashtag_name_prefix",
    ),
]

SQLITE = [
    (
        "CREATE VIRTUAL TABLE search_post_fts USING fts5("
        "post_id UNINDEXED, body, tokenize = 'porter unicode61 remove_diacritics 2')",
        "DROP TABLE search_post_fts",
    ),
    (
        "INSERT INTO search_post_fts (post_id, body) SELECT id, content FROM posts_post WHERE deleted_at IS NULL",
        None,
    ),
]


def _statements(connection):
    return {"postgresql": POSTGRES, "sqlite": SQLITE}.get(connection.vendor, [])


def forwards(apps, schema_editor):
    for sql, _ in _statements(schema_editor.connection):
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    for _, sql in reversed(_statements(schema_editor.connection)):
        if sql:
            schema_editor.execute(sql)


def grant_moderators(apps, schema_editor):
    """The "moderators" group (accounts 0002) sees trends and hides them. As there, permissions
    are made here because post_migrate has not run yet on a fresh database."""
    db = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.using(db).get_or_create(name="moderators")
    content_type, _ = ContentType.objects.using(db).get_or_create(app_label="search", model="trend")
    for codename, name in (("view_trend", "Can view trend"), ("hide_trend", "Can hide or show a trending hashtag")):
        permission, _ = Permission.objects.using(db).get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        group.permissions.add(permission)


def revoke_moderators(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    group = Group.objects.using(schema_editor.connection.alias).filter(name="moderators").first()
    if group is not None:
        group.permissions.remove(*group.permissions.filter(content_type__app_label="search"))


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0002_moderators_group"),
        ("posts", "0003_post_published_at"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        TrigramExtension(),  # PostgreSQL only; a no-op elsewhere
        migrations.RunPython(forwards, backwards),
        migrations.CreateModel(
            name="Trend",
            fields=[
                (
                    "hashtag",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="trend",
                        serialize=False,
                        to="posts.hashtag",
                    ),
                ),
                ("score", models.FloatField(help_text="Velocity: the last hour against the hourly baseline.")),
                ("recent_posts", models.PositiveIntegerField(help_text="Posts in the last TRENDS_WINDOW_MINUTES.")),
                ("recent_authors", models.PositiveIntegerField(help_text="Distinct authors of those posts.")),
                (
                    "baseline_per_hour",
                    models.FloatField(help_text="Posts per hour over the TRENDS_BASELINE_DAYS before."),
                ),
                ("computed_at", models.DateTimeField()),
                ("hidden_at", models.DateTimeField(blank=True, null=True)),
                (
                    "hidden_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "permissions": [("hide_trend", "Can hide or show a trending hashtag")],
                "indexes": [models.Index(fields=["-score"], name="search_trend_score_idx")],
            },
        ),
        migrations.RunPython(grant_moderators, revoke_moderators),
    ]
