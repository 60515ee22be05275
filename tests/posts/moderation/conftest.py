import pytest

from posts import services
from tests.accounts.admin.conftest import moderators_group  # noqa: F401  (the fixture, shared)
from tests.factories import UserFactory
from tests.passwords import _fast_password_hashing  # noqa: F401  (autouse)


@pytest.fixture
def author(db):
    return UserFactory()


@pytest.fixture
def reporter(db):
    return UserFactory()


@pytest.fixture
def moderator_user(db):
    """A superuser acting as moderator, as the admin entry points pass request.user."""
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def post(author):
    return services.post_create(author=author, content_type="text", content="something reportable")


@pytest.fixture
def comment(post, db):
    return services.comment_create(author=UserFactory(), post_id=post.pk, content="a reportable comment")
