"""Database connections under load: one real Daphne on default settings, 64 concurrent API clients.

Daphne runs each request's sync code in a thread of its own. With persistent connections
(the old CONN_MAX_AGE=60) every such thread kept a PostgreSQL connection, so a dozen clients
ran PostgreSQL out of connections ("too many clients already", a 500) and the connections
stayed after the load. With the pool, a Daphne holds at most DB_POOL_MAX_SIZE connections
and a request waits for a free one; a wait past DB_POOL_TIMEOUT is a 503, not a 500.

Daphne's connections are told apart in pg_stat_activity by the application_name libpq takes
from PGAPPNAME. The load also runs on SQLite (no pool there: only the no-5xx part applies).
Long-polls, SSE streams and sockets must not keep a pooled connection while they wait, and the
settings are read as a fresh process reads them (docs/operations.md, "Database connections").
"""

import json
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection, transaction

from tests.conftest import require, settings_in_a_new_process
from tests.e2e.conftest import ready_socket, register_and_login, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

CLIENTS = 64
ACCOUNTS = 8  # signing up costs two password hashes each; clients share accounts
LOAD_SECONDS = 5
POOL_MAX_SIZE = 10  # DB_POOL_MAX_SIZE's default (README)
# Settings the test process may carry that would make Daphne's settings other than the defaults.
DB_VARIABLES = ("DB_POOL", "DB_POOL_MIN_SIZE", "DB_POOL_MAX_SIZE", "DB_POOL_TIMEOUT", "DB_PGBOUNCER")


