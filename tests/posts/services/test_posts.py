import pytest
from django.utils import timezone

from accounts import services as accounts_services
from media.models import Media
from posts import services
from posts.models import Comment, Hashtag, Like, Post, PostTag
from socialsite.errors import ForbiddenError, NotFoundError, ServiceError
from tests.factories import UserFactory
from tests.posts.factories import MediaFactory

pytestmark = pytest.mark.django_db


def processing(owner, **kwargs):
    return MediaFactory(owner=owner, status=Media.Status.PROCESSING, **kwargs)


class TestMediaSettling:
    def test_all_ready_publishes_once(self, user):
        a, b = processing(user), processing(user)
        post = services.post_create(author=user, content_type="image", media_ids=[a.pk, b.pk], filter="fade")
        assert post.status == Post.Status.PENDING_MEDIA
        assert [m.pk for m in post.media.all()] == [a.pk, b.pk]
        assert list(post.media.values_list("position", flat=True)) == [0, 1]
        Media.objects.filter(pk=a.pk).update(status=Media.Status.READY)
        assert services.post_media_settled(post_id=post.pk).status == Post.Status.PENDING_MEDIA
        Media.objects.filter(pk=b.pk).update(status=Media.Status.READY)
        for _ in range(2):
            assert services.post_media_settled(post_id=post.pk).status == Post.Status.PUBLISHED

    def test_a_failed_item_fails_the_post(self, user):
        a, b = processing(user), processing(user)
        post = services.post_create(author=user, content_type="image", media_ids=[a.pk, b.pk])
        Media.objects.filter(pk=a.pk).update(status=Media.Status.READY)
        Media.objects.filter(pk=b.pk).update(status=Media.Status.FAILED, error="Not an image.")
        assert services.post_media_settled(post_id=post.pk).status == Post.Status.FAILED
        assert not Post.objects.visible_to(UserFactory()).filter(pk=post.pk).exists()
        assert Post.objects.visible_to(user).filter(pk=post.pk).exists()

    def test_deleted_or_unknown_posts_are_left_alone(self, user):
        media = processing(user)
        post = services.post_create(author=user, content_type="image", media_ids=[media.pk])
        services.post_delete(post=post, actor=user)
        Media.objects.filter(pk=media.pk).update(status=Media.Status.READY)
        assert services.post_media_settled(post_id=post.pk) is None
        assert Post.objects.get(pk=post.pk).status == Post.Status.PENDING_MEDIA
        assert services.post_media_settled(post_id="nope") is None

    def test_the_posts_filter_replaces_the_images_own(self, user):
        own = processing(user, filter="cool")
        plain = processing(user)
        services.post_create(author=user, content_type="image", media_ids=[own.pk, plain.pk], filter="sepia")
        own.refresh_from_db()
        plain.refresh_from_db()
        assert (own.filter, plain.filter) == ("sepia", "sepia")

    def test_failed_media_are_refused(self, user):
        failed = MediaFactory(owner=user, status=Media.Status.FAILED)
        with pytest.raises(ServiceError) as error:
            services.post_create(author=user, content_type="image", media_ids=[failed.pk])
        assert "media_ids" in error.value.fields


