"""/metrics' queue depths, read from brokers of the test's own: Redis (kombu's lists, priorities
included) and RabbitMQ (a passive declare), and a broker that doesn't answer."""

import time

import pytest
from kombu import Connection, Exchange, Queue

from socialsite import metrics
from socialsite.settings import TASK_QUEUES

pytestmark = pytest.mark.timeout(120)


def publish(url, counts, **options):
    """Put `counts[queue]` messages in each queue, as Celery's producer declares and routes them."""
    with Connection(url) as connection, connection.Producer() as producer:
        for name, count in counts.items():
            queue = Queue(name, Exchange(name), routing_key=name)
            for number in range(count):
                producer.publish({"n": number}, exchange=queue.exchange, routing_key=name, declare=[queue], **options)


def test_redis_queue_lengths_count_every_priority(private_redis):
    url = private_redis.url(db=3)
    publish(url, {"media": 2, "fanout_low": 1})
    publish(url, {"media": 3}, priority=6)  # another list of kombu's, same queue
    assert len(private_redis.client(db=3).keys("media*")) == 2
    found = metrics._broker_queue_lengths(url, TASK_QUEUES)
    assert found == {name: {"media": 5, "fanout_low": 1}.get(name, 0) for name in TASK_QUEUES}


def test_rabbitmq_queue_lengths_and_a_queue_never_declared(private_rabbitmq):
    url = private_rabbitmq.url()
    publish(url, {"default": 1, "search": 4})
    found = metrics._broker_queue_lengths(url, TASK_QUEUES)  # the others were never declared there
    assert found == {name: {"default": 1, "search": 4}.get(name, 0) for name in TASK_QUEUES}


def test_a_broker_that_does_not_answer_reads_as_down_quickly_and_is_asked_again_later(settings, private_redis):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    private_redis.pause()  # the port accepts, nothing answers: the worst case for a scrape
    settings.CELERY_BROKER_URL = private_redis.url(db=3)
    collector = metrics.ScrapeCollector()
    try:
        began = time.monotonic()
        assert collector.queue_lengths() is None
        assert time.monotonic() - began < 5 * metrics.BROKER_TIMEOUT
        assert collector.queue_lengths() is None  # cached: not asked again within the cache time
    finally:
        private_redis.resume()
    collector._queues = (0.0, None)  # as if QUEUE_CACHE_SECONDS had passed
    assert collector.queue_lengths() == dict.fromkeys(TASK_QUEUES, 0)
