"""posts.selectors.popular_posts_queryset (Explore's trending posts, the empty home feed's "Popular")
and search.suggestions.popular_accounts / onboarding_suggestions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import Interest
from posts.models import Post
from posts.selectors import popular_posts_queryset
from search import suggestions
from tests.factories import BlockFactory, FollowFactory, MuteFactory, UserFactory
from tests.posts.factories import PostFactory

pytestmark = pytest.mark.django_db


def names(queryset):
    return [post.content for post in queryset]


def test_ranks_by_engagement_then_newest_and_leaves_out_what_the_viewer_may_not_see(ana):
    author, private, blocker, blocked, muted, gone = UserFactory.create_batch(6)
    private.profile.is_private = True
    private.profile.save()
    now = timezone.now()
    PostFactory(author=author, content="liked", likes_count=5)
    PostFactory(author=author, content="commented", comments_count=3)  # 6
    PostFactory(author=author, content="shared", shares_count=1)  # 3
    PostFactory(author=author, content="quiet")
    PostFactory(author=author, content="newer quiet", published_at=now + timedelta(seconds=1))
    PostFactory(author=author, content="old", likes_count=99, published_at=now - timedelta(days=4))
    PostFactory(author=author, content="followers only", likes_count=50, visibility=Post.Visibility.FOLLOWERS)
    PostFactory(author=author, content="deleted", likes_count=50, deleted_at=now)
    PostFactory(author=author, content="hidden", likes_count=50, hidden_at=now)
    PostFactory(author=author, content="pending", likes_count=50, status=Post.Status.PENDING_MEDIA)
    PostFactory(author=private, content="private account", likes_count=50)
    PostFactory(author=blocker, content="by a blocker", likes_count=50)
    PostFactory(author=blocked, content="by someone ana blocked", likes_count=50)
    PostFactory(author=muted, content="by someone ana muted", likes_count=50)
    PostFactory(author=ana, content="ana's own", likes_count=50)
    original = PostFactory(author=author, content="original")
    PostFactory(author=author, content="", shared_post=original, likes_count=50)  # a bare repost
    PostFactory(author=gone, content="by a deactivated account", likes_count=50)
    gone.is_active = False
    gone.save()
    BlockFactory(blocker=blocker, blocked=ana)
    BlockFactory(blocker=ana, blocked=blocked)
    MuteFactory(muter=ana, muted=muted)

    expected = ["commented", "liked", "shared", "newer quiet", "original", "quiet"]
    assert names(popular_posts_queryset(viewer=ana)) == expected
    signed_out = names(popular_posts_queryset(viewer=None))
    # Signed out: public posts only, so the blocks and mutes don't apply, nor "own".
    assert set(signed_out) == {*expected, "by a blocker", "by someone ana blocked", "by someone ana muted", "ana's own"}


def test_a_follower_still_sees_only_public_posts_on_explore(ana, bo):
    FollowFactory(follower=ana, followed=bo)
    PostFactory(author=bo, content="for followers", visibility=Post.Visibility.FOLLOWERS)
    PostFactory(author=bo, content="for everyone")
    assert names(popular_posts_queryset(viewer=ana)) == ["for everyone"]


def test_popular_accounts_by_followers_and_never_someone_blocking_the_viewer(ana, bo, cy):
    dee = UserFactory(username="dee")
    for follower in UserFactory.create_batch(2):
        FollowFactory(follower=follower, followed=cy)
    FollowFactory(follower=ana, followed=dee)
    for user, count in ((cy, 2), (bo, 1)):
        user.profile.followers_count = count
        user.profile.save()
    BlockFactory(blocker=bo, blocked=ana)
    signed_out = [user.username for user in suggestions.popular_accounts(None, 3)]
    assert signed_out[:2] == ["cy", "bo"]
    signed_in = [user.username for user in suggestions.popular_accounts(ana, 10)]
    assert "bo" not in signed_in and "dee" not in signed_in and "ana" not in signed_in  # blocking, followed, self
    assert signed_in[0] == "cy"


def test_onboarding_suggestions_put_shared_interests_first_then_fill_with_popular(ana, bo, cy):
    accounts_services.interests_set(user=ana, names=["Jazz", "  chess "])
    accounts_services.interests_set(user=bo, names=["jazz"])
    cy.profile.followers_count = 10  # popular, but shares nothing
    cy.profile.save()
    found = suggestions.onboarding_suggestions(ana, 5)
    assert [(s.user.username, s.reason) for s in found][:2] == [
        ("bo", suggestions.SHARED_INTERESTS),
        ("cy", suggestions.POPULAR),
    ]
    assert set(Interest.objects.values_list("name", flat=True)) == {"jazz", "chess"}


def test_onboarding_finish_is_idempotent(ana):
    first = accounts_services.onboarding_finish(user=ana).onboarded_at
    assert first is not None
    assert accounts_services.onboarding_finish(user=ana).onboarded_at == first


def test_popular_accounts_with_equal_followers_put_the_latest_public_poster_first(db):
    silent, older, newer, hidden = (UserFactory(username=name) for name in ("aaa", "bbb", "ccc", "ddd"))
    now = timezone.now()
    PostFactory(author=older, published_at=now - timedelta(days=2))
    PostFactory(author=newer, published_at=now - timedelta(hours=1))
    PostFactory(author=hidden, published_at=now, visibility=Post.Visibility.FOLLOWERS)  # not public: no
    assert [user.username for user in suggestions.popular_accounts(None, 4)] == ["ccc", "bbb", "aaa", "ddd"]


def test_accounts_sharing_an_interest_with_equal_followers_put_the_latest_poster_first(ana):
    accounts_services.interests_set(user=ana, names=["jazz"])
    quiet, active = UserFactory(username="aaa_quiet"), UserFactory(username="zzz_active")
    for person in (quiet, active):
        accounts_services.interests_set(user=person, names=["jazz"])
    PostFactory(author=active)
    assert [(s.user.username, s.reason) for s in suggestions.suggestions_for(ana, 5)] == [
        ("zzz_active", suggestions.SHARED_INTERESTS),
        ("aaa_quiet", suggestions.SHARED_INTERESTS),
    ]
