"""Give the "moderators" group (accounts 0002) the message reports queue.

Moderators view and resolve message reports (change runs the admin actions); nothing else of
messaging is in the admin, so a conversation is seen only around a reported message.
"""

from django.db import migrations

GROUP_NAME = "moderators"
PERMISSIONS = {"messagereport": ("view", "change")}


def grant(apps, schema_editor):
    db = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")

    group, _ = Group.objects.using(db).get_or_create(name=GROUP_NAME)
    for model_name, actions in PERMISSIONS.items():
        model = apps.get_model("messaging", model_name)
        content_type, _ = ContentType.objects.using(db).get_or_create(app_label="messaging", model=model_name)
        for action in actions:
            permission, _ = Permission.objects.using(db).get_or_create(
                content_type=content_type,
                codename=f"{action}_{model_name}",
                defaults={"name": f"Can {action} {model._meta.verbose_name_raw}"},
            )
            group.permissions.add(permission)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    group = Group.objects.using(schema_editor.connection.alias).filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.remove(*group.permissions.filter(content_type__app_label="messaging"))


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_conversations"),
        ("accounts", "0002_moderators_group"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
