"""Benchmark direct messages over the socket: `python manage.py bench_chat [--messages 500] [--sockets 5000] [--reset]`.

Needs the real engines: PostgreSQL (DATABASE_URL) and Redis (REDIS_URL), because the
shared Redis channel layer is what carries a message from the Daphne process that took it
to the Daphne process that holds the recipient's socket. Without them it stops with an error.

What it does, in one run, printing one table:

1. Builds its data in the configured database: users named `benchchat_*` (`--reset` deletes
   a previous run's users and their conversations first), 1:1 conversations between pairs
   made by `messaging.services.conversation_direct`, and a JWT access token per user
   (`AccessToken.for_user`).
2. Starts two Daphne processes itself (`<venv>/bin/daphne -b 127.0.0.1 -p <free port>
   socialsite.asgi:application`, from the project root) on the same database and Redis, with
   DEBUG=false, LOG_LEVEL=WARNING and the rate limits (THROTTLE_MESSAGE, THROTTLE_API ...) out
   of reach; waits for /healthz; stops them at the end, also after an error or Ctrl-C.
3. Latency: for `--pairs` user pairs, the sender's socket is on Daphne A and the receiver's on
   Daphne B. `--warmup` + `--messages` `message.send` frames go out at `--rate` per second in
   total (round robin over the pairs, open loop: the schedule doesn't wait for replies). A
   message's latency is the time from writing its frame on A's socket to reading the
   `message.new` event carrying its (unique) content on B's socket (both sockets are in this process,
   one clock). Also timed: the `message.sent` reply on A. Warm-up messages are not counted.
4. Idle sockets: `--sockets` authenticated sockets to Daphne A, spread over `--socket-users`
   users, opened `--connect-concurrency` at a time, each counted once `session.ready` arrived.
   They stay idle `--idle` seconds (longer than channels_redis's 5 s blocking receive), then:
   every socket must still be open and answer a `ping` action with `pong`, and a `message.send`
   in `--check` of the idle users' conversations must reach every socket of both members as
   `message.new`. Reported: sockets held, Daphne A's RSS (VmRSS) before and with the sockets,
   its CPU time while they idled, and how long opening took.

Percentiles are nearest-rank, as in bench_feed. Timings are `time.perf_counter` in this
process's asyncio loop, which shares the machine with both Daphnes, PostgreSQL and Redis.
The data set is a function of the sizes; nothing is random.
"""

import asyncio
import contextlib
import json
import os
import resource
import time
from collections import Counter

from django.contrib.auth.hashers import make_password
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import Profile, User
from messaging import services
from messaging.models import Conversation, Message
from socialsite.benchmarks import (
    BenchmarkCommand,
    Processes,
    machine_line,
    mark,
    open_socket,
    pct_ms,
    percentile,
    process_env,
    require_postgres_and_redis,
)

PREFIX = "benchchat_"
LATENCY_TARGET = 0.020  # p99 send → message.new on the other process
SOCKETS_TARGET = 5_000  # concurrent sockets per Daphne process


def mib(kib):
    return f"{kib / 1024:,.0f} MiB" if kib is not None else "n/a"


def _frame(action, data, ref=None):
    frame = {"action": action, "data": data}
    if ref is not None:
        frame["ref"] = ref
    return json.dumps(frame)


