"""The fault suite's engines do what the fault tests rely on.

A SIGKILL reaches every process an engine started (for RabbitMQ: beam.smp under the shell
script), and a restart on the same port and data keeps what the engine acknowledged: Redis
writes (append-only file, fsync always) and RabbitMQ persistent messages in durable queues.
"""

import pytest
import redis
from celery import Celery
from kombu import Connection, Exchange, Queue

from tests.faults.engines import group_members, port_open

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]


def assert_crashed(engine, pid):
    """Everything in the engine's process group died and its port closed."""
    assert not engine.alive
    assert group_members(pid) == []
    assert not port_open(engine.port)


def test_redis_kill_and_restart_keep_acknowledged_writes(private_redis):
    client = private_redis.client(db=3)
    client.set("fault:key", "kept")
    for i in range(200):  # a broker's queue is a list; each push is answered after its fsync
        client.lpush("fault:queue", i)
    client.close()
    port, pid = private_redis.port, private_redis.pid

    private_redis.kill()
    assert_crashed(private_redis, pid)
    private_redis.start()

    assert (private_redis.port, private_redis.starts) == (port, 2)
    assert private_redis.pid != pid
    client = private_redis.client(db=3)
    assert client.get("fault:key") == b"kept"
    assert client.llen("fault:queue") == 200
    client.close()


def test_rabbitmq_kill_and_restart_keep_persistent_messages(private_rabbitmq):
    node = private_rabbitmq
    exchange = Exchange("faults", type="direct", durable=True)
    durable = Queue("faults-durable", exchange, routing_key="durable", durable=True)
    quorum = Queue("faults-quorum", exchange, routing_key="quorum", queue_arguments={"x-queue-type": "quorum"})
    # Neither durable nor persistent: a node that really went down forgets it.
    transient = Queue("faults-transient", exchange, routing_key="transient", durable=False)
    sent = [f"message-{i}" for i in range(50)]
    with Connection(node.url(), transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer()
        for queue in (durable, quorum, transient):
            queue(connection.default_channel).declare()
        node.sync_registries()  # as if the quorum queue had been declared minutes ago
        for body in sent:  # each publish returns once the broker confirmed it
            producer.publish(body, exchange=exchange, routing_key="durable", delivery_mode="persistent")
            producer.publish(body, exchange=exchange, routing_key="quorum", delivery_mode="persistent")
        producer.publish("lost", exchange=exchange, routing_key="transient", delivery_mode="transient")
    pid, vhost = node.pid, node.vhost

    node.kill()
    assert_crashed(node, pid)  # beam.smp too, not only the rabbitmq-server shell script
    node.start()

    assert node.vhost == vhost and node.is_up()
    with Connection(node.url()) as connection:
        for queue in (durable, quorum):
            bound = queue(connection.default_channel)
            received = []
            while (message := bound.get(no_ack=True)) is not None:
                received.append(message.payload)
            assert received == sent, queue.name
        with pytest.raises(connection.channel_errors):  # 404 NOT_FOUND: the transient queue is gone
            transient(connection.channel()).queue_declare(passive=True)


@pytest.fixture(params=["private_redis", "private_rabbitmq"])
def broker_url(request):
    """A private broker's URL; requested before start_worker, so it outlives the worker."""
    engine = request.getfixturevalue(request.param)
    return engine.url(1) if request.param == "private_redis" else engine.url()


def test_worker_kill_then_restart_consumes_what_was_sent_while_down(broker_url, service_env, start_worker):
    worker = start_worker({**service_env, "CELERY_BROKER_URL": broker_url})
    assert worker.pool_pids(), "a prefork worker has a pool child"
    pid = worker.pid

    worker.kill()
    assert not worker.alive and group_members(pid) == []  # the pool child died with it
    # An explicit connection: Celery reads CELERY_BROKER_URL from the environment before any
    # app's broker_url, so a Celery app in this process would publish to the shared broker.
    # declare=[]: the worker declared its queues, with whatever arguments the settings give them.
    with Connection(broker_url) as connection:
        sender = Celery("faults-sender")
        result = sender.send_task("feeds.tasks.sync_tiers", queue="fanout_low", connection=connection, declare=[])
    worker.start()

    worker.wait_for(lambda: f"{result.id}] succeeded" in worker.output(since_start=True), "the task sent while down")
    assert worker.starts == 2


def test_beat_starts_and_restarts(service_env, private_redis, start_beat):
    beat = start_beat({**service_env, "CELERY_BROKER_URL": private_redis.url(1)})
    pid = beat.pid
    beat.kill()
    assert group_members(pid) == []
    beat.start()  # the same schedule file: a crashed beat reopens it
    assert beat.alive and beat.starts == 2


def test_paused_redis_answers_nothing_until_resumed(private_redis):
    client = private_redis.client(socket_timeout=0.5)
    private_redis.pause()
    assert private_redis.alive and not private_redis.is_up()
    with pytest.raises(redis.TimeoutError):
        client.ping()
    private_redis.resume()
    assert private_redis.is_up()
    client.close()
