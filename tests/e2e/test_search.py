"""Search and discovery end to end: real Daphne and a real Celery worker, driven over HTTP as a
mobile app would. Posts are found in any word form, a typo still finds a person, a burst of one
hashtag from distinct authors trends once the worker's beat task has run, suggestions show
friends of friends, and @mention autocomplete finds the new accounts once the worker indexed them."""

import uuid

import pytest
import requests

from tests.e2e.conftest import register_and_login, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def call(daphne, account, method, path, **kwargs):
    headers = account.auth if account is not None else {}
    response = requests.request(method, f"{daphne.url}/api/v1{path}", headers=headers, timeout=15, **kwargs)
    assert response.status_code < 400, (method, path, response.status_code, response.text)
    return response.json() if response.content else None


def test_search_trends_and_suggestions_over_http(daphne, celery_worker):
    from search import tasks

    ana, bo, cy, dee = (register_and_login(daphne.url) for _ in range(4))
    tag = f"burst{uuid.uuid4().hex[:8]}"
    fox = call(
        daphne, ana, "POST", "/posts", json={"content_type": "text", "content": f"the quick brown fox jumps #{tag}"}
    )
    for author in (bo, cy):
        call(daphne, author, "POST", "/posts", json={"content_type": "text", "content": f"me too #{tag}"})
    call(daphne, dee, "PATCH", "/users/me", json={"is_private": True})
    call(daphne, dee, "POST", "/posts", json={"content_type": "text", "content": "a private fox jumps"})

    # Word forms, and only what an anonymous caller may see.
    found = call(daphne, None, "GET", "/search", params={"query": "jumping fox"})["results"]
    assert [row["id"] for row in found] == [fox["id"]]
    # A typo in a username.
    typo = ana.username[:5] + ana.username[6:]
    people = call(daphne, bo, "GET", "/search", params={"query": typo, "type": "user"})["results"]
    assert people[0]["username"] == ana.username

    # Trends: the beat task, run by the real worker.
    tasks.compute_trends.delay()
    assert wait_until(
        lambda: tag in [row["name"] for row in call(daphne, None, "GET", "/trends", params={"limit": 50})["results"]],
        timeout=30,
    ), celery_worker.output()[-2000:]

    # Friends of friends: ana follows bo, bo follows cy.
    call(daphne, ana, "POST", "/users/me/follows", json={"followed_user_id": bo.id})
    call(daphne, bo, "POST", "/users/me/follows", json={"followed_user_id": cy.id})
    suggested = call(daphne, ana, "GET", "/users/me/suggestions")["results"]
    assert suggested[0]["user"]["id"] == cy.id
    assert (suggested[0]["mutual_count"], suggested[0]["mutuals"]) == (1, [bo.username])

    # @mention autocomplete: the worker's index_user tasks made the new accounts completable
    # (sign-up) and keep their follower counts: the one ana follows first, then cy (1 follower).
    def completed():
        params = {"query": "@E2E", "limit": 20}
        return [row["username"] for row in call(daphne, ana, "GET", "/search/autocomplete", params=params)["results"]]

    expected = [bo.username, cy.username, dee.username]
    assert wait_until(lambda: completed() == expected, timeout=30), completed()
