"""Benchmark notifications: `python manage.py bench_notifications [--subscribers 100000] [--actions 200] [--reset]`.

Needs the real engines: PostgreSQL (DATABASE_URL), Redis (REDIS_URL: presence and the channel
layer) and a Celery broker (CELERY_BROKER_URL), because a real worker makes the notifications of
the latency run. Without them it stops with an error.

What it does, in one run, printing one table:

1. Builds its data in the configured database with COPY (users named `benchnotif_*`; `--reset`
   deletes a previous run's first): a celebrity author, `--subscribers` users who follow it with
   the bell on (1% of them turned `new_post` off, 0.5% mute the celebrity, 0.1% are
   deactivated: notify must skip those), two published posts by the celebrity, and a recipient
   with `--warmup` + `--actions` published posts and an actor who will like them.
   The touched tables are vacuumed and analyzed, so every run starts from the same state.
2. Bulk: marks `--online` of the subscribers online (presence, as an open socket does) and runs
   in this process what one worker does for the celebrity's post, one step after the other:
   `notifications.services.on_post_published` (the plan: the bell subscribers in batches of
   `--batch`, NOTIFICATION_BATCH by default, each read just before its task) and
   `on_new_post_batch` for every batch (the body of
   the `on_new_post_batch` task: re-check the post and the follows, then `notify`, which filters
   the recipients, bulk-inserts the rows and sends `notification.new` to those online after
   commit), then waits until those events have left for Redis. Notifications/s = rows made /
   that whole time. Then every batch runs again, as a retried task would: it must add 0 rows.
   DEBUG is off for this part (no per-query bookkeeping), as in production.
3. Bulk through the real tasks (`--workers`, 2 by default; 0 skips it): starts that many Celery
   workers (`celery -A socialsite worker -Q notifications --pool solo`, real processes on the same
   database, Redis and broker, with NOTIFICATION_BATCH = `--batch`) and queues
   `notifications.tasks.on_post_published` for the second post: one worker runs the plan and
   queues one `on_new_post_batch` task per batch, and the workers share those. Timed from queueing
   to the last batch task's `succeeded` line in the workers' logs (read every 0.1 s); then the rows
   are checked. Notifications/s = rows / that time. Then it stops those workers.
4. Latency: starts one Daphne and one Celery worker (`celery -A socialsite worker -Q
   notifications,default,fanout_high,fanout_low --pool solo --concurrency 1`) as real processes
   on the same database, Redis and broker, stops them at the end (also after an error or
   Ctrl-C). The recipient holds a socket (bearer JWT, as a mobile app). The actor likes one of
   the recipient's posts per action over HTTP (`POST /api/v1/posts/<id>/likes`) at `--rate` per
   second (open loop: the schedule doesn't wait for replies): the like commits, its receiver
   queues `notifications.tasks.on_like` on the broker, the worker runs it and `notify` sends
   `notification.new` through the channel layer to the recipient's socket on Daphne. A latency
   is the time from sending the request to reading the `notification.new` for that post on the
   socket (both in this process, one clock). Warm-up actions are not counted; what has not
   arrived 15 s after the last action counts as lost.

`--compare-rows` runs, after the data, only this instead of 2-4: how `notify` builds the Notification
objects of the recipients who are online (for their `notification.new`) two ways, interleaved in
one run: as it does (`services._rows_from`, `CURRENT_ROWS`) and the other way (`OTHER_ROWS`).
Timed: that building alone for the rows of one real notify call with a whole batch online, and
the whole `notify` (insert, presence, objects, events drained) for one batch of `--batch`
subscribers with `--online` of them online, and with all of them online (a fresh key each call,
so every call inserts). Needs `--subscribers` ≥ 2 × `--batch` (two batches, their own presence).

Percentiles are nearest-rank, as in bench_feed and bench_chat. The data set is a function of the
sizes; nothing is random but the ids.
"""

import asyncio
import contextlib
import gc
import json
import math
import os
import re
import time
import urllib.error
import urllib.request
import uuid
from unittest import mock

from django.conf import settings
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.test.utils import override_settings
from django.utils import timezone

