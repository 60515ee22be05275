import pytest
import yaml

pytestmark = pytest.mark.django_db

PATHS = {
    "/api/v1/posts": {"post"},
    "/api/v1/posts/{post_id}": {"get", "put", "patch", "delete"},
    "/api/v1/posts/{post_id}/likes": {"post"},
    "/api/v1/posts/{post_id}/likes/{user_id}": {"delete"},
    "/api/v1/posts/{post_id}/comments": {"get", "post"},
    "/api/v1/posts/{post_id}/comments/{comment_id}": {"patch", "delete"},
    "/api/v1/posts/{post_id}/shares": {"post"},
    "/api/v1/users/{user_id}/posts": {"get"},
    "/api/v1/hashtags/{name}/posts": {"get"},
}


def test_schema_lists_the_post_endpoints(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    for path, methods in PATHS.items():
        assert methods <= set(schema["paths"][path]), path
    post = schema["components"]["schemas"]["PostOutput"]["properties"]
    assert {"media_urls", "media", "liked_by_me", "shared_post", "content_html", "tagged_users"} <= set(post)
    assert "parent_comment_id" in schema["components"]["schemas"]["CommentCreateInputRequest"]["properties"]
