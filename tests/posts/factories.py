"""Post-related factories. Rows only: counters and rendering are the services' job."""

import factory
from django.utils import timezone

from media.models import Media
from posts.models import Comment, Hashtag, Post
from tests.factories import UserFactory


class MediaFactory(factory.django.DjangoModelFactory):
    """A processed image by default, as the media worker leaves it."""

    class Meta:
        model = Media

    owner = factory.SubFactory(UserFactory)
    kind = Media.Kind.IMAGE
    status = Media.Status.READY
    width = 640
    height = 480
    blurhash = "LEHV6nWB2yk8pyo0adR*.7kCMdnj"
    variants = factory.LazyAttribute(
        lambda m: (
            {
                "original": {"path": f"media/test/{m.owner.username}-original.jpg", "width": 640, "height": 480},
                "thumbnail": {"path": f"media/test/{m.owner.username}-thumb.jpg", "width": 160, "height": 120},
            }
            if m.status == Media.Status.READY
            else {}
        )
    )


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    author = factory.SubFactory(UserFactory)
    content = factory.Sequence(lambda n: f"post number {n}")
    content_html = factory.LazyAttribute(lambda p: p.content)
    published_at = factory.LazyFunction(timezone.now)


class HashtagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hashtag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag{n}")


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    post = factory.SubFactory(PostFactory)
    author = factory.SubFactory(UserFactory)
    content = factory.Sequence(lambda n: f"comment {n}")
    content_html = factory.LazyAttribute(lambda c: c.content)


def busy_posts(user, n):
    """n posts of every shape by `user`: images with tags and hashtags (#busy), and quotes of a friend's post.

    Returns the friend. Used to show that list queries don't grow with the page.
    """
    from posts import services
    from tests.factories import UserFactory

    friend = UserFactory()
    original = services.post_create(
        author=friend, content_type="image", content="#orig", media_ids=[MediaFactory(owner=friend).pk]
    )
    for i in range(n):
        if i % 2:
            services.share_create(user=user, post_id=original.pk, content=f"quote {i} #busy @{friend.username}")
        else:
            services.post_create(
                author=user,
                content_type="image",
                content=f"#busy #n{i} @{friend.username}",
                media_ids=[MediaFactory(owner=user).pk, MediaFactory(owner=user).pk],
                tagged_user_ids=[UserFactory().pk],
            )
    return friend
