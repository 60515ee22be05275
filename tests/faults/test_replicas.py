"""Read replicas against a real streaming replica: a private primary, a hot standby made from it
with pg_basebackup -R, and two Daphnes pointed at both (DATABASE_URL, DATABASE_REPLICA_URLS)
sharing one cache (the test's Redis).

Where a read came from is seen in the answer: with the replica's replay paused
(pg_wal_replay_pause()), a post's text is changed on the primary only, so the replica still has
the old text. Nothing in the web processes is patched.
"""

import subprocess
import time

import psycopg
import pytest
import requests
from django.db import connection

from tests.conftest import require
from tests.e2e.conftest import register_and_login, wait_until
from tests.faults import postgres

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(180)]

MAX_LAG = 5  # REPLICA_MAX_LAG_SECONDS of the Daphnes
PIN = 2  # REPLICA_READ_YOUR_WRITES_SECONDS
CHECK = 0.5  # REPLICA_CHECK_SECONDS
RETRY = 1  # REPLICA_RETRY_SECONDS
DATABASE = "socialsite"


@pytest.fixture
def streaming_pair():
    """(primary, replica), the replica streaming; both stopped by PID and their files removed."""
    require(connection.vendor == "postgresql", "the schema is copied from this run's PostgreSQL test database")
    require(
        postgres.available(), f"PostgreSQL's server binaries are not in {postgres.BIN} (apt-get install postgresql)"
    )
    base = postgres.base_dir()
    servers = []
    try:
        primary = postgres.PostgresServer.primary(base)
        servers.append(primary)
        primary.execute(f"CREATE DATABASE {DATABASE}")
        replica = postgres.PostgresServer.replica_of(primary)
        servers.append(replica)
        yield primary, replica
    finally:
        for server in reversed(servers):
            server.close()
        postgres.remove(base)


def load_schema(primary):
    """The migrated schema (and the rows migrations made) of this test run's database, copied
    into the private primary: the same migrations, without their 10 s of `migrate`."""
    conf = connection.settings_dict
    dump = subprocess.Popen(
        [
            *(postgres.BIN / "pg_dump", "--no-owner", "--no-privileges", "-h", conf["HOST"] or "127.0.0.1"),
            *("-p", str(conf["PORT"] or 5432), "-U", conf["USER"] or "postgres", conf["NAME"]),
        ],
        stdout=subprocess.PIPE,
    )
    subprocess.run(
        [postgres.BIN / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", primary.url(DATABASE)],
        stdin=dump.stdout,
        stdout=subprocess.DEVNULL,
        check=True,
        timeout=120,
    )
    assert dump.wait(60) == 0


def caught_up(primary, replica):
    """The replica has replayed everything the primary had written when asked."""
    position = primary.query("SELECT pg_current_wal_insert_lsn()::text")
    return replica.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (position,))


def set_text(primary, post_id, text):
    with primary.connect(DATABASE) as db:
        db.execute(
            "UPDATE posts_post SET content = %s, content_html = %s, updated_at = now() WHERE id = %s",
            (text, f"<p>{text}</p>", post_id),
        )


def diverge(primary, replica, post_id, old, new):
    """The replica shows `old` (replay paused right after it), the primary `new`. The last replayed
    transaction is a moment old, so the replica's lag starts near 0: it is at most the time since
    the monotonic time returned, the moment before that transaction."""
    before = time.monotonic()
    set_text(primary, post_id, old)
    assert wait_until(lambda: caught_up(primary, replica), timeout=10)
    replica.query("SELECT pg_wal_replay_pause()")
    set_text(primary, post_id, new)
    return before


def text_of(daphne, account, post_id):
    response = requests.get(f"{daphne.url}/api/v1/posts/{post_id}", headers=account.auth, timeout=15)
    assert response.status_code == 200, response.text
    return response.json()["content"]


def contents(daphne, account, author):
    response = requests.get(f"{daphne.url}/api/v1/users/{author.id}/posts", headers=account.auth, timeout=15)
    assert response.status_code == 200, response.text
    return [post["content"] for post in response.json()["results"]]


def feed(daphne, account):
    response = requests.get(f"{daphne.url}/api/v1/feed", headers=account.auth, timeout=15)
    assert response.status_code == 200, response.text
    return [post["content"] for post in response.json()["results"]]


