import functools
import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import Client

from tests.factories import UserFactory
from tests.passwords import _fast_password_hashing  # noqa: F401  (autouse)

moderators_migration = importlib.import_module("accounts.migrations.0002_moderators_group")
posts_permissions_migration = importlib.import_module("posts.migrations.0002_moderator_permissions")
messaging_permissions_migration = importlib.import_module("messaging.migrations.0002_moderators_see_reports")
search_migration = importlib.import_module("search.migrations.0001_search")
posts_appeals_migration = importlib.import_module("posts.migrations.0005_moderation_appeals")
media_migration = importlib.import_module("media.migrations.0001_initial")


@functools.cache
def apps_before_media_moved():
    """The models as posts 0002 saw them: Media was posts' model until media 0001."""
    return MigrationLoader(connection).project_state(("posts", "0005_moderation_appeals")).apps


@pytest.fixture
def moderators_group(db):
    """The group the migrations made; made again if a transactional test flushed it away."""
    if not Group.objects.filter(name=moderators_migration.GROUP_NAME).exists():
        schema_editor = SimpleNamespace(connection=connection)
        moderators_migration.create_moderators_group(apps, schema_editor)
        posts_permissions_migration.grant(apps_before_media_moved(), schema_editor)
        messaging_permissions_migration.grant(apps, schema_editor)
        search_migration.grant_moderators(apps, schema_editor)
        posts_appeals_migration.grant(apps, schema_editor)
        media_migration.to_media(apps, schema_editor)
    return Group.objects.get(name=moderators_migration.GROUP_NAME)


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def moderator(moderators_group):
    user = UserFactory(username="mod", is_staff=True)
    user.groups.add(moderators_group)
    return user


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def superuser_client(superuser):
    return logged_in(superuser)


@pytest.fixture
def moderator_client(moderator):
    return logged_in(moderator)


def form_data(response):
    """The POST body a browser would send back unchanged from an admin add/change page."""
    data = {}

    def add_form(form):
        for name, field in form.fields.items():
            if field.disabled:
                continue
            value = form[name].value()
            key = form.add_prefix(name)
            if isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif isinstance(value, (list, tuple)):
                data[key] = [str(item) for item in value]
            elif value is None:
                data[key] = ""
            else:
                data[key] = str(value)

    add_form(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add_form(formset.management_form)
        for form in formset.forms:
            add_form(form)
    return data
