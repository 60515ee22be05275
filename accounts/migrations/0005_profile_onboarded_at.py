from django.db import migrations, models
from django.db.models.functions import Now


def existing_accounts_are_onboarded(apps, schema_editor):
    # Accounts made before the welcome steps existed never see them.
    apps.get_model("accounts", "Profile").objects.update(onboarded_at=Now())


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_token_families"),
    ]

    operations = [
        migrations.AddField(
            model_name="profile",
            name="onboarded_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(existing_accounts_are_onboarded, migrations.RunPython.noop, elidable=True),
    ]