def test_reads_go_to_the_replica_unless_stale_for_the_reader_and_survive_its_stop(
    streaming_pair, start_daphne, private_redis
):
    primary, replica = streaming_pair
    load_schema(primary)
    env = {
        "DATABASE_URL": primary.url(DATABASE),
        "DATABASE_REPLICA_URLS": replica.url(DATABASE),
        "REDIS_URL": private_redis.url(0),  # the cache where writers are pinned, shared by both
        "CELERY_BROKER_URL": "",  # tasks in process: no broker to share with other tests
        "REPLICA_MAX_LAG_SECONDS": str(MAX_LAG),
        "REPLICA_READ_YOUR_WRITES_SECONDS": str(PIN),
        "REPLICA_CHECK_SECONDS": str(CHECK),
        "REPLICA_RETRY_SECONDS": str(RETRY),
    }
    web_1 = start_daphne(**env, PGAPPNAME="replicas-web-1")
    web_2 = start_daphne(**env, PGAPPNAME="replicas-web-2")
    ana = register_and_login(web_1.url)
    bo = register_and_login(web_2.url)
    created = requests.post(f"{web_1.url}/api/v1/posts", json={"content": "hello"}, headers=ana.auth, timeout=15)
    assert created.status_code == 201, created.text
    post_id = created.json()["id"]
    followed = requests.post(
        f"{web_2.url}/api/v1/users/{bo.id}/follows", json={"followed_user_id": ana.id}, headers=bo.auth, timeout=15
    )
    assert followed.status_code == 201, followed.text
    time.sleep(PIN)  # their writes pin them to the primary this long

    # Another user's reads come from the replica, in both processes.
    before = diverge(primary, replica, post_id, "replica has this", "primary has this")
    assert text_of(web_1, bo, post_id) == "replica has this"
    assert text_of(web_2, bo, post_id) == "replica has this"
    assert contents(web_2, bo, ana) == ["replica has this"]
    assert feed(web_1, bo) == ["replica has this"]  # the timeline's rows too
    # Read-your-writes: ana posts through one process and reads through the other.
    mine = requests.post(f"{web_1.url}/api/v1/posts", json={"content": "mine"}, headers=ana.auth, timeout=15)
    assert mine.status_code == 201, mine.text
    assert contents(web_2, ana, ana) == ["mine", "primary has this"]
    assert contents(web_1, bo, ana) == ["replica has this"]  # the replica lacks both: bo didn't write
    # "mine" is in bo's timeline (fanned out), not yet on the replica: his page shows it once it is.
    assert feed(web_2, bo) == ["replica has this"]
    observed = time.monotonic() - before
    print(f"replica read within {observed:.2f} s of the last replayed transaction")
    assert observed < MAX_LAG, "too slow to observe the replica within its lag limit"

    # Lagging past REPLICA_MAX_LAG_SECONDS (replay still paused): skipped, reads on the primary.
    assert wait_until(lambda: text_of(web_2, bo, post_id) == "primary has this", timeout=MAX_LAG + 10)
    assert time.monotonic() - before > MAX_LAG
    assert contents(web_1, bo, ana) == ["mine", "primary has this"]
    assert feed(web_1, bo) == ["mine", "primary has this"]
    replica.query("SELECT pg_wal_replay_resume()")

    # Caught up again: back on the replica.
    assert wait_until(lambda: caught_up(primary, replica), timeout=10)
    time.sleep(CHECK)  # the processes' last measurement (lagging) is due for renewal
    diverge(primary, replica, post_id, "replica again", "primary again")
    assert text_of(web_1, bo, post_id) == "replica again"
    replica.query("SELECT pg_wal_replay_resume()")

    # The replica stopped (fast shutdown: its connections end): every request still answers 2xx.
    replica.stop()
    answers = []
    for web in (web_1, web_2, web_1, web_2):
        answers.append(requests.get(f"{web.url}/api/v1/posts/{post_id}", headers=bo.auth, timeout=15))
        answers.append(requests.get(f"{web.url}/api/v1/users/{ana.id}/posts", headers=bo.auth, timeout=15))
        answers.append(requests.get(f"{web.url}/api/v1/feed", headers=bo.auth, timeout=15))
    assert [answer.status_code for answer in answers] == [200] * len(answers), [a.text for a in answers]
    slowest = max(answer.elapsed.total_seconds() for answer in answers)
    print(f"replica stopped: {len(answers)} answers 200, the slowest in {slowest:.2f} s")
    assert answers[0].json()["content"] == "primary again"
    after = requests.post(f"{web_2.url}/api/v1/posts", json={"content": "while down"}, headers=ana.auth, timeout=15)
    assert after.status_code == 201, after.text
    time.sleep(PIN)  # ana's pin past: bo's read below is one a replica would serve, were it up
    assert contents(web_1, bo, ana) == ["while down", "mine", "primary again"]

    # Started again: it catches up, and reads come back to it.
    replica.start()
    restarted = time.monotonic()
    assert wait_until(lambda: caught_up(primary, replica), timeout=20)
    diverge(primary, replica, post_id, "replica is back", "primary after")
    assert wait_until(lambda: text_of(web_2, bo, post_id) == "replica is back", timeout=RETRY + MAX_LAG)
    print(f"replica started: read from again {time.monotonic() - restarted:.2f} s after it accepted connections")
    # web_1's last probe may have been while it was down: it waits REPLICA_RETRY_SECONDS from then.
    assert wait_until(lambda: text_of(web_1, bo, post_id) == "replica is back", timeout=RETRY + MAX_LAG)
    replica.query("SELECT pg_wal_replay_resume()")
    with psycopg.connect(replica.url(DATABASE), autocommit=True) as db:
        names = {row[0] for row in db.execute("SELECT application_name FROM pg_stat_activity")}
    assert {"replicas-web-1", "replicas-web-2"} <= names