from accounts.benchmarks import UNUSABLE_PASSWORD, insert_accounts
from accounts.models import Follow, Mute, Profile, User
from notifications import services
from notifications.models import Bell, Notification, Preferences
from notifications.selectors import notification_payload
from posts.models import Like, Post
from socialsite.benchmarks import (
    BenchmarkCommand,
    Processes,
    copy_rows,
    machine_line,
    mark,
    ms,
    open_socket,
    pct_ms,
    percentile,
    process_env,
    require_postgres_and_redis,
)
from socialsite.realtime import presence

PREFIX = "benchnotif_"
RATE_TARGET = 20_000  # notifications/s, bulk, one worker
LATENCY_TARGET = 1.0  # p99 action → notification.new on the recipient's socket, seconds
QUEUES = ("notifications", "default", "fanout_high", "fanout_low")
LOST_AFTER = 15  # seconds after the last action
WORKERS_TIMEOUT = 60  # seconds, + 1 s per 1,000 subscribers, for the bulk run through the workers
POLL_SECONDS = 0.1  # how often that run reads the workers' logs
BATCH_DONE = re.compile(r"notifications\.tasks\.on_new_post_batch\[[^\]]+\] succeeded")  # Celery's INFO line
LOG_CHARS = 10_000_000
# Subscribers notify must skip: (every, offset) over the subscriber number.
TYPE_OFF = (100, 7)  # Preferences.new_post = False
MUTED = (200, 13)  # mute the celebrity
DEACTIVATED = (1000, 29)  # is_active = False


def _every(number, rule):
    every, offset = rule
    return number % every == offset


def _pickled_rows(inserted, values, related):
    """What notify did before: copies of one template made through the pickle protocol
    (Model.__getstate__, then what Model.__setstate__ does without its version check)."""
    order = [field.attname for field in Notification._meta.concrete_fields]
    template = Notification.from_db(connection.alias, order, [values.get(name) for name in order])
    for name, obj in related.items():
        if obj is not None:
            getattr(Notification, name).field.set_cached_value(template, obj)
    rows = []
    for pk, recipient_id in inserted:
        state = template.__getstate__()  # its own copy of _state and of the related objects' cache
        state["id"], state["recipient_id"] = uuid.UUID(str(pk)), uuid.UUID(str(recipient_id))
        row = Notification.__new__(Notification)
        row.__dict__.update(state)
        rows.append(row)
    return rows


# What notify does (services._rows_from), and the other way, for --compare-rows.
CURRENT_ROWS = "plain Notification(**values)"
OTHER_ROWS = ("pickle-protocol copies of one template", _pickled_rows)


def drain_events():
    """Wait until the events queued after commit in this process have left for Redis (a sender
    thread sends them; socialsite/realtime/events.py)."""
    from socialsite.realtime import events

    sender = events._sender
    if sender is None:
        return
    while True:
        try:
            sender.drain()
            return
        except TimeoutError:  # more than its 5 s: keep waiting
            continue


