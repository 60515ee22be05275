"""Bookmarks, pins and content warnings: the services and the selectors that read them."""

import threading

import pytest
from django.db import connections

from accounts import services as account_services
from posts import selectors, services
from posts.models import Bookmark, Post
from socialsite.errors import ConflictError, ForbiddenError, NotFoundError, ServiceError
from tests.factories import BlockFactory, UserFactory

pytestmark = pytest.mark.django_db


def bookmarked(user):
    return [post.content for post in selectors.bookmarks_queryset(user=user)]


class TestBookmarks:
    def test_add_is_idempotent_and_private(self, user, other_user, post_by, django_capture_on_commit_callbacks):
        post = post_by(other_user, "keep me")
        with django_capture_on_commit_callbacks() as callbacks:
            first, created = services.bookmark_add(user=user, post_id=post.pk)
            again, created_again = services.bookmark_add(user=user, post_id=str(post.pk))  # a replayed request
        assert created and not created_again and first.pk == again.pk
        assert callbacks == []  # nobody is told: no notification, no task
        assert Bookmark.objects.count() == 1 and bookmarked(user) == ["keep me"] and bookmarked(other_user) == []

    def test_a_repost_bookmarks_its_original(self, user, other_user, post_by, act):
        original = post_by(other_user, "the original")
        repost, _ = act(services.share_create, user=UserFactory(), post_id=original.pk)
        bookmark, _ = services.bookmark_add(user=user, post_id=repost.pk)
        assert bookmark.post_id == original.pk
        assert services.bookmark_remove(user=user, post_id=repost.pk) is True

    def test_remove_is_idempotent(self, user, other_user, post_by):
        post = post_by(other_user)
        services.bookmark_add(user=user, post_id=post.pk)
        assert services.bookmark_remove(user=user, post_id=post.pk) is True
        assert services.bookmark_remove(user=user, post_id=post.pk) is False
        assert not Bookmark.objects.exists()

    def test_posts_you_cannot_see_cannot_be_bookmarked(self, user, other_user, post_by):
        for_followers = post_by(other_user, visibility="followers")
        with pytest.raises(NotFoundError):
            services.bookmark_add(user=user, post_id=for_followers.pk)
        blocked = post_by(other_user)
        BlockFactory(blocker=other_user, blocked=user)
        with pytest.raises(NotFoundError):
            services.bookmark_add(user=user, post_id=blocked.pk)
        with pytest.raises(NotFoundError):
            services.bookmark_add(user=user, post_id="not-a-uuid")
        with pytest.raises(NotFoundError):  # nothing to let go of, and nothing to see
            services.bookmark_remove(user=user, post_id=blocked.pk)

    def test_the_list_drops_what_you_can_no_longer_see(self, user, act, post_by, follow):
        deleted_author, blocker, private = UserFactory(), UserFactory(), UserFactory()
        follow(user, private)
        private.profile.is_private = True  # went private after the follow
        private.profile.save(update_fields=["is_private"])
        posts = {
            "deleted": post_by(deleted_author, "deleted"),
            "blocker": post_by(blocker, "blocker"),
            "private": post_by(private, "private"),
            "kept": post_by(UserFactory(), "kept"),
        }
        for post in posts.values():
            services.bookmark_add(user=user, post_id=post.pk)
        assert sorted(bookmarked(user)) == ["blocker", "deleted", "kept", "private"]
        act(services.post_delete, post=posts["deleted"], actor=deleted_author)
        act(account_services.block_create, blocker=blocker, blocked_user_id=user.pk)
        act(account_services.follow_delete, follower=user, followed_user_id=private.pk)
        assert bookmarked(user) == ["kept"]
        # A bookmark of a post gone out of sight can still be removed.
        assert services.bookmark_remove(user=user, post_id=posts["blocker"].pk) is True

    def test_last_bookmarked_first(self, user, post_by):
        older, newer = post_by(UserFactory(), "older"), post_by(UserFactory(), "newer")
        services.bookmark_add(user=user, post_id=newer.pk)
        services.bookmark_add(user=user, post_id=older.pk)
        assert bookmarked(user) == ["older", "newer"]
        found = selectors.post_get(viewer=user, post_id=older.pk)
        assert (
            found.bookmarked is True and selectors.post_get(viewer=UserFactory(), post_id=older.pk).bookmarked is False
        )


