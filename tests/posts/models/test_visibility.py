"""Who sees what: every read path goes through Post.objects.visible_to."""

import pytest
from django.utils import timezone

from accounts import services as accounts_services
from posts.models import Post
from tests.factories import BlockFactory, UserFactory
from tests.posts.conftest import post_url
from tests.socialsite.api.helpers import assert_error

pytestmark = pytest.mark.django_db

VIEWERS = ("anonymous", "stranger", "follower", "tagged", "author")

# visibility, private author -> the viewers who see the post
MATRIX = [
    ("public", False, {"anonymous", "stranger", "follower", "tagged", "author"}),
    ("followers", False, {"follower", "author"}),
    ("mentioned", False, {"tagged", "author"}),
    ("public", True, {"follower", "author"}),
    ("followers", True, {"follower", "author"}),
    ("mentioned", True, {"tagged", "author"}),
]


@pytest.fixture
def cast(client_for, api):
    author = UserFactory()
    follower, tagged, stranger = UserFactory(), UserFactory(), UserFactory()
    accounts_services.follow_create(follower=follower, followed_user_id=author.pk)
    clients = {
        "anonymous": api,
        "stranger": client_for(stranger),
        "follower": client_for(follower),
        "tagged": client_for(tagged),
        "author": client_for(author),
    }
    return author, tagged, clients


def sees(client, post):
    detail = client.get(post_url(post))
    listing = client.get(f"/api/v1/users/{post.author_id}/posts")
    listed = listing.json()["results"] if listing.status_code == 200 else []
    tagged = client.get("/api/v1/hashtags/matrix/posts").json()["results"]
    in_detail = detail.status_code == 200
    if not in_detail:
        assert_error(detail, 404)
    assert in_detail == (str(post.pk) in [p["id"] for p in listed])
    assert in_detail == (str(post.pk) in [p["id"] for p in tagged])
    return in_detail


@pytest.mark.parametrize("visibility, private, expected", MATRIX)
def test_visibility_matrix(cast, make_post, visibility, private, expected):
    author, tagged, clients = cast
    if private:
        author.profile.is_private = True
        author.profile.save(update_fields=["is_private"])
    post = make_post(author, content=f"#matrix hello @{tagged.username}", visibility=visibility)
    seen = {name for name in VIEWERS if sees(clients[name], post)}
    assert seen == expected


def test_photo_tags_count_as_mentioned(cast, make_post):
    author, tagged, clients = cast
    post = make_post(author, content="#matrix", visibility="mentioned", tagged_user_ids=[tagged.pk])
    assert {name for name in VIEWERS if sees(clients[name], post)} == {"tagged", "author"}


@pytest.mark.parametrize("direction", ["author_blocks_viewer", "viewer_blocks_author"])
def test_blocked_either_way_is_404(client_for, user, other_user, make_post, direction):
    post = make_post(other_user, content="#matrix public")
    if direction == "author_blocks_viewer":
        BlockFactory(blocker=other_user, blocked=user)
    else:
        BlockFactory(blocker=user, blocked=other_user)
    client = client_for(user)
    assert_error(client.get(post_url(post)), 404)
    assert client.get("/api/v1/hashtags/matrix/posts").json()["results"] == []
    assert_error(client.get(f"{post_url(post)}/comments"), 404)


@pytest.mark.parametrize("field", ["deleted_at", "hidden_at"])
def test_deleted_and_hidden_posts_are_404_to_everyone(cast, make_post, field):
    author, _, clients = cast
    post = make_post(author, content="#matrix gone")
    Post.objects.filter(pk=post.pk).update(**{field: timezone.now()})
    assert not any(sees(clients[name], post) for name in VIEWERS)


def test_deactivated_author_vanishes(cast, make_post):
    author, _, clients = cast
    post = make_post(author, content="#matrix bye")
    accounts_services.user_deactivate(user=author)
    assert not any(sees(clients[name], post) for name in ("anonymous", "stranger", "follower", "tagged"))


def test_the_reused_queryset_follows_the_graph_and_keeps_no_filters(user, other_user, make_post):
    # Post.objects.visible_to is built once per viewer and copied: what it answers must still
    # come from the follows and blocks of the moment, and a caller's filters stay its own.
    post = make_post(other_user, content="for followers", visibility="followers")
    other = make_post(other_user, content="for everyone")
    assert not Post.objects.visible_to(user).filter(pk=post.pk).exists()
    assert Post.objects.visible_to(user).filter(pk=other.pk).count() == 1
    accounts_services.follow_create(follower=user, followed_user_id=other_user.pk)
    assert set(Post.objects.visible_to(user).values_list("pk", flat=True)) == {post.pk, other.pk}
    mine = make_post(user, content="mine")
    assert set(user.posts.visible_to(user).values_list("pk", flat=True)) == {mine.pk}  # a related manager
    BlockFactory(blocker=other_user, blocked=user)
    assert set(Post.objects.visible_to(user).values_list("pk", flat=True)) == {mine.pk}
    assert Post.objects.visible_to(None).filter(pk=other.pk).exists()
