"""Fixtures for fault tests: engines of the test's own, which it may kill, and Celery on them.

private_redis     a redis-server per test (starts in ~50 ms), append-only and fsynced.
private_rabbitmq  one RabbitMQ node per session (a start takes 5-10 s on 2 cores), with a fresh vhost
                  per test as its default, so tests never see each other's queues; a test that
                  killed or stopped the node gets it back running at the next test's start.
start_worker      start_worker(env, **options) -> a started Celery worker (engines.worker options).
start_beat        start_beat(env, **options) -> a started Celery beat.

Services are stopped when the test ends, workers before the test database is flushed; their
logs are printed when the test failed. Every one has kill() (SIGKILL to its process group),
stop() (SIGTERM), start() on the same port and data, pause()/resume() (SIGSTOP/SIGCONT: hung)
and alive; Redis and RabbitMQ also is_up(), workers kill_pool() (the pool children only).

Pass the broker in env, e.g. {**service_env, "CELERY_BROKER_URL": private_rabbitmq.url()}. To
publish from the test process, use an explicit kombu Connection(url) (send_task(...,
connection=...)): Celery reads CELERY_BROKER_URL from the environment before any app's
broker_url, so an app here would publish to the shared broker. Before killing RabbitMQ seconds
after quorum queues were declared, call private_rabbitmq.sync_registries() (see there).
"""

import shutil
import uuid

import pytest

from tests.conftest import require
from tests.e2e.conftest import service_env, spawn, start_daphne  # noqa: F401 - fixtures, for fault tests here
from tests.faults import engines


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"faults_report_{report.when}", report)


def _require_redis():
    require(shutil.which("redis-server"), "redis-server is not installed (apt-get install redis-server)")


def _require_rabbitmq():
    require(
        engines.RABBITMQ_SERVER.exists() and shutil.which("epmd"),
        "RabbitMQ is not installed (apt-get install rabbitmq-server)",
    )


@pytest.fixture
def fault_engines(request):
    """Every engine a test started, in order; their logs are printed if the test failed."""
    started = []
    yield started
    reports = [getattr(request.node, f"faults_report_{when}", None) for when in ("setup", "call")]
    if any(report is not None and report.failed for report in reports):
        for service in started:
            print(f"\n----- {service.name} (pid {service.pid}) -----\n{service.output()[-30000:]}")


@pytest.fixture
def private_redis(tmp_path, fault_engines):
    _require_redis()
    server = engines.RedisServer(tmp_path)
    fault_engines.append(server)
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def rabbitmq_node(tmp_path_factory):
    """Session-scoped: a node start costs 5-10 s on this machine; vhosts keep tests apart."""
    _require_rabbitmq()
    node = engines.RabbitNode(tmp_path_factory.mktemp("faults-rabbitmq"))
    yield node.start()
    node.close()


@pytest.fixture
def private_rabbitmq(rabbitmq_node, fault_engines):
    """The session's node, running, with a vhost of this test's own as the default of url()."""
    node = rabbitmq_node
    if not node.alive:  # an earlier test killed or stopped it
        node.start()
    vhost = node.add_vhost(f"test-{uuid.uuid4().hex[:8]}")
    node.vhost = vhost
    fault_engines.append(node)
    yield node
    node.vhost = "/"
    node.resume()  # in case the test left it paused
    if not node.alive:
        node.start()
    node.ctl("delete_vhost", vhost)


def _processes(tmp_path, fault_engines, make):
    started = []

    def start(env, **options):
        options.setdefault("name", f"{make.__name__}-{len(started) + 1}")
        process = make(env, tmp_path, **options)
        started.append(process)
        fault_engines.append(process)
        return process.start()

    return start, started


@pytest.fixture
def start_worker(tmp_path, transactional_db, fault_engines):
    """start_worker(env, name=..., pool="prefork", concurrency=1, queues=None, extra=()) -> started."""
    start, started = _processes(tmp_path, fault_engines, engines.worker)
    yield start
    for process in reversed(started):  # before transactional_db flushes the test database
        process.close()


@pytest.fixture
def start_beat(tmp_path, transactional_db, fault_engines):
    """start_beat(env, name=..., extra=()) -> a started beat, its schedule file under tmp_path."""
    start, started = _processes(tmp_path, fault_engines, engines.beat)
    yield start
    for process in reversed(started):
        process.close()


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory):
    """A 3-node Redis Cluster for the module (starting one takes ~2 s); see private_redis_cluster."""
    _require_redis()
    require(shutil.which("redis-cli"), "redis-cli is not installed (apt-get install redis-tools)")
    cluster = engines.RedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        yield cluster.start()
    finally:
        cluster.close()


@pytest.fixture
def private_redis_cluster(redis_cluster):
    """The module's Redis Cluster, emptied (FLUSHALL on every node) for this test."""
    redis_cluster.flush()
    return redis_cluster