def database_settings(**env):
    """settings.DATABASES["default"] as a fresh process reads it from DB_VARIABLES and `env`."""
    result = settings_in_a_new_process(
        "s.DATABASES['default']", env, drop=lambda name: name in {*DB_VARIABLES, "DATABASE_URL"}
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgresql_gets_a_pool_and_no_persistent_connections_sqlite_stays_as_it_was():
    url = "postgres://app@127.0.0.1:5432/socialsite"  # read, never connected to
    default = database_settings(DATABASE_URL=url)
    assert default["OPTIONS"]["pool"] == {"min_size": 1, "max_size": POOL_MAX_SIZE, "timeout": 10.0}
    assert default["CONN_MAX_AGE"] == 0  # Django refuses a pool with persistent connections
    assert default["CONN_HEALTH_CHECKS"] is True
    assert default["OPTIONS"]["options"] == "-c jit=off"
    assert not default.get("DISABLE_SERVER_SIDE_CURSORS")

    sized = database_settings(DATABASE_URL=url, DB_POOL_MIN_SIZE="2", DB_POOL_MAX_SIZE="4", DB_POOL_TIMEOUT="1.5")
    assert sized["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 4, "timeout": 1.5}
    assert "pool" not in database_settings(DATABASE_URL=url, DB_POOL="false")["OPTIONS"]
    # PgBouncer in transaction mode: no WITH HOLD cursors, no `options` startup parameter (refused).
    bouncer = database_settings(DATABASE_URL=url, DB_PGBOUNCER="true")
    assert bouncer["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert "options" not in bouncer["OPTIONS"] and "pool" in bouncer["OPTIONS"]

    sqlite = database_settings()
    assert sqlite["ENGINE"] == "django_prometheus.db.backends.sqlite3"  # Django's, timed for /metrics
    assert default["ENGINE"] == "django_prometheus.db.backends.postgresql"
    assert sqlite["OPTIONS"] == {
        "init_command": "PRAGMA journal_mode=WAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
    assert not sqlite.get("CONN_MAX_AGE")  # Django's default: a connection per request


def on_postgresql():
    return connection.vendor == "postgresql"


def backends(application_name):
    """(pid, state, wait_event_type) of each PostgreSQL connection opened under application_name."""
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL answers from the snapshot its first read took.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT pid, state, wait_event_type FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )
        return cursor.fetchall()


def run_clients(daphne, accounts, seconds):
    """CLIENTS threads, each reading the feed and posting until `seconds` pass: (threads, statuses,
    errors, latencies), filled in as the threads run."""
    statuses, errors, latencies, lock = Counter(), [], [], threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(number):
        account = accounts[number % len(accounts)]
        with requests.Session() as session:
            session.headers.update(account.auth)
            calls = 0
            while time.monotonic() < stop_at:
                started = time.monotonic()
                try:
                    if calls % 3 == 2:
                        response = session.post(
                            f"{daphne.url}/api/v1/posts",
                            json={"content_type": "text", "content": f"load {number}-{calls}"},
                            timeout=30,
                        )
                    else:
                        response = session.get(f"{daphne.url}/api/v1/feed", timeout=30)
                except requests.RequestException as exc:
                    with lock:
                        errors.append(repr(exc))
                    continue
                finally:
                    calls += 1
                with lock:
                    latencies.append(time.monotonic() - started)
                    statuses[response.status_code] += 1
                    if response.status_code >= 500:
                        errors.append(f"{response.status_code} {response.text[:300]}")

    threads = [threading.Thread(target=client, args=(number,)) for number in range(CLIENTS)]
    for thread in threads:
        thread.start()
    return threads, statuses, errors, latencies


@pytest.fixture
def default_env(service_env):
    """Daphne's environment with the database settings left at their defaults."""
    for name in DB_VARIABLES:
        service_env.pop(name, None)
    return service_env


def test_64_clients_on_default_settings_get_no_5xx_and_daphne_holds_at_most_the_pool(default_env, start_daphne):
    app_name = f"e2e-daphne-{uuid.uuid4().hex[:8]}"
    daphne = start_daphne(PGAPPNAME=app_name)
    accounts = [register_and_login(daphne.url) for _ in range(ACCOUNTS)]

    threads, statuses, errors, latencies = run_clients(daphne, accounts, LOAD_SECONDS)
    peak = 0
    while any(thread.is_alive() for thread in threads):
        if on_postgresql():
            peak = max(peak, len(backends(app_name)))
        time.sleep(0.1)
    for thread in threads:
        thread.join()

    served = sum(statuses.values())
    latencies.sort()
    print(
        f"{served} calls by {CLIENTS} clients in {LOAD_SECONDS} s: {dict(statuses)}; "
        f"latency median {latencies[len(latencies) // 2]:.2f} s, max {latencies[-1]:.2f} s; peak connections {peak}"
    )
    assert not errors, f"{len(errors)} failed calls of {served + len(errors)}, e.g. {errors[:5]}"
    assert served >= CLIENTS, dict(statuses)
    assert set(statuses) <= {200, 201}, dict(statuses)
    if not on_postgresql():
        return  # SQLite: no pool, nothing to count
    held = backends(app_name)
    assert held, "no connection under Daphne's application_name: the count below would prove nothing"
    assert peak <= POOL_MAX_SIZE and len(held) <= POOL_MAX_SIZE, (peak, held)
    # Each one is back in the pool: none is still inside a request's transaction.
    assert all(state == "idle" for _, state, _ in held), held


def test_open_long_polls_streams_and_sockets_do_not_keep_pooled_connections(default_env, start_daphne):
    """These stay open for seconds to minutes. One that kept its pooled connection while it waits
    would take it from every other request, and POOL_MAX_SIZE of them would starve Daphne."""
    daphne = start_daphne()
    account = register_and_login(daphne.url)
    listeners = POOL_MAX_SIZE + 2
    with ThreadPoolExecutor(listeners) as executor:
        # A poll waits 15 s, past DB_POOL_TIMEOUT's 10, so a starved request would fail meanwhile.
        polls = [
            executor.submit(
                requests.get, f"{daphne.url}/api/v1/notifications/poll?timeout=15", headers=account.auth, timeout=60
            )
            for _ in range(listeners)
        ]
        # A reconnecting stream (Last-Event-ID) reads the database before it waits for events.
        headers = {**account.auth, "Last-Event-ID": str(uuid.uuid4())}
        streams = [
            requests.get(f"{daphne.url}/api/v1/notifications/stream", headers=headers, stream=True, timeout=30)
            for _ in range(listeners)
        ]
        sockets = [ready_socket(daphne, account) for _ in range(listeners)]
        try:
            assert [stream.status_code for stream in streams] == [200] * listeners
            time.sleep(2)  # the polls are past their database reads and waiting for events
            response = requests.get(f"{daphne.url}/api/v1/feed", headers=account.auth, timeout=30)
            assert response.status_code == 200, response.text
        finally:
            for open_one in (*streams, *sockets):
                open_one.close()
        assert [poll.result().status_code for poll in polls] == [200] * listeners


def test_a_request_that_waits_past_the_pool_timeout_gets_a_503_with_retry_after(start_daphne):
    require(on_postgresql(), "DATABASE_URL not set: the connection pool is PostgreSQL's")
    app_name = f"e2e-daphne-{uuid.uuid4().hex[:8]}"
    daphne = start_daphne(PGAPPNAME=app_name, DB_POOL_MIN_SIZE="1", DB_POOL_MAX_SIZE="1", DB_POOL_TIMEOUT="1")
    account = register_and_login(daphne.url)

    def feed():
        return requests.get(f"{daphne.url}/api/v1/feed", headers=account.auth, timeout=30)

    with ThreadPoolExecutor(1) as executor:
        # The first request takes Daphne's only connection and waits on a lock this test holds.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE accounts_user IN ACCESS EXCLUSIVE MODE")
            held = executor.submit(feed)
            assert wait_until(lambda: any(wait == "Lock" for _, _, wait in backends(app_name)), timeout=15)

            response = feed()
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "database_unavailable"
            assert response.json()["error"]["message"]
            assert int(response.headers["Retry-After"]) >= 1
        # The lock is gone: the waiting request finishes, and the pool serves again.
        assert held.result().status_code == 200
    assert feed().status_code == 200
