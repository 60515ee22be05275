import pytest

from posts import services
from tests.posts.factories import MediaFactory


@pytest.fixture
def make_post():
    """make_post(author, content, **fields) -> a post made through the service, as the API and the pages do."""

    def make(author, content="hello world", content_type="text", **fields):
        if content_type == "image" and "media_ids" not in fields:
            fields["media_ids"] = [MediaFactory(owner=author).pk]
        return services.post_create(author=author, content_type=content_type, content=content, **fields)

    return make


def post_url(post):
    return f"/api/v1/posts/{post.pk}"
