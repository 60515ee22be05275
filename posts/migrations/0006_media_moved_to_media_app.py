"""Media is now the media app's model (media 0001): removed from posts' state only, the table
(posts_media) and its data stay as they are."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("posts", "0005_moderation_appeals"),
        ("media", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Media")],
            database_operations=[],
        ),
    ]