class Command(BenchmarkCommand):
    help = "Two real Daphne processes: message latency across them, and idle sockets held by one."

    def add_arguments(self, parser):
        parser.add_argument("--messages", type=int, default=500, help="Timed messages (A → B).")
        parser.add_argument("--warmup", type=int, default=20, help="Untimed messages first.")
        parser.add_argument("--pairs", type=int, default=10, help="Sender/receiver user pairs for the latency run.")
        parser.add_argument("--rate", type=float, default=20.0, help="Messages per second, all pairs together.")
        parser.add_argument("--sockets", type=int, default=5000, help="Idle sockets held by one Daphne.")
        parser.add_argument(
            "--socket-users", type=int, default=500, help="Users the idle sockets are spread over (at most --sockets)."
        )
        parser.add_argument("--connect-concurrency", type=int, default=50, help="Sockets being opened at once.")
        parser.add_argument("--idle", type=float, default=30.0, help="Seconds the sockets stay idle.")
        parser.add_argument("--check", type=int, default=20, help="Idle users' conversations sent a message after.")
        parser.add_argument("--reset", action="store_true", help="Delete a previous run's benchchat_* users first.")

    # --- Entry ----------------------------------------------------------------------------------

    def handle(self, *args, **options):
        for name in ("messages", "pairs", "sockets", "socket_users", "connect_concurrency"):
            if options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1.")
        if options["warmup"] < 0 or options["idle"] < 0 or options["check"] < 0 or options["rate"] <= 0:
            raise CommandError("--warmup, --idle and --check can't be negative, --rate must be positive.")
        require_postgres_and_redis(
            "bench_chat",
            "two Daphne processes share the database",
            "the Redis channel layer carries messages between the two Daphne processes",
        )
        try:
            import websockets  # noqa: F401 -- a development dependency (requirements-dev.txt)
        except ImportError:
            raise CommandError("bench_chat needs the websockets client: pip install -r requirements-dev.txt")

        bench = User.objects.filter(username__startswith=PREFIX)
        if options["reset"]:
            self.step("deleting previous bench_chat data")
            self.reset()
            self.done()
        elif bench.exists():
            raise CommandError(f"{PREFIX}* users exist already; run with --reset to replace them.")

        self.raise_fd_limit(options["sockets"])
        load_before = os.getloadavg()
        self.step("creating users, conversations and tokens")
        data = self.build(options)
        self.done(f"({len(data['users']):,} users, {len(data['conversations']):,} conversations)")

        with Processes(self, "bench_chat") as running:
            self.step("starting two Daphne processes")
            env = process_env()
            daphnes = [running.daphne("daphne-A", env), running.daphne("daphne-B", env)]
            running.wait_ready()
            self.done(", ".join(d.describe() for d in daphnes))
            results = asyncio.run(self.measure(daphnes, data, options))
            running.check_alive("during the run")
        self.say(f"Daphne processes stopped: {running.summary()}")
        stored = Message.objects.filter(conversation_id__in=[c for c, _, _ in data["conversations"]]).count()
        self.report(data, options, results, stored, load_before, os.getloadavg())

    # --- Setup ----------------------------------------------------------------------------------

    def raise_fd_limit(self, sockets):
        """Raise the soft limit for this process and the Daphnes it starts (they inherit it).

        This process holds one fd per socket; Daphne holds two today: the socket and a Redis
        connection (Django's cache is context-local under ASGI, so each consumer has its own pool).
        """
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = 2 * sockets + 1024
        if soft != resource.RLIM_INFINITY and soft < wanted:
            if hard != resource.RLIM_INFINITY and hard < wanted:
                raise CommandError(
                    f"--sockets {sockets} needs {wanted} file descriptors, the hard limit is {hard} (ulimit -Hn)."
                )
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))

    def reset(self):
        bench = User.objects.filter(username__startswith=PREFIX)
        Conversation.objects.filter(pk__in=bench.values("memberships__conversation")).delete()
        bench.delete()

    def build(self, options):
        """Users, their 1:1 conversations (made by the messaging service) and access tokens."""
        from rest_framework_simplejwt.tokens import AccessToken

        pairs = options["pairs"]
        idle_users = min(options["socket_users"], options["sockets"])
        idle_users += idle_users % 2  # in pairs, each pair one conversation
        names = [f"{PREFIX}s{i}" for i in range(pairs)] + [f"{PREFIX}r{i}" for i in range(pairs)]
        names += [f"{PREFIX}i{i}" for i in range(idle_users)]
        now = timezone.now()
        users = User.objects.bulk_create(
            [User(username=name, password=make_password(None), last_active=now) for name in names]
        )
        Profile.objects.bulk_create([Profile(user=user) for user in users])
        senders, receivers, idle = users[:pairs], users[pairs : 2 * pairs], users[2 * pairs :]

        def conversation(a, b):
            return str(services.conversation_direct(user=a, other_user_id=b.pk).conversation_id)

        latency_pairs = [(conversation(a, b), a, b) for a, b in zip(senders, receivers, strict=True)]
        idle_pairs = [(conversation(idle[i], idle[i + 1]), idle[i], idle[i + 1]) for i in range(0, len(idle), 2)]
        tokens = {str(user.pk): str(AccessToken.for_user(user)) for user in users}
        return {
            "users": users,
            "tokens": tokens,
            "latency_pairs": [(c, str(a.pk), str(b.pk)) for c, a, b in latency_pairs],
            "idle_users": [str(user.pk) for user in idle],
            "idle_pairs": [(c, str(a.pk), str(b.pk)) for c, a, b in idle_pairs],
            "conversations": [(c, a, b) for c, a, b in latency_pairs + idle_pairs],
        }

    # --- Measurements (asyncio; no ORM in here) -------------------------------------------------

    async def measure(self, daphnes, data, options):
        results = {}
        self.step(
            f"latency: {options['warmup']} + {options['messages']} messages at {options['rate']:g}/s,"
            f" {options['pairs']} pairs, sender on A, receiver on B"
        )
        results["latency"] = await self.latency(daphnes, data, options)
        self.done()
        for daphne in daphnes:
            daphne.check_alive("during the latency run")
        results["idle"] = await self.idle_sockets(daphnes[0], data, options)
        return results

    async def latency(self, daphnes, data, options):
        a, b = daphnes
        tokens = data["tokens"]
        pairs = data["latency_pairs"]
        senders = [await open_socket(a.ws_url, tokens[s]) for _, s, _ in pairs]
        receivers = [await open_socket(b.ws_url, tokens[r]) for _, _, r in pairs]
        total = options["warmup"] + options["messages"]
        sent, acked, received = {}, {}, {}
        wrong, errors = [], []
        all_in = asyncio.Event()

        async def read(ws, expect_conversation, role):
            async for raw in ws:
                now = time.perf_counter()
                frame = json.loads(raw)
                event, payload = frame.get("event"), frame.get("data") or {}
                key = payload.get("content")  # unique per message; client_ids reach only the sender
                if event == "error":
                    errors.append(payload)
                elif role == "sender" and event == "message.sent":
                    acked.setdefault(key, now)
                elif role == "receiver" and event == "message.new" and key in sent:
                    if payload.get("conversation_id") != expect_conversation or not isinstance(payload.get("seq"), int):
                        wrong.append(payload)
                    received.setdefault(key, now)
                    if len(received) == total:
                        all_in.set()

        readers = [
            asyncio.create_task(read(ws, conversation, role))
            for (conversation, _, _), ws_s, ws_r in zip(pairs, senders, receivers, strict=True)
            for ws, role in ((ws_s, "sender"), (ws_r, "receiver"))
        ]
        try:
            started = time.perf_counter()
            for number in range(total):
                pause = started + number / options["rate"] - time.perf_counter()
                if pause > 0:
                    await asyncio.sleep(pause)
                index = number % len(pairs)
                content = f"bench_chat message {number}"
                frame = _frame(
                    "message.send",
                    {"conversation_id": pairs[index][0], "content": content, "client_id": f"bc-{number}"},
                    ref=number,
                )
                sent[content] = time.perf_counter()
                await senders[index].send(frame)
            with contextlib.suppress(TimeoutError):  # what is missing by then counts as lost
                await asyncio.wait_for(all_in.wait(), 15)
        finally:
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
            await asyncio.gather(*(ws.close() for ws in senders + receivers), return_exceptions=True)
        timed = [f"bench_chat message {n}" for n in range(options["warmup"], total)]
        return {
            "delivery": [received[c] - sent[c] for c in timed if c in received],
            "ack": [acked[c] - sent[c] for c in timed if c in acked],
            "timed": len(timed),
            "delivered": sum(c in received for c in timed),
            "acked": sum(c in acked for c in timed),
            "wrong": len(wrong),
            "errors": errors,
            "seconds": time.perf_counter() - started,
        }

    async def idle_sockets(self, daphne, data, options):
        tokens, idle_users = data["tokens"], data["idle_users"]
        count, concurrency = options["sockets"], options["connect_concurrency"]
        gate = asyncio.Semaphore(concurrency)
        connect_times, failures = [], Counter()
        held = {}  # socket number -> (user id, ws)

        async def open_one(number):
            user_id = idle_users[number % len(idle_users)]
            async with gate:
                began = time.perf_counter()
                try:
                    ws = await open_socket(daphne.ws_url, tokens[user_id])
                except Exception as exc:
                    failures[type(exc).__name__] += 1
                    return
                connect_times.append(time.perf_counter() - began)
                held[number] = (user_id, ws)

        result = {"rss_before": daphne.rss_kib(), "asked": count}
        self.step(f"opening {count:,} sockets to {daphne.name}, {concurrency} at a time, over {len(idle_users)} users")
        started = time.perf_counter()
        await asyncio.gather(*(open_one(number) for number in range(count)))
        result["open_seconds"] = time.perf_counter() - started
        result["opened"] = len(held)
        result["connect_times"] = connect_times
        result["failures"] = dict(failures)
        result["rss_open"] = daphne.rss_kib()
        self.done(f"({len(held):,} open, {sum(failures.values()):,} failed)")
        try:
            self.step(f"idle for {options['idle']:g} s")
            cpu_before = daphne.cpu_seconds()
            await asyncio.sleep(options["idle"])
            cpu_after = daphne.cpu_seconds()
            result["idle_cpu"] = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
            result["rss_idle"] = daphne.rss_kib()
            daphne.check_alive("while the sockets idled")
            from websockets.protocol import State

            result["still_open"] = sum(ws.state is State.OPEN for _, ws in held.values())
            self.done(f"({result['still_open']:,} still open)")

            self.step("ping on every socket, then message.send in the idle users' conversations")
            result["pongs"], result["pong_times"] = await self.ping_all(held, concurrency * 4)
            result["checks"] = await self.check_messages(held, data["idle_pairs"], options["check"])
            result["rss_end"] = daphne.rss_kib()
            self.done()
        finally:
            closing = asyncio.Semaphore(200)

            async def close(ws):
                async with closing:
                    await ws.close()

            await asyncio.gather(*(close(ws) for _, ws in held.values()), return_exceptions=True)
        return result

    @staticmethod
    async def wait_for(ws, matches, timeout=15):
        """Read frames until one matches; its arrival time (perf_counter), or None on timeout/close."""
        deadline = time.perf_counter() + timeout
        try:
            while (left := deadline - time.perf_counter()) > 0:
                frame = json.loads(await asyncio.wait_for(ws.recv(), left))
                if matches(frame):
                    return time.perf_counter()
        except Exception:  # a timeout or a closed socket
            return None
        return None

    async def ping_all(self, held, concurrency):
        gate = asyncio.Semaphore(concurrency)
        times = []

        async def ping(number, ws):
            async with gate:
                began = time.perf_counter()
                try:
                    await ws.send(_frame("ping", {"ts": number}, ref=f"p{number}"))
                except Exception:
                    return False
                arrived = await self.wait_for(ws, lambda f: f.get("event") == "pong" and f.get("ref") == f"p{number}")
                if arrived is None:
                    return False
                times.append(arrived - began)
                return True

        answered = await asyncio.gather(*(ping(number, ws) for number, (_, ws) in held.items()))
        return sum(answered), times

    async def check_messages(self, held, idle_pairs, wanted):
        """message.send from one member's socket; every socket of both members must get message.new."""
        by_user = {}
        for user_id, ws in held.values():
            by_user.setdefault(user_id, []).append(ws)
        usable = [pair for pair in idle_pairs if by_user.get(pair[1]) and by_user.get(pair[2])]
        step = max(1, len(usable) // wanted) if wanted else 1
        sample = usable[::step][:wanted]
        expected = got = 0
        times = []
        for number, (conversation, first, second) in enumerate(sample):
            content = f"bench_chat check {number}"
            sockets = by_user[first] + by_user[second]

            def is_it(frame, content=content):
                return frame.get("event") == "message.new" and (frame.get("data") or {}).get("content") == content

            waiters = [asyncio.create_task(self.wait_for(ws, is_it)) for ws in sockets]
            began = time.perf_counter()
            frame = {"conversation_id": conversation, "content": content, "client_id": f"check-{number}"}
            await by_user[first][0].send(_frame("message.send", frame))
            arrivals = await asyncio.gather(*waiters)
            expected += len(sockets)
            got += sum(arrived is not None for arrived in arrivals)
            times += [arrived - began for arrived in arrivals if arrived is not None]
        return {"conversations": len(sample), "expected": expected, "got": got, "times": times}

    # --- Report ---------------------------------------------------------------------------------

    def report(self, data, options, results, stored, load_before, load_after):
        lat, idle = results["latency"], results["idle"]
        self.say()
        self.say("Direct messages benchmark (bench_chat)")
        self.say(machine_line(load_before, load_after))
        self.say(
            f"data: {len(data['users']):,} {PREFIX}* users, {len(data['conversations']):,} 1:1 conversations,"
            f" {stored:,} messages stored; 2 Daphne processes (DEBUG=false, LOG_LEVEL=WARNING, limits off),"
            f" channels_redis layer"
        )
        self.say(
            f"latency: {options['pairs']} pairs, {options['warmup']} warm-up + {lat['timed']} timed messages at"
            f" {options['rate']:g}/s ({lat['seconds']:.1f} s); idle: {idle['asked']:,} sockets over"
            f" {len(data['idle_users']):,} users, {options['connect_concurrency']} opening at once, idle"
            f" {options['idle']:g} s, {idle['checks']['conversations']} conversations checked"
        )
        self.say()

        delivery, ack = lat["delivery"], lat["ack"]
        all_delivered = lat["delivered"] == lat["timed"] and not lat["wrong"] and not lat["errors"]
        latency_ok = all_delivered and bool(delivery) and percentile(delivery, 99) <= LATENCY_TARGET
        opened, asked, still = idle["opened"], idle["asked"], idle.get("still_open", 0)
        checks = idle["checks"]
        sockets_ok = (
            still == asked
            and idle["pongs"] == asked
            and checks["got"] == checks["expected"]
            and asked >= SOCKETS_TARGET
        )
        failures = ", ".join(f"{name} ×{n}" for name, n in sorted(idle["failures"].items()))
        per_socket = (
            f"; ~{(idle['rss_idle'] - idle['rss_before']) / max(still, 1):.0f} KiB per socket"
            if idle.get("rss_idle") and idle.get("rss_before")
            else ""
        )
        idle_cpu = idle.get("idle_cpu")
        open_rate = opened / idle["open_seconds"] if idle["open_seconds"] else 0
        rows = [
            ("metric", "value", "target"),
            None,
            ("send → message.new on the other Daphne, p50", pct_ms(delivery, 50), ""),
            (
                "send → message.new on the other Daphne, p99",
                pct_ms(delivery, 99),
                f"≤ {LATENCY_TARGET * 1000:.0f} ms: {mark(latency_ok)}",
            ),
            ("send → message.sent reply (same Daphne), p50", pct_ms(ack, 50), ""),
            ("send → message.sent reply (same Daphne), p99", pct_ms(ack, 99), ""),
            (
                "messages delivered across processes",
                f"{lat['delivered']:,}/{lat['timed']:,}"
                + (f", {len(lat['errors'])} error events" if lat["errors"] else "")
                + (f", {lat['wrong']} malformed" if lat["wrong"] else ""),
                f"all: {mark(all_delivered)}",
            ),
            (
                f"sockets open after {options['idle']:g} s idle, one Daphne",
                f"{still:,}/{asked:,}",
                f"≥ {SOCKETS_TARGET:,}: {mark(sockets_ok)}" + ("" if asked >= SOCKETS_TARGET else f" (ran {asked:,})"),
            ),
            (
                "  of which answered ping after the idle",
                f"{idle['pongs']:,}/{asked:,} (p99 {pct_ms(idle['pong_times'], 99)})",
                "",
            ),
            (
                "  message.new to idle users' sockets",
                f"{checks['got']:,}/{checks['expected']:,} (p99 {pct_ms(checks['times'], 99)})",
                "",
            ),
            (
                "opening the sockets (to session.ready)",
                f"{idle['open_seconds']:.1f} s, {open_rate:,.0f}/s"
                + (f"; {sum(idle['failures'].values()):,} failed: {failures}" if failures else ""),
                "",
            ),
            (
                "  per socket, p50 / p99",
                f"{pct_ms(idle['connect_times'], 50)} / {pct_ms(idle['connect_times'], 99)}",
                "",
            ),
            (
                "Daphne RSS (VmRSS)",
                f"{mib(idle['rss_before'])} before, {mib(idle.get('rss_idle'))} with the sockets{per_socket}",
                "",
            ),
            (
                f"Daphne CPU while {still:,} sockets idled",
                f"{idle_cpu:.2f} s in {options['idle']:g} s" if idle_cpu is not None else "n/a",
                "",
            ),
        ]
        self.table(rows)
        self.say()
        self.say(
            "Latency: frame written on A's socket → message.new read on B's socket, both in this process;"
            " the client, both Daphnes, PostgreSQL and Redis share this machine."
        )
