"""The "moderators" group: view the accounts models, edit users and profiles, delete follows.

Permissions are normally created by post_migrate, after every migration has run, so on
a fresh database they don't exist yet here; they are created with get_or_create on
the content type (post_migrate later finds and keeps them).
"""

from django.db import migrations

GROUP_NAME = "moderators"

# model name -> actions granted
PERMISSIONS = {
    "user": ("view", "change"),
    "profile": ("view", "change"),
    "follow": ("view", "delete"),
    "followrequest": ("view",),
    "block": ("view",),
    "mute": ("view",),
    "interest": ("view",),
}


def create_moderators_group(apps, schema_editor):
    """Idempotent: running it again only adds what is missing."""
    db = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")

    group, _ = Group.objects.using(db).get_or_create(name=GROUP_NAME)
    permissions = []
    for model_name, actions in PERMISSIONS.items():
        model = apps.get_model("accounts", model_name)
        content_type, _ = ContentType.objects.using(db).get_or_create(app_label="accounts", model=model_name)
        for action in actions:
            permission, _ = Permission.objects.using(db).get_or_create(
                content_type=content_type,
                codename=f"{action}_{model_name}",
                defaults={"name": f"Can {action} {model._meta.verbose_name_raw}"},
            )
            permissions.append(permission)
    group.permissions.add(*permissions)


def remove_moderators_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_moderators_group, remove_moderators_group),
    ]
