"""Media moves out of posts into an app of its own, without touching the data.

The table keeps its name (posts_media) and its index: this only creates the model in media's
state (posts 0006 removes it from posts' state). The content type follows the model, so the
permissions on it, and the groups holding them (the moderators' view_media, posts 0002), stay.
"""

import django.db.models.deletion
import django.utils.timezone
import uuid6
from django.conf import settings
from django.db import migrations, models


def _move_content_type(apps, schema_editor, old_label, new_label):
    db = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    old = ContentType.objects.using(db).filter(app_label=old_label, model="media").first()
    if old is None:
        return
    new = ContentType.objects.using(db).filter(app_label=new_label, model="media").first()
    if new is None:
        old.app_label = new_label
        old.save(update_fields=["app_label"])
        return
    # Both exist (post_migrate made the new one already): the old one's grants move over.
    for permission in Permission.objects.using(db).filter(content_type=old):
        target, _ = Permission.objects.using(db).get_or_create(
            content_type=new, codename=permission.codename, defaults={"name": permission.name}
        )
        for group in permission.group_set.all():
            group.permissions.add(target)
        for user in permission.user_set.all():
            user.user_permissions.add(target)
    old.delete()


def to_media(apps, schema_editor):
    _move_content_type(apps, schema_editor, "posts", "media")


def to_posts(apps, schema_editor):
    _move_content_type(apps, schema_editor, "media", "posts")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("posts", "0005_moderation_appeals"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Media",
                    fields=[
                        (
                            "id",
                            models.UUIDField(default=uuid6.uuid7, editable=False, primary_key=True, serialize=False),
                        ),
                        ("position", models.PositiveSmallIntegerField(default=0)),
                        ("kind", models.CharField(choices=[("image", "Image"), ("video", "Video")], max_length=10)),
                        (
                            "status",
                            models.CharField(
                                choices=[("processing", "Processing"), ("ready", "Ready"), ("failed", "Failed")],
                                db_index=True,
                                default="processing",
                                max_length=12,
                            ),
                        ),
                        ("error", models.CharField(blank=True, max_length=300)),
                        (
                            "attempts",
                            models.PositiveSmallIntegerField(default=0, help_text="Processing runs started."),
                        ),
                        ("queued_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("upload", models.FileField(blank=True, max_length=300, upload_to="uploads/%Y/%m/")),
                        ("alt_text", models.CharField(blank=True, max_length=1000)),
                        ("filter", models.CharField(blank=True, max_length=20)),
                        ("variants", models.JSONField(blank=True, default=dict)),
                        ("width", models.PositiveIntegerField(blank=True, null=True)),
                        ("height", models.PositiveIntegerField(blank=True, null=True)),
                        ("duration", models.FloatField(blank=True, help_text="Seconds, for videos.", null=True)),
                        ("blurhash", models.CharField(blank=True, max_length=100)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("processed_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "owner",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="media",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "post",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="media",
                                to="posts.post",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "posts_media",
                        "ordering": ["position", "created_at"],
                        "indexes": [models.Index(fields=["post", "position"], name="posts_media_post_position_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(to_media, to_posts),
    ]