class TestPosts:
    def test_hashtags_are_shared_rows(self, user, other_user):
        services.post_create(author=user, content_type="text", content="#Django")
        services.post_create(author=other_user, content_type="text", content="#DJANGO #ｄｊａｎｇｏ")
        assert list(Hashtag.objects.values_list("name", flat=True)) == ["django"]

    def test_update_resyncs_tags_but_keeps_photo_tags(self, user, other_user):
        friend = UserFactory()
        post = services.post_create(
            author=user,
            content_type="image",
            content=f"@{friend.username}",
            media_ids=[MediaFactory(owner=user).pk],
            tagged_user_ids=[other_user.pk],
        )
        assert set(post.tags.values_list("user_id", "kind")) == {(other_user.pk, "photo"), (friend.pk, "mention")}
        services.post_update(post=post, editor=user, content="no mentions")
        assert set(post.tags.values_list("user_id", "kind")) == {(other_user.pk, "photo")}
        post.refresh_from_db()
        assert post.edited and post.content_html == "no mentions"

    def test_update_refuses_others_and_mentions_of_blockers(self, user, other_user):
        post = services.post_create(author=user, content_type="text", content="mine")
        with pytest.raises(ForbiddenError):
            services.post_update(post=post, editor=other_user, content="theirs")
        accounts_services.block_create(blocker=other_user, blocked_user_id=user.pk)
        with pytest.raises(ForbiddenError) as error:
            services.post_update(post=post, editor=user, content=f"hi @{other_user.username}")
        assert error.value.code == "tag_blocked"
        post.refresh_from_db()
        assert post.content == "mine" and not PostTag.objects.exists()

    def test_deleting_a_share_gives_the_count_back_once(self, user, other_user):
        post = services.post_create(author=user, content_type="text", content="original")
        share, created = services.share_create(user=other_user, post_id=post.pk)
        assert created
        for _ in range(2):
            services.post_delete(post=share, actor=other_user)
        post.refresh_from_db()
        assert post.shares_count == 0

    def test_private_authors_posts_are_not_shareable(self, user, other_user):
        accounts_services.profile_update(user=user, is_private=True)
        accounts_services.follow_create(follower=other_user, followed_user_id=user.pk)
        from accounts.models import FollowRequest

        accounts_services.follow_request_approve(target=user, request_id=FollowRequest.objects.get().pk)
        post = services.post_create(author=user, content_type="text", content="for friends")
        with pytest.raises(ForbiddenError) as error:
            services.share_create(user=other_user, post_id=post.pk)
        assert error.value.code == "not_shareable"


class TestInteractions:
    def test_like_and_unlike_are_idempotent(self, user, other_user):
        post = services.post_create(author=other_user, content_type="text", content="hi")
        assert services.like_create(user=user, post_id=post.pk)[1] is True
        assert services.like_create(user=user, post_id=post.pk)[1] is False
        assert services.like_delete(user=user, post_id=post.pk) is True
        assert services.like_delete(user=user, post_id=post.pk) is False
        post.refresh_from_db()
        assert post.likes_count == 0 and not Like.objects.exists()

    def test_pending_posts_take_no_interactions(self, user, other_user):
        post = services.post_create(author=user, content_type="image", media_ids=[processing(user).pk])
        for call in (
            lambda: services.like_create(user=user, post_id=post.pk),
            lambda: services.comment_create(author=user, post_id=post.pk, content="x"),
            lambda: services.share_create(user=other_user, post_id=post.pk),
        ):
            with pytest.raises(NotFoundError):
                call()

    def test_comment_counters(self, user, other_user):
        post = services.post_create(author=user, content_type="text", content="hi")
        top = services.comment_create(author=other_user, post_id=post.pk, content="top")
        reply = services.comment_create(author=user, post_id=post.pk, content="re", parent_comment_id=top.pk)
        post.refresh_from_db()
        top.refresh_from_db()
        assert (post.comments_count, top.replies_count) == (2, 1)
        with pytest.raises(ForbiddenError):
            services.comment_delete(comment=reply, actor=UserFactory())
        services.comment_delete(comment=reply, actor=user)
        services.comment_delete(comment=reply, actor=user)
        post.refresh_from_db()
        top.refresh_from_db()
        assert (post.comments_count, top.replies_count) == (1, 0)
        assert Comment.objects.get(pk=reply.pk).deleted_at is not None

    def test_hidden_parent_is_not_found(self, user):
        post = services.post_create(author=user, content_type="text", content="hi")
        top = services.comment_create(author=user, post_id=post.pk, content="top")
        Comment.objects.filter(pk=top.pk).update(hidden_at=timezone.now())
        with pytest.raises(NotFoundError):
            services.comment_create(author=user, post_id=post.pk, content="re", parent_comment_id=top.pk)
