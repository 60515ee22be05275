"""Who gets into the admin, and what the moderators group may and may not do."""

from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import Block, Follow, User
from tests.accounts.admin.conftest import (
    apps_before_media_moved,
    form_data,
    logged_in,
    media_migration,
    messaging_permissions_migration,
    moderators_migration,
    posts_appeals_migration,
    posts_permissions_migration,
    search_migration,
)
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_moderators_group_has_exactly_the_intended_permissions(moderators_group):
    codenames = {(p.content_type.app_label, p.codename) for p in moderators_group.permissions.all()}
    assert codenames == {
        ("accounts", "view_user"),
        ("accounts", "change_user"),
        ("accounts", "view_profile"),
        ("accounts", "change_profile"),
        ("accounts", "view_follow"),
        ("accounts", "delete_follow"),
        ("accounts", "view_followrequest"),
        ("accounts", "view_block"),
        ("accounts", "view_mute"),
        ("accounts", "view_interest"),
        ("posts", "view_post"),
        ("posts", "view_comment"),
        ("media", "view_media"),
        ("posts", "view_hashtag"),
        ("posts", "view_report"),
        ("posts", "change_report"),
        ("posts", "view_moderationaction"),
        ("posts", "view_appeal"),
        ("posts", "change_appeal"),
        ("messaging", "view_messagereport"),
        ("messaging", "change_messagereport"),
        ("search", "view_trend"),
        ("search", "hide_trend"),
    }


def test_moderators_migration_is_idempotent_and_reversible(moderators_group):
    schema_editor = SimpleNamespace(connection=connection)
    moderators_migration.create_moderators_group(apps, schema_editor)
    posts_permissions_migration.grant(apps_before_media_moved(), schema_editor)
    messaging_permissions_migration.grant(apps, schema_editor)
    search_migration.grant_moderators(apps, schema_editor)
    posts_appeals_migration.grant(apps, schema_editor)
    media_migration.to_media(apps, schema_editor)
    assert Group.objects.get(name="moderators").permissions.count() == 23
    media_migration.to_posts(apps, schema_editor)  # unapplied before posts 0005 and 0002, as by migrate
    posts_appeals_migration.revoke(apps, schema_editor)
    assert Group.objects.get(name="moderators").permissions.count() == 21
    search_migration.revoke_moderators(apps, schema_editor)
    assert Group.objects.get(name="moderators").permissions.count() == 19
    messaging_permissions_migration.revoke(apps, schema_editor)
    assert Group.objects.get(name="moderators").permissions.count() == 17
    posts_permissions_migration.revoke(apps, schema_editor)
    assert Group.objects.get(name="moderators").permissions.count() == 10
    moderators_migration.remove_moderators_group(apps, schema_editor)
    assert not Group.objects.filter(name="moderators").exists()


@pytest.mark.parametrize("path", ["admin:index", "admin:accounts_user_changelist"])
def test_anonymous_and_non_staff_users_are_sent_to_the_admin_login(path):
    url = reverse(path)
    for client in (Client(), logged_in(UserFactory())):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_the_group_sees_nothing(db):
    client = logged_in(UserFactory(is_staff=True))
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403


def test_moderator_cannot_delete_a_user(moderator_client):
    target = UserFactory(username="target")
    url = reverse("admin:accounts_user_delete", args=[target.pk])
    assert moderator_client.get(url).status_code == 403
    assert moderator_client.post(url, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:accounts_user_changelist")
    actions = dict(moderator_client.get(changelist).context["action_form"].fields["action"].choices)
    assert "delete_selected" not in actions
    assert "deactivate_accounts" in actions
    response = moderator_client.post(
        changelist, {"action": "delete_selected", ACTION_CHECKBOX_NAME: [str(target.pk)], "post": "yes"}
    )
    assert response.status_code == 302  # back to the list with "No action selected"
    assert User.objects.filter(pk=target.pk, is_active=True).exists()


def test_moderator_cannot_open_group_or_permission_pages(moderator_client):
    assert moderator_client.get(reverse("admin:auth_group_changelist")).status_code == 403


def test_moderator_cannot_grant_privileges(moderator_client, moderator, moderators_group):
    target = UserFactory(username="target")
    for user in (target, moderator):
        url = reverse("admin:accounts_user_change", args=[user.pk])
        data = form_data(moderator_client.get(url))
        assert "is_superuser" not in data
        data.update({"is_superuser": "on", "is_staff": "on", "groups": [str(moderators_group.pk)]})
        response = moderator_client.post(url, data)
        assert response.status_code == 302
        user.refresh_from_db()
        assert not user.is_superuser
    assert not target.is_staff
    assert not target.groups.exists()


def test_moderator_edits_a_regular_account(moderator_client):
    target = UserFactory(username="target")
    url = reverse("admin:accounts_user_change", args=[target.pk])
    data = form_data(moderator_client.get(url))
    data["email"] = "new-address@example.com"
    assert moderator_client.post(url, data).status_code == 302
    target.refresh_from_db()
    assert target.email == "new-address@example.com"


def test_moderator_can_view_but_not_change_staff_accounts(moderator_client, superuser):
    url = reverse("admin:accounts_user_change", args=[superuser.pk])
    response = moderator_client.get(url)
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert moderator_client.post(url, {"username": "taken-over"}).status_code == 403
    password_url = reverse("admin:auth_user_password_change", args=[superuser.pk])
    assert moderator_client.get(password_url).status_code == 403
    superuser.refresh_from_db()
    assert superuser.username == "root"


def test_moderator_deletes_a_follow_through_the_service(moderator_client):
    fan, star = UserFactory(), UserFactory()
    services.follow_create(follower=fan, followed_user_id=star.pk)
    follow = Follow.objects.get(follower=fan, followed=star)
    response = moderator_client.post(reverse("admin:accounts_follow_delete", args=[follow.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Follow.objects.filter(pk=follow.pk).exists()
    fan.profile.refresh_from_db()
    star.profile.refresh_from_db()
    assert (fan.profile.following_count, star.profile.followers_count) == (0, 0)


def test_bulk_follow_delete_keeps_counters(moderator_client):
    star = UserFactory()
    fans = [UserFactory() for _ in range(3)]
    for fan in fans:
        services.follow_create(follower=fan, followed_user_id=star.pk)
    response = moderator_client.post(
        reverse("admin:accounts_follow_changelist"),
        {
            "action": "delete_selected",
            ACTION_CHECKBOX_NAME: [str(pk) for pk in Follow.objects.filter(followed=star).values_list("pk", flat=True)],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    star.profile.refresh_from_db()
    assert star.profile.followers_count == 0
    assert not Follow.objects.filter(followed=star).exists()


def test_follow_graph_is_read_only_and_blocks_are_not_deletable_by_moderators(moderator_client, superuser_client):
    blocker, blocked = UserFactory(), UserFactory()
    block, _ = services.block_create(blocker=blocker, blocked_user_id=blocked.pk)
    assert moderator_client.get(reverse("admin:accounts_block_delete", args=[block.pk])).status_code == 403
    for client in (moderator_client, superuser_client):
        assert client.get(reverse("admin:accounts_follow_add")).status_code == 403
        assert client.post(reverse("admin:accounts_block_change", args=[block.pk]), {}).status_code == 403
    response = superuser_client.post(reverse("admin:accounts_block_delete", args=[block.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Block.objects.filter(pk=block.pk).exists()


def test_staff_log_in_through_the_admin_login_form(superuser):
    client = Client()
    response = client.post(
        reverse("admin:login"), {"username": "root", "password": PASSWORD, "next": reverse("admin:index")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 200
