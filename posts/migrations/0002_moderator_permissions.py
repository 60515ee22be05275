"""Give the "moderators" group (accounts 0002) the reports queue and the audit log.

Moderators view posts, comments and media, work the report queue (change_report runs its
actions) and read the audit log, which nobody may change. As in accounts 0002, permissions
are created here with get_or_create because post_migrate has not run yet on a fresh database.
"""

from django.db import migrations

GROUP_NAME = "moderators"

PERMISSIONS = {
    "post": ("view",),
    "comment": ("view",),
    "media": ("view",),
    "hashtag": ("view",),
    "report": ("view", "change"),
    "moderationaction": ("view",),
}


def grant(apps, schema_editor):
    db = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")

    group, _ = Group.objects.using(db).get_or_create(name=GROUP_NAME)
    for model_name, actions in PERMISSIONS.items():
        model = apps.get_model("posts", model_name)
        content_type, _ = ContentType.objects.using(db).get_or_create(app_label="posts", model=model_name)
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
        group.permissions.remove(*group.permissions.filter(content_type__app_label="posts"))


class Migration(migrations.Migration):
    dependencies = [
        ("posts", "0001_initial"),
        ("accounts", "0002_moderators_group"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
