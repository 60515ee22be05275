"""FanoutBatch.follower_ids is stored uncompressed (PostgreSQL only).

A batch of 1,000 follower ids is ~37 KB of UUID text, which pglz tries and fails to compress on
every insert: 1.0-1.2 ms an insert against 0.26 ms with STORAGE EXTERNAL (same size on disk,
still out of line). See feeds.services.fanout_post.
"""

from django.db import migrations


def storage(value):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            table = schema_editor.quote_name(apps.get_model("feeds", "FanoutBatch")._meta.db_table)
            schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN follower_ids SET STORAGE {value}")

    return run


class Migration(migrations.Migration):
    dependencies = [("feeds", "0002_resumable_fanout")]

    operations = [migrations.RunPython(storage("EXTERNAL"), storage("EXTENDED"), elidable=False)]
