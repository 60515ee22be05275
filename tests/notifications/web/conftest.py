import pytest

from notifications import services


@pytest.fixture
def like(act):  # noqa: F811
    """like(user, post): through the posts service, its notification made after commit."""
    from posts import services as posts_services

    def make(user, post):
        return act(posts_services.like_create, user=user, post_id=post.pk)

    return make


@pytest.fixture
def comment(act):  # noqa: F811
    from posts import services as posts_services

    def make(author, post, content="nice"):
        return act(posts_services.comment_create, author=author, post_id=post.pk, content=content)

    return make


@pytest.fixture
def requests_from(act):  # noqa: F811
    """requests_from(actor, recipient, n): n separate lines (follow requests are never grouped)."""

    def make(actor, recipient, n):
        for i in range(n):
            act(
                services.notify,
                kind="follow_request",
                actor=actor,
                recipient_ids=[recipient.pk],
                key=f"follow_request:t{i}",
            )

    return make
