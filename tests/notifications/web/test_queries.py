"""/notifications/ runs a bounded number of queries whatever the number of lines and actors."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
# 8 today: session, user, the groups, their samples (actors and profiles joined), and the header's
# badges (notifications, messages, follow requests). The list alone (HTMX) skips the header: 4.
PAGE_MAX_QUERIES = 9
LIST_MAX_QUERIES = 4


@pytest.fixture
def busy(ana, post_by, like, comment, follow, dm, requests_from):
    """busy(n) -> n liked and commented posts of ana's (several actors each), follows, messages and single lines."""

    def make(n):
        fans = [UserFactory(username=f"fan{i}") for i in range(4)]
        for i in range(n):
            post = post_by(ana, content=f"post {i}")
            for fan in fans[: 1 + i % 4]:
                like(fan, post)
            comment(fans[i % 4], post, f"comment {i}")
        for fan in fans:
            follow(fan, ana)
        dm(fans[0], ana, "hi")
        dm(fans[1], ana, "hello")
        requests_from(fans[2], ana, n)

    return make


@pytest.mark.parametrize("n", [1, 15])
def test_the_list_runs_a_bounded_number_of_queries(client, ana, busy, n, django_assert_max_num_queries):
    busy(n)
    client.force_login(ana)
    with django_assert_max_num_queries(PAGE_MAX_QUERIES):
        response = client.get(reverse("notifications"))
    html = response.content.decode()
    assert html.count('<li class="notification') == min(20, 3 * n + 3)
    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        assert client.get(reverse("notifications"), **HTMX).status_code == 200
    if n > 6:  # a second page
        older = html.split('href="/notifications/?before=')[1].split('"')[0]
        with django_assert_max_num_queries(PAGE_MAX_QUERIES):
            assert client.get(f"/notifications/?before={older}").status_code == 200


def test_the_settings_page_is_bounded(client, ana, follow, django_assert_max_num_queries):
    from notifications import services

    for i in range(10):
        author = UserFactory(username=f"author{i}")
        follow(ana, author)
        services.bell_set(user=ana, author_id=author.pk, on=True)
    client.force_login(ana)
    with django_assert_max_num_queries(PAGE_MAX_QUERIES):
        html = client.get(reverse("notification_settings")).content.decode()
    assert html.count('class="user-row"') == 10
