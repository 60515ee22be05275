"""The read replicas' router (socialsite/replicas.py): where each read goes, decided for real.

The "replica" here is a second alias on this run's PostgreSQL test database: a server that isn't in
recovery has no lag, so the router takes it as a current replica. Which alias a query ran on is
what the router chose; that a replica's answers are its own (stale while its replay is paused),
lag and a stopped replica are tests/faults/test_replicas.py, against a real streaming replica.
"""

import copy
import json
import os

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection, connections, router, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils.functional import SimpleLazyObject
from prometheus_client import REGISTRY

from accounts.models import User
from socialsite import production, replicas
from socialsite.celery import app
from tests.conftest import require, settings_in_a_new_process
from tests.e2e.conftest import free_port
from tests.factories import UserFactory
from tests.faults import postgres

REPLICA = "replica_1"


@app.task(name="tests.socialsite.test_replicas.read_alias")
def read_alias():
    return router.db_for_read(User)


@pytest.fixture
def replica_alias(settings, django_db_setup, django_db_blocker):
    """add(alias, port=None): a replica alias on the test database (or on a port nobody listens on)."""
    require(connection.vendor == "postgresql", "DATABASE_URL is not PostgreSQL: replicas are PostgreSQL's")
    settings.DATABASE_ROUTERS = ["socialsite.replicas.ReplicaRouter"]
    settings.DATABASE_REPLICAS = []
    settings.REPLICA_CHECK_SECONDS = 0  # measured at every read: no test inherits another's
    added = []

    def add(alias=REPLICA, port=None, **changes):
        conf = copy.deepcopy(connections["default"].settings_dict)
        if port is not None:
            conf["PORT"] = port
        conf.update(changes)
        connections.settings[alias] = conf
        settings.DATABASE_REPLICAS = [*settings.DATABASE_REPLICAS, alias]
        added.append(alias)
        return alias

    with django_db_blocker.unblock():
        yield add
        for alias in added:
            wrapper = connections[alias]
            wrapper.close()
            if alias in wrapper._connection_pools:
                wrapper.close_pool()
            del connections[alias]
            del connections.settings[alias]


def get(user=None, method="get"):
    request = getattr(RequestFactory(), method)("/")
    request.user = AnonymousUser() if user is None else user
    return request


def test_outside_requests_everything_stays_on_the_primary(replica_alias):
    """Celery workers, beat, management commands and migrations have no request."""
    replica_alias()
    assert router.db_for_read(User) == "default"
    assert router.db_for_write(User) == "default"
    assert router.allow_migrate("default", "posts") is True
    assert router.allow_migrate(REPLICA, "posts") is False


def test_a_request_reads_from_the_replica_until_it_writes(replica_alias):
    replica_alias()
    with replicas.request_reads(get(UserFactory.build())):
        assert router.db_for_read(User) == REPLICA
        assert router.db_for_write(User) == "default"
        assert router.db_for_read(User) == "default"  # the rest of the request sees its write
    with replicas.request_reads(get()):
        assert router.db_for_read(User) == REPLICA  # anonymous


def test_transactions_write_methods_unknown_users_and_tasks_read_the_primary(replica_alias):
    replica_alias()
    with replicas.request_reads(get(UserFactory.build())):
        with transaction.atomic():
            assert router.db_for_read(User) == "default"
        assert read_alias.apply().get() == "default"  # an eager task, in the request's thread
        assert router.db_for_read(User) == REPLICA
    for method in ("post", "put", "patch", "delete"):
        with replicas.request_reads(get(UserFactory.build(), method)):
            assert router.db_for_read(User) == "default"
    # The session's user, not read yet: the session and the account come from the primary.
    request = get()
    request.user = SimpleLazyObject(AnonymousUser)
    with replicas.request_reads(request):
        assert router.db_for_read(User) == "default"
        assert not request.user.is_authenticated
        assert router.db_for_read(User) == REPLICA


def test_a_user_who_wrote_reads_the_primary_for_a_while_in_every_process(replica_alias):
    replica_alias()
    writer, poster, other = UserFactory.build(), UserFactory.build(), UserFactory.build()
    with replicas.request_reads(get(writer)):  # a GET that wrote
        router.db_for_write(User)
    with replicas.request_reads(get(poster, "post")):  # a POST, whatever it wrote (raw SQL passes no router)
        pass
    with replicas.request_reads(get(writer)):  # pinned through the shared cache
        assert router.db_for_read(User) == "default"
    with replicas.request_reads(get(poster)):
        assert router.db_for_read(User) == "default"
    with replicas.request_reads(get(other)):
        assert router.db_for_read(User) == REPLICA
    with replicas.request_reads(get(None, "post")):  # an anonymous write pins nobody
        router.db_for_write(User)
    with replicas.request_reads(get()):
        assert router.db_for_read(User) == REPLICA


def test_an_unreachable_replica_is_skipped_and_the_read_goes_to_the_primary(replica_alias):
    dead = replica_alias("replica_dead", port=free_port())
    with replicas.request_reads(get(UserFactory.build())):
        assert router.db_for_read(User) == "default"
    assert REGISTRY.get_sample_value("socialsite_db_replica_lag_seconds", {"alias": dead}) == float("inf")
    live = replica_alias()
    with replicas.request_reads(get(UserFactory.build())):
        assert router.db_for_read(User) == live  # the one that answers
    assert REGISTRY.get_sample_value("socialsite_db_replica_lag_seconds", {"alias": live}) == 0


