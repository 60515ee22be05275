"""The embedded default runs the beat schedule in the web process: under `make run` trends were
always empty, because nothing ran the periodic tasks (issue 16)."""

import uuid

import pytest
import requests

from tests.e2e.conftest import register_and_login, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]


def test_trends_appear_with_no_broker_and_no_worker(start_daphne):
    # No broker: tasks run in-process and socialsite.serve runs beat itself (also on PostgreSQL).
    daphne = start_daphne(CELERY_BROKER_URL="", EMBEDDED_BEAT="true", TRENDS_COMPUTE_SECONDS="1")
    tag = f"tea{uuid.uuid4().hex[:8]}"
    for _ in range(3):  # TRENDS_MIN_AUTHORS
        author = register_and_login(daphne.url)
        response = requests.post(
            f"{daphne.url}/api/v1/posts", json={"content": f"a cup of #{tag}"}, headers=author.auth, timeout=15
        )
        assert response.status_code == 201, response.text

    def trending():
        rows = requests.get(f"{daphne.url}/api/v1/trends", params={"limit": 50}, timeout=15).json()["results"]
        return tag in [row["name"] for row in rows]

    assert wait_until(trending, timeout=30), daphne.process.output()[-3000:]
