"""Every admin page opens, for superusers and for the moderators group."""

from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services
from accounts.models import Block, Follow, FollowRequest, Interest, Mute, Profile, User
from tests.conftest import image_bytes
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def graph():
    alice = UserFactory(username="alice", phone="+14155550123")
    bob = UserFactory(username="bob", private=True)
    carol = UserFactory(username="carol")
    dave = UserFactory(username="dave")
    services.profile_update(user=alice, display_name="Alice Liddell", bio="Down the rabbit hole.", interests=["chess"])
    services.avatar_set(user=alice, upload=SimpleUploadedFile("a.png", image_bytes(), content_type="image/png"))
    services.follow_create(follower=alice, followed_user_id=carol.pk)
    services.follow_create(follower=dave, followed_user_id=bob.pk)  # a request: bob is private
    block, _ = services.block_create(blocker=carol, blocked_user_id=dave.pk)
    alice.profile.refresh_from_db()
    mute, _ = services.mute_create(muter=bob, muted_user_id=alice.pk)
    return SimpleNamespace(
        alice=alice,
        bob=bob,
        carol=carol,
        dave=dave,
        follow=Follow.objects.get(follower=alice, followed=carol),
        follow_request=FollowRequest.objects.get(requester=dave, target=bob),
        block=block,
        mute=mute,
        interest=Interest.objects.get(name="chess"),
    )


def accounts_objects(graph):
    return {
        User: graph.alice,
        Profile: graph.alice.profile,
        Follow: graph.follow,
        FollowRequest: graph.follow_request,
        Block: graph.block,
        Mute: graph.mute,
        Interest: graph.interest,
    }


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("who", ["superuser_client", "moderator_client"])
def test_changelists_and_change_pages_of_accounts_models_open(request, who, graph):
    client = request.getfixturevalue(who)
    for model, obj in accounts_objects(graph).items():
        assert client.get(admin_url(model, "changelist")).status_code == 200, model
        response = client.get(admin_url(model, "change", obj.pk))
        assert response.status_code == 200, model
    assert client.get(reverse("admin:index")).status_code == 200


def test_superuser_opens_the_changelist_and_add_page_of_every_registered_model(superuser_client, superuser, graph):
    rf_request = RequestFactory().get("/admin/")
    rf_request.user = superuser
    for model, model_admin in admin.site._registry.items():
        assert superuser_client.get(admin_url(model, "changelist")).status_code == 200, model
        if model_admin.has_add_permission(rf_request):
            assert superuser_client.get(admin_url(model, "add")).status_code == 200, model


def test_user_change_page_shows_profile_inline_with_avatar_preview(moderator_client, graph):
    response = moderator_client.get(admin_url(User, "change", graph.alice.pk))
    content = response.content.decode()
    assert "Alice Liddell" in content
    assert f'<img src="{graph.alice.profile.avatar.url}" width="64" height="64"' in content


def test_user_changelist_columns(superuser_client, graph):
    response = superuser_client.get(admin_url(User, "changelist"))
    content = response.content.decode()
    assert "Alice Liddell" in content
    assert response.context["cl"].list_display[1:] == [
        "username",
        "email",
        "display_name",
        "followers",
        "is_active",
        "is_staff",
        "date_joined",
        "last_active",
    ]


def test_user_changelist_query_count_does_not_grow_with_rows(superuser_client, superuser):
    url = admin_url(User, "changelist")
    superuser_client.get(url)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as few:
        assert superuser_client.get(url).status_code == 200
    for _ in range(12):
        UserFactory()
    with CaptureQueriesContext(connection) as many:
        assert superuser_client.get(url).status_code == 200
    assert len(many) == len(few)


@pytest.mark.parametrize(
    ("model", "query", "expected", "unexpected"),
    [
        (User, "alice", {"alice"}, {"bob", "carol"}),
        (User, "ALICE@example", {"alice"}, {"bob"}),
        (User, "4155550123", {"alice"}, {"bob"}),
        (User, "liddell", {"alice"}, {"bob"}),
        (Profile, "rabbit", {"alice"}, {"bob"}),
        (Follow, "carol", {"alice"}, {"dave"}),
        (FollowRequest, "dave", {"dave"}, {"alice"}),
        (Block, "carol", {"carol"}, {"alice"}),
        (Mute, "bob", {"bob"}, {"carol"}),
        (Interest, "che", {"chess"}, set()),
    ],
)
def test_search(moderator_client, graph, model, query, expected, unexpected):
    response = moderator_client.get(admin_url(model, "changelist"), {"q": query})
    assert response.status_code == 200
    rows = [str(obj) for obj in response.context["cl"].result_list]
    found = " ".join(rows)
    assert rows, f"nothing found for {query!r}"
    for name in expected:
        assert name in found
    for name in unexpected:
        assert not any(row.startswith(name) for row in rows)


def test_filters(moderator_client, graph):
    ours = {"alice", "bob", "carol", "dave"}
    response = moderator_client.get(admin_url(User, "changelist"), {"profile__is_private__exact": "1"})
    assert {user.username for user in response.context["cl"].result_list} & ours == {"bob"}
    response = moderator_client.get(admin_url(Profile, "changelist"), {"is_private__exact": "0"})
    assert "bob" not in {profile.user.username for profile in response.context["cl"].result_list}