def test_relations_across_the_primary_and_its_replicas_are_allowed(replica_alias):
    replica_alias()
    on_primary, on_replica = UserFactory.build(), UserFactory.build()
    on_primary._state.db, on_replica._state.db = "default", REPLICA
    assert router.allow_relation(on_primary, on_replica) is True


@pytest.mark.django_db(transaction=True)
def test_through_the_middleware_a_writer_reads_the_primary_and_others_the_replica(
    replica_alias, client_for, settings, post_by
):
    """The API as a client calls it: which connection each request's queries ran on."""
    replica_alias()
    settings.MIDDLEWARE = ["socialsite.replicas.ReplicaMiddleware", *settings.MIDDLEWARE]
    author, reader = UserFactory(), UserFactory()
    post_by(author, "hello")
    url = f"/api/v1/users/{author.pk}/posts"

    def queries(user, method="get", path=url, **kwargs):
        with (
            CaptureQueriesContext(connections[REPLICA]) as on_replica,
            CaptureQueriesContext(connections["default"]) as on_primary,
        ):
            response = getattr(client_for(user), method)(path, **kwargs)
        assert response.status_code in (200, 201), response.content
        return len(on_replica), len(on_primary)

    assert queries(reader)[0] > 0
    on_replica, _ = queries(author, "post", "/api/v1/posts", data={"content": "again"})
    assert on_replica == 0
    assert queries(author)[0] == 0  # read-your-writes
    assert queries(reader)[0] > 0


def database_settings(**env):
    """DATABASES, DATABASE_ROUTERS and MIDDLEWARE as a fresh process reads them from `env`."""
    result = settings_in_a_new_process(
        "[s.DATABASES, s.DATABASE_ROUTERS, s.MIDDLEWARE[0]]",
        env,
        drop=lambda name: name.startswith(("DATABASE_", "DB_", "REPLICA_")),
    )
    return result.returncode, result.stdout.strip().splitlines()[-1] if result.returncode == 0 else result.stderr


def test_each_replica_url_is_an_alias_with_the_primary_options_and_none_changes_nothing():
    primary, replica = "postgres://app@10.0.0.1:5432/social", "postgres://ro@10.0.0.2:5433/social"
    code, out = database_settings(DATABASE_URL=primary, DATABASE_REPLICA_URLS=replica, DB_POOL_MAX_SIZE="7")
    assert code == 0, out
    databases, routers, first_middleware = json.loads(out)
    default, replica_1 = databases["default"], databases["replica_1"]
    assert (replica_1["HOST"], replica_1["PORT"], replica_1["USER"]) == ("10.0.0.2", 5433, "ro")
    assert replica_1["OPTIONS"]["pool"] == {**default["OPTIONS"]["pool"], "timeout": 2.0}
    assert default["OPTIONS"]["pool"]["max_size"] == replica_1["OPTIONS"]["pool"]["max_size"] == 7
    assert replica_1["OPTIONS"]["options"] == default["OPTIONS"]["options"]
    assert replica_1["CONN_HEALTH_CHECKS"] is True and replica_1["CONN_MAX_AGE"] == 0
    assert replica_1["TEST"]["MIRROR"] == "default"  # a test run reads the primary's test database
    assert routers == ["socialsite.replicas.ReplicaRouter"]
    assert first_middleware == "socialsite.replicas.ReplicaMiddleware"
    # None set (this run, both modes): one database, no router, no middleware.
    if not os.environ.get("DATABASE_REPLICA_URLS"):
        assert list(django_settings.DATABASES) == ["default"]
        assert django_settings.DATABASE_ROUTERS == []
        assert "socialsite.replicas.ReplicaMiddleware" not in django_settings.MIDDLEWARE
    # Replicas of an SQLite file mean nothing: refused at start.
    code, out = database_settings(DATABASE_REPLICA_URLS=replica)
    assert code != 0 and "DATABASE_REPLICA_URLS needs DATABASE_URL to be PostgreSQL" in out


def test_make_serve_checks_each_replicas_connection_budget(replica_alias, monkeypatch):
    """A replica is a server of its own: `make serve` refuses to start over its max_connections too."""
    require(postgres.available(), f"PostgreSQL's server binaries are not in {postgres.BIN}")
    base = postgres.base_dir()
    small = postgres.PostgresServer(base, "small", settings=("max_connections=20",))
    try:
        postgres.initdb(small)
        small.start()
        replica_alias(port=small.port, NAME="postgres", USER="postgres", PASSWORD="", HOST="127.0.0.1")
        # 2 workers x 8 threads + 1 Daphne x 10 + 13 = 39: within the primary's limit, not within 20.
        for name, value in {"WEB_WORKERS": "2", "WEB_THREADS": "8", "DAPHNE_PROCESSES": "1"}.items():
            monkeypatch.setenv(name, value)
        with pytest.raises(SystemExit, match="total 39 > the read replica replica_1's max_connections 20"):
            production.main(["--port", str(free_port())])
    finally:
        small.close()
        postgres.remove(base)