def like_over_http(base_url, token, post_id):
    """POST /api/v1/posts/<id>/likes as the actor. -> (sent at, HTTP status or None, seconds to the response)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(  # noqa: S310 -- a fixed local http URL
        f"{base_url}/api/v1/posts/{post_id}/likes",
        data=b"",
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    began = time.perf_counter()
    try:
        with opener.open(request, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = None
    return began, status, time.perf_counter() - began


class Command(BenchmarkCommand):
    help = "Notifications: bulk rate for a celebrity's bell subscribers, and action → socket latency through a real worker."

    def add_arguments(self, parser):
        parser.add_argument("--subscribers", type=int, default=100_000, help="The celebrity's bell subscribers.")
        parser.add_argument(
            "--batch", type=int, default=None, help="Subscribers per batch (default NOTIFICATION_BATCH)."
        )
        parser.add_argument(
            "--online", type=float, default=0.02, help="Fraction of subscribers marked online in the bulk run."
        )
        parser.add_argument(
            "--workers", type=int, default=2, help="Celery workers for the bulk run through the real tasks (0: skip)."
        )
        parser.add_argument("--actions", type=int, default=200, help="Timed likes in the latency run.")
        parser.add_argument("--warmup", type=int, default=10, help="Untimed likes first.")
        parser.add_argument("--rate", type=float, default=10.0, help="Likes per second.")
        parser.add_argument("--reset", action="store_true", help="Delete a previous run's benchnotif_* data first.")
        parser.add_argument(
            "--compare-rows",
            action="store_true",
            help="Only compare two ways notify can build its Notification objects, then stop.",
        )
        parser.add_argument("--repeats", type=int, default=30, help="--compare-rows: timed rounds per way.")

    # --- Entry ----------------------------------------------------------------------------------

    def handle(self, *args, **options):
        options["batch"] = options["batch"] or settings.NOTIFICATION_BATCH
        for name in ("subscribers", "batch", "actions"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be at least 1.")
        if options["warmup"] < 0 or options["workers"] < 0 or options["rate"] <= 0 or not 0 <= options["online"] <= 1:
            raise CommandError(
                "--warmup and --workers can't be negative, --rate must be positive, --online is between 0 and 1."
            )
        if options["compare_rows"] and options["subscribers"] < 2 * options["batch"]:
            raise CommandError("--compare-rows needs --subscribers of at least 2 × --batch.")
        self.require_services()

        bench = User.objects.filter(username__startswith=PREFIX)
        if options["reset"]:
            self.step("deleting previous bench_notifications data")
            self.reset()
            self.done()
        elif bench.exists():
            raise CommandError(f"{PREFIX}* users exist already; run with --reset to replace them.")

        load_before = os.getloadavg()
        self.step(f"inserting {options['subscribers']:,} bell subscribers of a celebrity, and the latency users")
        data = self.build(options)
        self.done()

        if options["compare_rows"]:
            self.compare_rows(data, options, load_before)
            return
        results = {"bulk": self.bulk(data, options)}
        with Processes(self, "bench_notifications") as running:
            env = process_env()
            env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
            env["NOTIFICATION_BATCH"] = str(options["batch"])  # the workers' plan cuts the same batches
            if options["workers"]:
                self.step(f"starting {options['workers']} Celery workers (queue notifications)")
                workers = [
                    running.celery_worker(f"bulk-worker-{n + 1}", env, ("notifications",))
                    for n in range(options["workers"])
                ]
                running.wait_ready(workers)
                self.done(", ".join(worker.describe() for worker in workers))
                results["workers"] = self.bulk_through_workers(data, options, workers)
                running.check_alive("during the bulk run", workers)
                for worker in workers:
                    worker.stop()
            self.step("starting Daphne and a Celery worker")
            daphne = running.daphne("daphne", env)
            worker = running.celery_worker("celery-worker", env, QUEUES)
            running.wait_ready([daphne, worker])
            self.done(f"{daphne.describe()}, {worker.describe()}")
            self.step(
                f"latency: {options['warmup']} + {options['actions']} likes at {options['rate']:g}/s over HTTP,"
                " notification.new on the recipient's socket"
            )
            results["latency"] = asyncio.run(self.latency(daphne, data, options))
            self.done()
            running.check_alive("during the latency run", [daphne, worker])
        self.say(f"Processes stopped: {running.summary()}")
        results["latency"]["stored"] = Notification.objects.filter(
            recipient_id=data["recipient"], actor_id=data["actor"], type=Notification.Type.LIKE
        ).count()
        self.report(data, options, results, load_before, os.getloadavg())

    def require_services(self):
        require_postgres_and_redis(
            "bench_notifications",
            "the Daphne and the Celery worker it starts share the database",
            "presence and the Redis channel layer carry notification.new from the worker to the socket",
        )
        broker = settings.CELERY_BROKER_URL
        if settings.CELERY_TASK_ALWAYS_EAGER or not broker.startswith(("redis://", "rediss://")):
            raise CommandError(
                "bench_notifications needs a Celery broker: set CELERY_BROKER_URL=redis://… (a real worker makes"
                " the notifications of the latency run)."
            )
        import redis

        try:
            redis.Redis.from_url(broker, socket_connect_timeout=2, socket_timeout=2).ping()
        except redis.RedisError as exc:
            raise CommandError(f"The broker at CELERY_BROKER_URL is not reachable: {exc}")
        try:
            import websockets  # noqa: F401 -- a development dependency (requirements-dev.txt)
        except ImportError:
            raise CommandError("bench_notifications needs the websockets client: pip install -r requirements-dev.txt")

    # --- Data -----------------------------------------------------------------------------------

    def reset(self):
        bench = User.objects.filter(username__startswith=PREFIX).values("pk")
        alias = connection.alias
        Notification.objects.filter(Q(recipient__in=bench) | Q(actor__in=bench))._raw_delete(alias)
        Like.objects.filter(Q(user__in=bench) | Q(post__author__in=bench)).delete()
        Bell.objects.filter(Q(subscriber__in=bench) | Q(author__in=bench))._raw_delete(alias)
        Follow.objects.filter(Q(follower__in=bench) | Q(followed__in=bench))._raw_delete(alias)
        Mute.objects.filter(Q(muter__in=bench) | Q(muted__in=bench))._raw_delete(alias)
        Preferences.objects.filter(user__in=bench)._raw_delete(alias)
        Post.objects.filter(author__in=bench).delete()
        Profile.objects.filter(user__in=bench)._raw_delete(alias)
        try:  # one statement: the ORM's cascade sends a 100,000-id list to every table that refers to users
            with transaction.atomic():
                User.objects.filter(username__startswith=PREFIX)._raw_delete(alias)
        except IntegrityError:  # rows of some other table point at bench users: let the ORM cascade
            User.objects.filter(username__startswith=PREFIX).delete()

    def build(self, options):
        from accounts import tokens as jwt

        now = timezone.now()
        count = options["subscribers"]
        celebrity, recipient, actor = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        subscribers = [uuid.uuid4() for _ in range(count)]
        deactivated = {n for n in range(count) if _every(n, DEACTIVATED)}

        def user_row(pk, name, active=True):
            return (pk, UNUSABLE_PASSWORD, None, False, f"{PREFIX}{name}", "", "", None, False, active, now) + (
                None, False, now, None if active else now,
            )  # fmt: skip

        def profile_row(pk, followers=0, following=0):
            return (pk, "", "", "", {}, False, followers, following, now)

        users = [user_row(celebrity, "celebrity"), user_row(recipient, "recipient"), user_row(actor, "actor")]
        users += [user_row(pk, f"s{n}", n not in deactivated) for n, pk in enumerate(subscribers)]
        profiles = [profile_row(celebrity, followers=count), profile_row(recipient), profile_row(actor)]
        profiles += [profile_row(pk, following=1) for pk in subscribers]
        with connection.cursor() as cursor:  # this session only: bench data need no fsync per chunk
            cursor.execute("SET synchronous_commit TO off")
        insert_accounts(users, profiles)
        del users, profiles
        copy_rows(Follow, ["follower", "followed", "created_at"], ((pk, celebrity, now) for pk in subscribers))
        copy_rows(Bell, ["subscriber", "author", "created_at"], ((pk, celebrity, now) for pk in subscribers))
        muted = [pk for n, pk in enumerate(subscribers) if _every(n, MUTED)]
        copy_rows(Mute, ["muter", "muted", "created_at"], ((pk, celebrity, now) for pk in muted))
        type_off = [pk for n, pk in enumerate(subscribers) if _every(n, TYPE_OFF)]
        Preferences.objects.bulk_create([Preferences(user_id=pk, new_post=False) for pk in type_off])

        def post(author, text):
            return Post(author_id=author, content=text, content_html=f"<p>{text}</p>", published_at=now)

        with transaction.atomic():  # plain rows: the bell fan-out is what the bulk run times
            celebrity_posts = Post.objects.bulk_create(
                [post(celebrity, f"bench_notifications: celebrity post {n}") for n in (1, 2)]
            )
            liked = Post.objects.bulk_create(
                [
                    post(recipient, f"bench_notifications post {n}")
                    for n in range(options["warmup"] + options["actions"])
                ]
            )
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO DEFAULT")
            # Every run starts from the same state: no dead rows left by --reset, fresh statistics.
            for model in (User, Profile, Follow, Bell, Mute, Preferences, Post, Notification):
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        skipped = set(muted) | set(type_off) | {subscribers[n] for n in deactivated}
        users = User.objects.in_bulk([recipient, actor])
        return {
            "celebrity": celebrity,
            "recipient": recipient,
            "actor": actor,
            "subscribers": subscribers,
            "skipped": {"type off": len(type_off), "muted": len(muted), "deactivated": len(deactivated)},
            "expected": [pk for pk in subscribers if pk not in skipped],
            "post": celebrity_posts[0].pk,
            "second_post": celebrity_posts[1].pk,
            "liked_posts": [str(p.pk) for p in liked],
            "tokens": {pk: jwt.access_token(users[pk]) for pk in (recipient, actor)},
        }

    # --- Bulk: one worker's path for a celebrity's post -------------------------------------------

    def bulk(self, data, options):
        subscribers = data["subscribers"]
        every = round(1 / options["online"]) if options["online"] else 0
        online = {pk for n, pk in enumerate(subscribers) if every and n % every == 0}
        presence.set_online(online)
        post_id = str(data["post"])
        batch = options["batch"]
        self.step(
            f"bulk: on_post_published + on_new_post_batch for {len(subscribers):,} bell subscribers,"
            f" batches of {batch:,}, {len(online):,} online"
        )
        with override_settings(DEBUG=False, NOTIFICATION_BATCH=batch):
            started = time.perf_counter()
            plan_batches = services.on_post_published(post_id=post_id)
            plan = time.perf_counter() - started
            made, batches, batch_times = 0, [], []
            while True:  # the plan reads one batch ahead of its task, as the on_post_published task does
                began = time.perf_counter()
                subscriber_ids = next(plan_batches, None)
                plan += time.perf_counter() - began
                if subscriber_ids is None:
                    break
                batches.append(subscriber_ids)
                began = time.perf_counter()
                made += services.on_new_post_batch(post_id=post_id, subscriber_ids=subscriber_ids)
                batch_times.append(time.perf_counter() - began)
            drain_started = time.perf_counter()
            drain_events()
            drained = time.perf_counter() - drain_started
            seconds = time.perf_counter() - started
            self.done(f"({made:,} notifications in {seconds:.2f} s, {made / seconds:,.0f}/s)")

            self.step(f"bulk: every batch again, as retried tasks (on_new_post_batch × {len(batches):,})")
            began = time.perf_counter()
            again = sum(
                services.on_new_post_batch(post_id=post_id, subscriber_ids=subscriber_ids) for subscriber_ids in batches
            )
            drain_events()
            retry_seconds = time.perf_counter() - began
            self.done(f"({again:,} new)")
        stored = Notification.objects.filter(post_id=data["post"], type=Notification.Type.NEW_POST)
        events = stored.filter(recipient_id__in=online).count()  # notify announced each of these
        return {
            "batches": len(batches),
            "batch_sizes": [len(ids) for ids in batches],
            "plan": plan,
            "batch_times": batch_times,
            "drain": drained,
            "seconds": seconds,
            "made": made,
            "events": events,
            "online": len(online),
            "again": again,
            "retry_seconds": retry_seconds,
            "stored": stored.count(),
            "right_recipients": set(stored.values_list("recipient_id", flat=True)) == set(data["expected"]),
        }

    def bulk_through_workers(self, data, options, workers):
        """The celebrity's second post through the real tasks: `notifications.tasks.on_post_published`
        is queued on the broker; a worker runs the plan and queues one `on_new_post_batch` per batch;
        the workers share the batches. Timed from queueing to the last batch task's `succeeded` in
        the workers' logs (read every 0.1 s: counting rows that often would load the database)."""
        from notifications import tasks

        post_id = data["second_post"]
        batches = math.ceil(len(data["subscribers"]) / options["batch"])
        self.step(f"bulk through {len(workers)} Celery workers: the second post's bell subscribers, {batches:,} tasks")
        started = time.perf_counter()
        tasks.on_post_published.delay(str(post_id))
        deadline = started + WORKERS_TIMEOUT + len(data["subscribers"]) / 1000
        finished = 0
        while finished < batches and time.perf_counter() < deadline:
            time.sleep(POLL_SECONDS)
            finished = sum(len(BATCH_DONE.findall(worker.tail(chars=LOG_CHARS))) for worker in workers)
        seconds = time.perf_counter() - started
        recipients = set(
            Notification.objects.filter(post_id=post_id, type=Notification.Type.NEW_POST).values_list(
                "recipient_id", flat=True
            )
        )
        self.done(f"({finished:,} tasks, {len(recipients):,} notifications in {seconds:.2f} s)")
        return {
            "made": len(recipients),
            "seconds": seconds,
            "tasks": finished,
            "right_recipients": recipients == set(data["expected"]),
        }

    # --- Row building: the two ways notify can make its objects, side by side -------------------

    def compare_rows(self, data, options, load_before):
        batch, repeats = options["batch"], options["repeats"]
        post = Post.objects.select_related("author__profile").get(pk=data["post"])
        some = data["subscribers"][:batch]  # --online of them online
        every = round(1 / options["online"]) if options["online"] else 0
        presence.set_online([pk for n, pk in enumerate(some) if every and n % every == 0])
        everyone = data["subscribers"][batch : 2 * batch]  # all online
        presence.set_online(everyone)

        def call(recipients, key):
            services.notify(
                kind=Notification.Type.NEW_POST, actor=post.author, recipient_ids=recipients, key=key, post=post,
                payload={"excerpt": services._excerpt(post.content)},
            )  # fmt: skip
            drain_events()

        # The arguments of one real call with the whole batch online: what the building alone is timed on.
        seen = []
        real = services._rows_from
        with mock.patch.object(services, "_rows_from", lambda *args: seen.append(args) or real(*args)):
            call(everyone, "benchrows:arguments")
        inserted, values, related = seen[0]
        same = [[notification_payload(row) for row in way(inserted, values, related)] for way in (real, OTHER_ROWS[1])]
        cases = {
            f"build the objects alone ({len(inserted):,} rows)": lambda way, n: way(inserted, values, related),
            f"notify, {batch:,} recipients, {options['online']:.0%} online": lambda way, n: call(some, n),
            f"notify, {batch:,} recipients, all online": lambda way, n: call(everyone, n),
        }
        ways = {f"{CURRENT_ROWS} (notify's)": real, OTHER_ROWS[0]: OTHER_ROWS[1]}
        names = list(ways)
        samples = {(case, name): [] for case in cases for name in names}
        building = {(case, name): [] for case in cases for name in names}  # the time inside _rows_from
        # As socialsite/asgi.py does after start-up: what exists now lives to the end, so the
        # collector's full passes skip it and land on neither way by chance.
        gc.collect()
        gc.freeze()
        self.step(f"row building: {len(cases)} cases × {len(names)} ways, {repeats} rounds (+1 untimed), interleaved")
        with override_settings(DEBUG=False):
            for round_ in range(repeats + 1):
                for number, (case, run) in enumerate(cases.items()):
                    # Each round alternates which way goes first, so drift and warm caches hit both alike.
                    for name in names if round_ % 2 else reversed(names):
                        spent = []

                        def way(*args, build=ways[name], spent=spent):
                            began = time.perf_counter()
                            rows = build(*args)
                            spent.append(time.perf_counter() - began)
                            return rows

                        with mock.patch.object(services, "_rows_from", way):
                            began = time.perf_counter()
                            run(way, f"benchrows:{round_}:{number}:{names.index(name)}")
                            seconds = time.perf_counter() - began
                        if round_:
                            samples[case, name].append(seconds)
                            building[case, name].append(sum(spent))
        self.done()
        self.say()
        self.say("Notification row building (bench_notifications --compare-rows)")
        self.say(machine_line(load_before, os.getloadavg()))
        self.say(
            f"notify as on_new_post_batch calls it (new_post, the celebrity's post) on one batch of {batch:,} bell"
            f" subscribers ({batch - len(inserted):,} of them skipped), DEBUG off; both ways give the same"
            f" notification.new payloads: {'yes' if same[0] == same[1] else 'NO'}"
        )
        self.say()
        first, second = names
        rows = [("p50 of " + str(repeats), first, second, "difference"), None]
        for case in cases:
            a, b = (percentile(samples[case, name], 50) for name in names)
            rows.append((case, ms(a), ms(b), f"{(b - a) * 1000:+.2f} ms ({(b - a) / a:+.0%})"))
            if case.startswith("notify"):
                x, y = (percentile(building[case, name], 50) for name in names)
                share = f"{(y - x) * 1000:+.2f} ms ({(y - x) / a:+.1%} of the call)"
                rows.append(("  of which building the objects", f"{x * 1000:.2f} ms", f"{y * 1000:.2f} ms", share))
        self.table(rows)

    # --- Latency: action → notification.new through Daphne and a worker (asyncio; no ORM here) ---

    async def latency(self, daphne, data, options):
        recipient, actor = data["recipient"], data["actor"]
        posts = data["liked_posts"]
        total = len(posts)
        ws = await open_socket(daphne.ws_url, data["tokens"][recipient])
        arrived, sent, replies = {}, {}, {}
        wrong, duplicates, errors = [], [], []
        all_in = asyncio.Event()

        async def read():
            async for raw in ws:
                now = time.perf_counter()
                frame = json.loads(raw)
                event, payload = frame.get("event"), frame.get("data") or {}
                if event == "error":
                    errors.append(payload)
                if event != "notification.new" or payload.get("type") != Notification.Type.LIKE:
                    continue
                post_id = payload.get("post_id")
                if post_id in arrived:
                    duplicates.append(post_id)
                    continue
                if post_id not in posts or (payload.get("actor") or {}).get("id") != str(actor):
                    wrong.append(payload)
                    continue
                arrived[post_id] = now
                if len(arrived) == total:
                    all_in.set()

        async def act(post_id):
            began, status, seconds = await asyncio.to_thread(like_over_http, daphne.url, data["tokens"][actor], post_id)
            sent[post_id] = began
            replies[post_id] = (status, seconds)

        reader = asyncio.create_task(read())
        actions = []
        try:
            started = time.perf_counter()
            for number, post_id in enumerate(posts):
                pause = started + number / options["rate"] - time.perf_counter()
                if pause > 0:
                    await asyncio.sleep(pause)
                actions.append(asyncio.create_task(act(post_id)))
            await asyncio.gather(*actions)
            with contextlib.suppress(TimeoutError):  # what is missing by then counts as lost
                await asyncio.wait_for(all_in.wait(), LOST_AFTER)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await ws.close()
        timed = posts[options["warmup"] :]
        return {
            "latencies": [arrived[p] - sent[p] for p in timed if p in arrived],
            "timed": len(timed),
            "delivered": sum(p in arrived for p in timed),
            "warmup_delivered": sum(p in arrived for p in posts[: options["warmup"]]),
            "http": [replies[p][1] for p in timed],
            "statuses": sorted({str(replies[p][0]) for p in posts}),
            "created": sum(replies[p][0] == 201 for p in posts),
            "wrong": len(wrong),
            "duplicates": len(duplicates),
            "errors": errors,
            "seconds": time.perf_counter() - started,
        }

    # --- Report ---------------------------------------------------------------------------------

    def report(self, data, options, results, load_before, load_after):
        bulk, lat = results["bulk"], results["latency"]
        count, expected = len(data["subscribers"]), len(data["expected"])
        skipped = ", ".join(f"{n:,} {why}" for why, n in data["skipped"].items())
        self.say()
        self.say("Notifications benchmark (bench_notifications)")
        self.say(machine_line(load_before, load_after))
        self.say(
            f"data: {count:,} bell subscribers of {PREFIX}celebrity who follow it ({skipped}), two posts;"
            f" {PREFIX}actor likes {len(data['liked_posts']):,} posts of {PREFIX}recipient"
        )
        self.say(
            f"bulk: one worker's path in this process (DEBUG off): on_post_published, then on_new_post_batch ×"
            f" {bulk['batches']:,} (batches of {options['batch']:,}), {bulk['online']:,} subscribers online"
        )
        if options["workers"]:
            self.say(
                f"bulk through workers: the second post; notifications.tasks.on_post_published queued on the broker,"
                f" {options['workers']} Celery workers (solo, queue notifications) run it and the batch tasks it queues"
            )
        self.say(
            f"latency: 1 Daphne + 1 Celery worker (solo, queues {','.join(QUEUES)}; DEBUG=false, LOG_LEVEL=WARNING,"
            f" limits off); {options['warmup']} warm-up + {lat['timed']} timed likes at {options['rate']:g}/s"
            f" ({lat['seconds']:.1f} s)"
        )
        self.say()

        rate = bulk["made"] / bulk["seconds"] if bulk["seconds"] else 0
        right = bulk["made"] == expected == bulk["stored"] and bulk["right_recipients"]
        retry_ok = bulk["again"] == 0 and bulk["stored"] == bulk["made"]
        latencies = lat["latencies"]
        everything = lat["delivered"] == lat["timed"] and not (lat["wrong"] or lat["duplicates"] or lat["errors"])
        latency_ok = everything and bool(latencies) and percentile(latencies, 99) <= LATENCY_TARGET
        problems = [
            f"{lat[name]} {label}" for name, label in (("wrong", "unexpected"), ("duplicates", "twice")) if lat[name]
        ] + ([f"{len(lat['errors'])} error events"] if lat["errors"] else [])
        rows = [
            ("metric", "value", "target"),
            None,
            (
                "notifications/s, bulk, one worker (in process)",
                f"{rate:,.0f}/s ({bulk['made']:,} in {bulk['seconds']:.2f} s)",
                f"≥ {RATE_TARGET:,}/s: {mark(rate >= RATE_TARGET)}",
            ),
            (
                "  notifications made",
                f"{bulk['made']:,} of {count:,} subscribers, {bulk['stored']:,} stored",
                f"{expected:,}, the right ones: {mark(right)}",
            ),
            ("  plan (on_post_published)", ms(bulk["plan"]), ""),
            ("  per batch (on_new_post_batch), p50", pct_ms(bulk["batch_times"], 50), ""),
            ("  per batch (on_new_post_batch), p99", pct_ms(bulk["batch_times"], 99), ""),
            (
                "  notification.new to online subscribers",
                f"{bulk['events']:,} events, {ms(bulk['drain'])} to drain after the last batch",
                "",
            ),
            (
                "every batch again (retried tasks)",
                f"{bulk['again']:,} new rows in {bulk['retry_seconds']:.2f} s",
                f"0: {mark(retry_ok)}",
            ),
            *self.workers_rows(results.get("workers"), options, expected),
            ("like → notification.new on the socket, p50", pct_ms(latencies, 50), ""),
            (
                "like → notification.new on the socket, p99",
                pct_ms(latencies, 99),
                f"≤ {LATENCY_TARGET * 1000:,.0f} ms: {mark(latency_ok)}",
            ),
            (
                "notifications received on the socket",
                f"{lat['delivered']:,}/{lat['timed']:,}" + (f", {', '.join(problems)}" if problems else ""),
                f"all: {mark(everything)}",
            ),
            (
                "  like notifications stored for the recipient",
                f"{lat['stored']:,}/{len(data['liked_posts']):,}",
                "",
            ),
            (
                "  like HTTP response, p50 / p99",
                f"{pct_ms(lat['http'], 50)} / {pct_ms(lat['http'], 99)} (status {', '.join(lat['statuses'])})",
                "",
            ),
        ]
        self.table(rows)
        self.say()
        self.say(
            "Bulk: rows made / (plan + every batch + the events' drain), one process, one thread. Latency: HTTP"
            " request sent → notification.new read on the socket, both in this process; the client, Daphne, the"
            " worker, PostgreSQL and Redis share this machine."
        )

    @staticmethod
    def workers_rows(result, options, expected):
        if result is None:
            return []
        rate = result["made"] / result["seconds"] if result["seconds"] else 0
        right = result["made"] == expected and result["right_recipients"]
        return [
            (
                f"notifications/s, bulk, {options['workers']} Celery workers",
                f"{rate:,.0f}/s ({result['made']:,} in {result['seconds']:.2f} s; {result['tasks']:,} batch tasks,"
                f" queued → last done)" + ("" if right else f"; NOT the {expected:,} expected recipients"),
                f"≥ {RATE_TARGET:,}/s: {mark(right and rate >= RATE_TARGET)}",
            )
        ]
