"""Benchmark the transactional outbox: `python manage.py bench_outbox [--writes 2000] [--backlog 20000]`.

Needs PostgreSQL (DATABASE_URL) and a real broker (CELERY_BROKER_URL: Redis or RabbitMQ). In one
run, printing one table, for the same transaction that queues one task:

- before the outbox: the task published in `transaction.on_commit` (`apply_async`), as services
  did before it;
- the outbox's fast path: `outbox.enqueue` (an insert in the transaction), then after the commit
  the publish (the row's delete runs on a thread of its own, batched: not timed);
- the outbox with the broker down: the breaker is open, so the commit only inserts the row (what
  a request pays during an outage);
- the relay: a backlog of `--backlog` due rows published by `outbox.relay()`, rows per second
  (how fast work left by an outage drains, in one process).

Each write is a transaction that updates one row of a table of the benchmark's own (the change,
like a like's counter; its commit waits for the disk, as a real write's does) and queues one task;
time.perf_counter around the whole `atomic()` block, commit and on_commit work included.
Tasks go to a queue of the benchmark's own (`bench.outbox`), which no worker consumes; it is
purged at the end, and the benchmark's rows are deleted.
"""

import time

from django.core.management.base import CommandError
from django.db import connection, transaction
from kombu import Queue

from socialsite import outbox
from socialsite.benchmarks import BenchmarkCommand, pct_ms
from socialsite.celery import app
from socialsite.models import OutboxMessage

QUEUE = "bench.outbox"
DOWN_QUEUE = "bench.outbox.down"  # rows written while "the broker is down": never published
TABLE = "bench_outbox_change"
TASK = "socialsite.tasks.relay_outbox"  # any registered task: nothing runs it here


class Command(BenchmarkCommand):
    help = "The outbox's cost per write against publishing after commit, and the relay's drain rate."

    def add_arguments(self, parser):
        parser.add_argument("--writes", type=int, default=2000, help="transactions timed per variant")
        parser.add_argument("--backlog", type=int, default=20_000, help="rows the relay drains")

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_outbox needs PostgreSQL: set DATABASE_URL=postgres://…")
        if app.conf.task_always_eager:
            raise CommandError("bench_outbox needs a broker: set CELERY_BROKER_URL (redis://… or amqp://…)")
        task = outbox._task(TASK)
        if OutboxMessage.objects.exists():
            raise CommandError("The outbox isn't empty; run this on a database nobody else is using.")
        writes = options["writes"]
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id int PRIMARY KEY, n bigint NOT NULL)")
            cursor.execute(f"INSERT INTO {TABLE} VALUES (1, 0) ON CONFLICT DO NOTHING")  # noqa: S608 -- a constant
        try:
            results = self.measure(task, writes, options["backlog"])
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
            OutboxMessage.objects.filter(queue__in=[QUEUE, DOWN_QUEUE]).delete()
            outbox.breaker.closed_at = 0.0
            self.purge()
        self.say()
        self.say(
            f"bench_outbox: {writes:,} one-task transactions per variant; broker {app.conf.broker_url.split(':')[0]}"
        )
        rows = [("variant", "p50", "p99", "rows left in the outbox")]
        for name, samples, left in results["writes"]:
            rows.append((name, pct_ms(samples, 50), pct_ms(samples, 99), f"{left:,}"))
        self.table(rows)
        self.say(f"published rows not yet deleted after the run: {results['left_published']:,}")
        drained, seconds = results["relay"]
        self.say(f"relay: {drained:,} due rows published in {seconds:.2f} s = {drained / seconds:,.0f} rows/s")

    def measure(self, task, writes, backlog):
        def change():
            with connection.cursor() as cursor:
                cursor.execute(f"UPDATE {TABLE} SET n = n + 1 WHERE id = 1")  # noqa: S608 -- a constant

        def direct():
            with transaction.atomic():
                change()
                transaction.on_commit(lambda: task.apply_async(queue=QUEUE))

        def through_outbox():
            with transaction.atomic():
                change()
                outbox.enqueue(task, queue=QUEUE)

        def broker_down():
            outbox.breaker.closed_at = time.monotonic() + 3600
            try:
                with transaction.atomic():
                    change()
                    outbox.enqueue(task, queue=DOWN_QUEUE)
            finally:
                outbox.breaker.closed_at = 0.0

        variants = [
            ("publish after commit (before the outbox)", direct, QUEUE),
            ("outbox: insert, publish", through_outbox, QUEUE),
            ("outbox, broker down: insert only", broker_down, DOWN_QUEUE),
        ]
        self.step(f"{writes:,} rounds of the {len(variants)} variants, in turn (so drift hits them alike)")
        samples = {name: [] for name, _, _ in variants}
        for round_ in range(50 + writes):  # the first 50 warm up connections, the producer pool, plans
            for name, write, _ in variants:
                started = time.perf_counter()
                write()
                if round_ >= 50:
                    samples[name].append(time.perf_counter() - started)
        outbox._reaper().flush()  # the published rows' deletes, which run off the request's path
        results = {"writes": []}
        for name, _, queue in variants:
            left = OutboxMessage.objects.filter(queue=queue).count() if queue == DOWN_QUEUE else 0
            results["writes"].append((name, samples[name], left))
        results["left_published"] = OutboxMessage.objects.filter(queue=QUEUE).count()
        OutboxMessage.objects.filter(queue__in=[QUEUE, DOWN_QUEUE]).delete()
        self.done()

        self.step(f"relay: {backlog:,} rows left by an outage")
        with transaction.atomic():
            outbox.breaker.closed_at = time.monotonic() + 3600
            outbox.enqueue_many((task, (), QUEUE) for _ in range(backlog))
        OutboxMessage.objects.filter(queue=QUEUE).update(due_at=OutboxMessage.objects.order_by("id")[0].created_at)
        outbox.breaker.closed_at = 0.0
        started = time.perf_counter()
        drained = outbox.relay()
        results["relay"] = (drained, time.perf_counter() - started)
        self.done()
        return results

    def purge(self):
        with app.connection_for_write() as conn:
            Queue(QUEUE).bind(conn.default_channel).purge()
