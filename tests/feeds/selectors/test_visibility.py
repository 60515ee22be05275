"""The feed's read-time filter (`_timeline_rows`) agrees with `Post.objects.visible_to`.

The feed checks its timeline ids with a cheaper query than visible_to, relying on the cached
graph for follows (see feeds.selectors._timeline_rows). Here both run over the visibility
matrix: every kind of post by the viewer and by authors in every relationship to them.
"""

import pytest
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import FollowRequest, User
from feeds import graph
from feeds.selectors import TIMELINE_FIELDS, _timeline_rows
from posts import services as posts_services
from posts.models import Post, PostTag
from posts.selectors import bookmarked_by, liked_by
from tests.factories import UserFactory
from tests.posts.factories import PostFactory

pytestmark = pytest.mark.django_db


def posts_of_every_kind(author, viewer):
    made = {
        "public": PostFactory(author=author),
        "followers": PostFactory(author=author, visibility="followers"),
        "mentioned me": PostFactory(author=author, visibility="mentioned"),
        "mentioned others": PostFactory(author=author, visibility="mentioned"),
        "deleted": PostFactory(author=author, deleted_at=timezone.now()),
        "hidden": PostFactory(author=author, hidden_at=timezone.now()),
        "pending": PostFactory(author=author, status="pending_media"),
    }
    PostTag.objects.create(post=made["mentioned me"], user=viewer)
    PostTag.objects.create(post=made["mentioned others"], user=UserFactory())
    return {f"{author.username}: {kind}": post for kind, post in made.items()}


def test_the_feed_filter_agrees_with_visible_to(settle, django_assert_num_queries):
    viewer = UserFactory(username="viewer")
    authors = {
        name: UserFactory(username=name) for name in ("friend", "muted", "blocked", "blocker", "gone", "stranger")
    }
    authors["private"] = UserFactory(username="private", private=True)

    def follow(author):
        settle(accounts_services.follow_create, follower=viewer, followed_user_id=author.pk)
        if author.profile.is_private:
            request = FollowRequest.objects.get(requester=viewer, target=author)
            settle(accounts_services.follow_request_approve, target=author, request_id=request.pk)

    for name in ("friend", "private", "muted", "blocked", "blocker", "gone"):
        follow(authors[name])
    settle(accounts_services.mute_create, muter=viewer, muted_user_id=authors["muted"].pk)
    settle(accounts_services.block_create, blocker=viewer, blocked_user_id=authors["blocked"].pk)
    settle(accounts_services.block_create, blocker=authors["blocker"], blocked_user_id=viewer.pk)
    User.objects.filter(pk=authors["gone"].pk).update(is_active=False)

    posts = posts_of_every_kind(viewer, viewer)
    for author in authors.values():
        posts.update(posts_of_every_kind(author, viewer))
    ids = [str(post.pk) for post in posts.values()]

    user_graph = graph.graph_for(viewer.pk)
    in_feed = (user_graph.followees - user_graph.muted) | {str(viewer.pk)}
    expected = {
        str(pk)
        for pk, author_id in Post.objects.visible_to(viewer)
        .filter(pk__in=ids, status=Post.Status.PUBLISHED)
        .values_list("pk", "author_id")
        if str(author_id) in in_feed
    }
    names = {str(post.pk): name for name, post in posts.items()}
    posts_services.like_create(user=viewer, post_id=posts["friend: public"].pk)
    posts_services.bookmark_add(user=viewer, post_id=posts["friend: public"].pk)
    with django_assert_num_queries(1):  # "mentioned" posts included: no second query for the tags
        rows = _timeline_rows(viewer, ids, user_graph)
    got = set(rows)
    # The rows are what the ORM reads for them: counters, liked_by_me, bookmarked, the profile's stamp.
    annotated = Post.objects.filter(pk__in=got).annotate(liked_by_me=liked_by(viewer), bookmarked=bookmarked_by(viewer))
    assert rows == {str(row["id"]): row for row in annotated.values(*TIMELINE_FIELDS)}
    assert [names[pk] for pk, row in rows.items() if row["liked_by_me"]] == ["friend: public"]
    assert [names[pk] for pk, row in rows.items() if row["bookmarked"]] == ["friend: public"]
    assert sorted(names[pk] for pk in got) == sorted(names[pk] for pk in expected)
    # And the matrix is not trivial: both sides keep and drop what they should.
    assert sorted(names[pk] for pk in got) == sorted(
        [
            *(
                f"{who}: {kind}"
                for who in ("viewer", "friend", "private")
                for kind in ("public", "followers", "mentioned me")
            ),
            "viewer: mentioned others",
        ]
    )