class TestPins:
    def test_pin_and_unpin_are_idempotent(self, user, post_by):
        post = post_by(user)
        assert services.post_pin(user=user, post_id=post.pk) is True
        assert services.post_pin(user=user, post_id=post.pk) is False
        post.refresh_from_db()
        assert post.pinned_at is not None
        assert services.post_unpin(user=user, post_id=post.pk) is True
        assert services.post_unpin(user=user, post_id=post.pk) is False
        post.refresh_from_db()
        assert post.pinned_at is None

    def test_only_the_author_pins(self, user, other_user, post_by):
        post = post_by(other_user)
        with pytest.raises(ForbiddenError):
            services.post_pin(user=user, post_id=post.pk)
        services.post_pin(user=other_user, post_id=post.pk)
        with pytest.raises(ForbiddenError):
            services.post_unpin(user=user, post_id=post.pk)
        hidden = post_by(other_user, visibility="followers")
        with pytest.raises(NotFoundError):
            services.post_pin(user=user, post_id=hidden.pk)

    def test_a_fourth_pin_is_refused(self, user, post_by, act):
        posts = [post_by(user, f"post {n}") for n in range(5)]
        for post in posts[:3]:
            services.post_pin(user=user, post_id=post.pk)
        with pytest.raises(ConflictError) as refused:
            services.post_pin(user=user, post_id=posts[3].pk)
        assert refused.value.code == "pin_limit_reached"
        # A deleted pin frees its place.
        act(services.post_delete, post=posts[0], actor=user)
        assert services.post_pin(user=user, post_id=posts[3].pk) is True
        pinned = [p.content for p in selectors.profile_pinned(viewer=UserFactory(), user=user)]
        assert pinned == ["post 3", "post 2", "post 1"]  # last pinned first

    @pytest.mark.django_db(transaction=True)
    def test_concurrent_pins_never_pass_the_limit(self, post_by):
        author = UserFactory()
        posts = [post_by(author, f"post {n}") for n in range(6)]
        services.post_pin(user=author, post_id=posts[0].pk)
        services.post_pin(user=author, post_id=posts[1].pk)
        barrier, outcomes = threading.Barrier(4), []

        def pin(post):
            try:
                barrier.wait()
                outcomes.append(services.post_pin(user=author, post_id=post.pk))
            except ConflictError:
                outcomes.append("refused")
            finally:
                connections.close_all()

        threads = [threading.Thread(target=pin, args=(post,)) for post in posts[2:]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(map(str, outcomes)) == ["True", "refused", "refused", "refused"]
        assert Post.objects.filter(author=author, pinned_at__isnull=False).count() == 3


class TestContentWarnings:
    def test_stored_as_one_line_of_plain_text(self, user, post_by):
        post = post_by(user, spoiler_text="  <b>Spoilers</b>\n for\u202e  episode 3 ")
        assert post.spoiler_text == "<b>Spoilers</b> for episode 3"  # text, escaped where shown

    def test_too_long_is_refused(self, user):
        with pytest.raises(ServiceError) as refused:
            services.post_create(author=user, content="hi", spoiler_text="x" * 201)
        assert refused.value.fields == {"spoiler_text": ["At most 200 characters."]}

    def test_editing_keeps_it_unless_given(self, user, post_by):
        post = post_by(user, "words", spoiler_text="food")
        services.post_update(post=post, editor=user, content="other words")
        post.refresh_from_db()
        assert (post.content, post.spoiler_text) == ("other words", "food")
        services.post_update(post=post, editor=user, spoiler_text="")
        post.refresh_from_db()
        assert post.spoiler_text == ""
