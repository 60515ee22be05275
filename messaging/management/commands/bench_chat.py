"""Benchmark direct messages over the socket: `python manage.py bench_chat [--messages 500] [--sockets N] [--reset]`.

Needs the real engines: PostgreSQL (DATABASE_URL) and Redis (REDIS_URL), because the
shared Redis channel layer is what carries a message from the Daphne process that took it
to the Daphne process that holds the recipient's socket. Without them it stops with an error.

What it does, in one run, printing one table:

1. Builds its data in the configured database: users named `benchchat_*` (`--reset` deletes
   a previous run's users and their conversations first), 1:1 conversations between pairs
   made by `messaging.services.conversation_direct`, and a JWT access token per user
   (`accounts.tokens.access_token`).
2. Starts two Daphne processes itself (`python -m socialsite.serve -b 127.0.0.1 -p <free port>
   socialsite.asgi:application`, as production starts them, from the project root) on the same
   database and Redis, with DEBUG=false, LOG_LEVEL=WARNING and the rate limits (THROTTLE_MESSAGE,
   THROTTLE_API ...) out of reach; waits for /healthz; stops them at the end, also after an error
   or Ctrl-C.
3. Latency, quiet: for `--pairs` user pairs, the sender's socket is on Daphne A and the receiver's
   on Daphne B. `--warmup` + `--messages` `message.send` frames go out at `--rate` per second in
   total (round robin over the pairs, open loop: the schedule doesn't wait for replies). A
   message's latency is the time from writing its frame on A's socket to reading the
   `message.new` event carrying its (unique) content on B's socket (both sockets are in this
   process, one clock). Also timed: the `message.sent` reply on A. Warm-up messages are not counted.
4. Idle sockets: `--sockets` authenticated sockets to Daphne A (by default as many as the
   file-descriptor limit leaves it), spread over `--socket-users` users, opened
   `--connect-concurrency` at a time by client processes of their own
   (`python -m socialsite.socket_holder`, at most `--sockets-per-client` sockets each), each
   counted once `session.ready` arrived.
5. While they are held (`--idle` seconds, or as long as the run below takes): the same latency
   run with both sockets of each pair on A, the process holding the sockets; and a stall probe,
   a `ping` action every 20 ms on one more socket to A, whose longest round trip is the longest
   time A didn't answer. Then every socket must still be open and answer a `ping` with `pong`,
   and a `message.send` in `--check` of the idle users' conversations must reach every socket of
   both members as `message.new`. Reported: A's RSS (VmRSS) and file descriptors before and with
   the sockets, its CPU time during the hold, and how fast the sockets opened.
6. Every idle socket closes in the same instant; counted after up to 30 s: the group memberships
   of this run's users left in Redis (there must be none) and the error lines in A's log.

Percentiles are nearest-rank, as in bench_feed. Timings are `time.perf_counter` (latency) and
`time.monotonic` (across the client processes) on this machine, which also runs both Daphnes,
PostgreSQL and Redis. The data set is a function of the sizes; nothing is random.
"""

import asyncio
import contextlib
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections import Counter

from django.conf import settings
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
    ms,
    open_socket,
    pct_ms,
    percentile,
    process_env,
    require_postgres_and_redis,
)

PREFIX = "benchchat_"
LATENCY_TARGET = 0.020  # p99 send → message.new on the other process, nothing else going on
LOADED_LATENCY_TARGET = 0.010  # p99 send → message.new on the process holding the idle sockets
STALL_TARGET = 0.050  # the longest the process holding the sockets may go without answering
SOCKETS_TARGET = 20_000  # concurrent sockets per Daphne process, or all the descriptor limit allows
DAPHNE_FDS = 120  # descriptors a Daphne needs besides its sockets: Redis and database pools, logs, the listener
PROBE_EVERY = 0.020  # seconds between two stall-probe pings
SETTLE_SECONDS = 30  # after closing every socket, for the clean-up to finish
# What a failed clean-up (or anything else gone wrong) leaves in Daphne's log at LOG_LEVEL=WARNING.
LOG_ERRORS = re.compile(r"Too many connections|Traceback|\bERROR\b|took too long to shut down")


def mib(kib):
    return f"{kib / 1024:,.0f} MiB" if kib is not None else "n/a"


def _frame(action, data, ref=None):
    frame = {"action": action, "data": data}
    if ref is not None:
        frame["ref"] = ref
    return json.dumps(frame)


def fd_limit():
    """The hard limit on file descriptors: this process and the ones it starts can raise theirs to it."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def most_sockets():
    """Sockets one Daphne can hold under the descriptor limit (capped at the target)."""
    hard = fd_limit()
    return SOCKETS_TARGET if hard == resource.RLIM_INFINITY else min(SOCKETS_TARGET, hard - DAPHNE_FDS)


class Client:
    """A socket_holder process and its JSON-lines conversation."""

    def __init__(self, name, url, log_dir):
        self.name = name
        self.url = url
        self.log_path = os.path.join(log_dir, f"{name}.log")

    async def start(self):
        self._log = open(self.log_path, "wb")  # noqa: SIM115 -- closed in stop()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "socialsite.socket_holder", self.url),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=settings.BASE_DIR,
            limit=2**28,  # replies carry a timing per socket
        )
        return self

    async def call(self, cmd, **args):
        self.process.stdin.write((json.dumps({"cmd": cmd, **args}) + "\n").encode())
        await self.process.stdin.drain()
        line = await self.process.stdout.readline()
        if not line:
            await self.process.wait()
            with open(self.log_path, errors="replace") as log:
                raise CommandError(f"{self.name} exited with {self.process.returncode}:\n{log.read()[-4000:]}")
        return json.loads(line)

    async def stop(self):
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self._log.close()


class Command(BenchmarkCommand):
    help = "Two real Daphne processes: message latency across them, and idle sockets held by one."

    def add_arguments(self, parser):
        parser.add_argument("--messages", type=int, default=500, help="Timed messages per latency run.")
        parser.add_argument("--warmup", type=int, default=20, help="Untimed messages first.")
        parser.add_argument("--pairs", type=int, default=10, help="Sender/receiver user pairs for the latency runs.")
        parser.add_argument("--rate", type=float, default=20.0, help="Messages per second, all pairs together.")
        parser.add_argument(
            "--sockets",
            type=int,
            default=None,
            help=f"Idle sockets held by one Daphne (default: {SOCKETS_TARGET:,}, or what the descriptor limit leaves).",
        )
        parser.add_argument(
            "--socket-users", type=int, default=500, help="Users the idle sockets are spread over (at most --sockets)."
        )
        parser.add_argument("--connect-concurrency", type=int, default=50, help="Sockets being opened at once.")
        parser.add_argument(
            "--sockets-per-client", type=int, default=5000, help="Idle sockets per client process holding them."
        )
        parser.add_argument("--idle", type=float, default=30.0, help="Seconds the sockets stay idle (at least).")
        parser.add_argument("--check", type=int, default=20, help="Idle users' conversations sent a message after.")
        parser.add_argument("--reset", action="store_true", help="Delete a previous run's benchchat_* users first.")
        parser.add_argument(
            "--keep-logs", action="store_true", help="Keep the processes' logs (their folder is named)."
        )

    # --- Entry ----------------------------------------------------------------------------------

    def handle(self, *args, **options):
        if options["sockets"] is None:
            options["sockets"] = most_sockets()
        for name in ("messages", "pairs", "sockets", "socket_users", "connect_concurrency", "sockets_per_client"):
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
        self.raise_fd_limit(options["sockets"])

        bench = User.objects.filter(username__startswith=PREFIX)
        if options["reset"]:
            self.step("deleting previous bench_chat data")
            self.reset()
            self.done()
        elif bench.exists():
            raise CommandError(f"{PREFIX}* users exist already; run with --reset to replace them.")

        load_before = os.getloadavg()
        self.step("creating users, conversations and tokens")
        data = self.build(options)
        self.done(f"({len(data['users']):,} users, {len(data['conversations']):,} conversations)")

        with Processes(self, "bench_chat", keep_logs=options["keep_logs"]) as running:
            self.step("starting two Daphne processes")
            env = process_env()
            daphnes = [running.daphne("daphne-A", env), running.daphne("daphne-B", env)]
            running.wait_ready()
            self.done(", ".join(d.describe() for d in daphnes))
            results = asyncio.run(self.measure(daphnes, data, options, running.log_dir))
            running.check_alive("during the run")
        self.say(f"Daphne processes stopped: {running.summary()}")
        stored = Message.objects.filter(conversation_id__in=[c for c, _, _ in data["conversations"]]).count()
        self.report(data, options, results, stored, load_before, os.getloadavg())

    # --- Setup ----------------------------------------------------------------------------------

    def raise_fd_limit(self, sockets):
        """Raise the soft limit to the hard one, for this process and (inherited) the Daphnes and the
        client processes. Daphne A holds one descriptor per socket plus DAPHNE_FDS of its own."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = sockets + DAPHNE_FDS
        if hard != resource.RLIM_INFINITY and hard < wanted:
            raise CommandError(
                f"--sockets {sockets:,} needs {wanted:,} file descriptors in the Daphne holding them, the hard"
                f" limit is {hard:,} (ulimit -Hn): at most {hard - DAPHNE_FDS:,} sockets."
            )
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    def reset(self):
        bench = User.objects.filter(username__startswith=PREFIX)
        Conversation.objects.filter(pk__in=bench.values("memberships__conversation")).delete()
        bench.delete()

    def build(self, options):
        """Users, their 1:1 conversations (made by the messaging service) and access tokens."""
        from accounts import tokens as jwt

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
        tokens = {str(user.pk): jwt.access_token(user) for user in users}
        return {
            "users": users,
            "tokens": tokens,
            "latency_pairs": [(c, str(a.pk), str(b.pk)) for c, a, b in latency_pairs],
            "idle_users": [str(user.pk) for user in idle],
            "idle_pairs": [(c, str(a.pk), str(b.pk)) for c, a, b in idle_pairs],
            "conversations": [(c, a, b) for c, a, b in latency_pairs + idle_pairs],
        }

    # --- Measurements (asyncio; no ORM in here) -------------------------------------------------

    async def measure(self, daphnes, data, options, log_dir):
        a, b = daphnes
        results = {}
        self.step(
            f"latency: {options['warmup']} + {options['messages']} messages at {options['rate']:g}/s,"
            f" {options['pairs']} pairs, sender on A, receiver on B"
        )
        results["latency"] = await self.latency(a, b, data, options)
        self.done()
        for daphne in daphnes:
            daphne.check_alive("during the latency run")
        results["idle"] = await self.idle_sockets(a, data, options, log_dir)
        return results

    async def latency(self, sender_daphne, receiver_daphne, data, options, tag="bench_chat message", ids="bc"):
        tokens = data["tokens"]
        pairs = data["latency_pairs"]
        senders = [await open_socket(sender_daphne.ws_url, tokens[s]) for _, s, _ in pairs]
        receivers = [await open_socket(receiver_daphne.ws_url, tokens[r]) for _, _, r in pairs]
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
                content = f"{tag} {number}"
                frame = _frame(
                    "message.send",
                    {"conversation_id": pairs[index][0], "content": content, "client_id": f"{ids}-{number}"},
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
        timed = [f"{tag} {n}" for n in range(options["warmup"], total)]
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

    async def idle_sockets(self, daphne, data, options, log_dir):
        count, per_client = options["sockets"], options["sockets_per_client"]
        clients = [Client(f"client-{n + 1}", daphne.ws_url, log_dir) for n in range(-(-count // per_client))]
        result = {"rss_before": daphne.rss_kib(), "fds_before": daphne.open_files(), "asked": count}
        try:
            await asyncio.gather(*(client.start() for client in clients))
            return await self._hold(daphne, data, options, clients, result)
        finally:
            await asyncio.gather(*(client.stop() for client in clients), return_exceptions=True)

    async def _hold(self, daphne, data, options, clients, result):
        tokens, idle_users = data["tokens"], data["idle_users"]
        count, concurrency = options["sockets"], options["connect_concurrency"]
        shares = [[] for _ in clients]
        for number in range(count):  # socket n belongs to user n mod users, in blocks per client
            user_id = idle_users[number % len(idle_users)]
            shares[number * len(clients) // count].append((user_id, tokens[user_id]))
        each = max(1, concurrency // len(clients))
        self.step(
            f"opening {count:,} sockets to {daphne.name} from {len(clients)} client processes,"
            f" {each * len(clients)} at a time, over {len(idle_users)} users"
        )
        started = time.monotonic()
        opened = await asyncio.gather(
            *(
                client.call("open", sockets=share, concurrency=each)
                for client, share in zip(clients, shares, strict=True)
            )
        )
        result["open_seconds"] = time.monotonic() - started
        result["opened"] = sum(reply["opened"] for reply in opened)
        result["connects"] = sorted((ready, ready - began) for reply in opened for began, ready in reply["connects"])
        result["failures"] = sum((Counter(reply["failures"]) for reply in opened), Counter())
        result["rss_open"], result["fds_open"] = daphne.rss_kib(), daphne.open_files()
        self.done(f"({result['opened']:,} open, {sum(result['failures'].values()):,} failed)")
        daphne.check_alive("while the sockets opened")

        self.step(
            f"holding them {options['idle']:g} s at least; meanwhile {options['messages']} messages between sockets"
            f" on {daphne.name} and a ping every {PROBE_EVERY * 1000:.0f} ms"
        )
        cpu_before = daphne.cpu_seconds()
        began = time.monotonic()
        stop = asyncio.Event()
        probe = asyncio.create_task(self.probe(daphne, tokens[idle_users[0]], stop))
        loaded, _ = await asyncio.gather(
            self.latency(daphne, daphne, data, options, tag="bench_chat held", ids="bh"), asyncio.sleep(options["idle"])
        )
        stop.set()
        result["probe"] = await probe
        result["hold_seconds"] = time.monotonic() - began
        cpu_after = daphne.cpu_seconds()
        result["loaded"] = loaded
        result["idle_cpu"] = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
        result["rss_idle"], result["fds_idle"] = daphne.rss_kib(), daphne.open_files()
        daphne.check_alive("while the sockets idled")
        counts = await asyncio.gather(*(client.call("count") for client in clients))
        result["still_open"] = sum(reply["open"] for reply in counts)
        self.done(f"({result['still_open']:,} still open)")

        self.step("ping on every socket, then message.send in the idle users' conversations")
        pings = await asyncio.gather(*(client.call("ping", concurrency=max(1, 4 * each)) for client in clients))
        result["pongs"] = sum(reply["pongs"] for reply in pings)
        result["pong_times"] = [t for reply in pings for t in reply["times"]]
        result["checks"] = await self.check_messages(clients, shares, data["idle_pairs"], options["check"])
        result["rss_end"] = daphne.rss_kib()
        self.done()

        self.step(f"closing all {result['opened']:,} sockets at once")
        groups = self.group_keys(data)
        result["memberships_open"] = self.memberships(groups)
        closed = await asyncio.gather(*(client.call("close") for client in clients))
        result["close_seconds"] = max(reply["seconds"] for reply in closed)
        deadline = time.monotonic() + SETTLE_SECONDS
        while (left := self.memberships(groups)) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        result["settle_seconds"] = SETTLE_SECONDS - max(0.0, deadline - time.monotonic())
        await asyncio.sleep(1)  # what is still being logged
        result["memberships_left"] = self.memberships(groups)
        result["log_errors"] = len(LOG_ERRORS.findall(daphne.tail(chars=10**9)))
        self.done(f"({left:,} memberships left, {result['log_errors']} error lines in {daphne.name}'s log)")
        return result

    @staticmethod
    def group_keys(data):
        """The channel layer's group keys of this run's users (new users each run: no older run's members)."""
        prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
        return [f"{prefix}:group:user.{user_id}" for user_id in data["tokens"]]

    @staticmethod
    def memberships(keys):
        import redis

        with redis.Redis.from_url(settings.REDIS_URL) as client:
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.zcard(key)
            return sum(pipe.execute())

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

    async def probe(self, daphne, token, stop):
        """A ping every PROBE_EVERY seconds on a socket of its own until `stop`: the round trips."""
        ws = await open_socket(daphne.ws_url, token)
        times, lost, number = [], 0, 0
        try:
            while not stop.is_set():
                began = time.perf_counter()
                ref = f"probe{number}"
                await ws.send(_frame("ping", {"ts": number}, ref=ref))
                arrived = await self.wait_for(ws, lambda f, ref=ref: f.get("event") == "pong" and f.get("ref") == ref)
                if arrived is None:
                    lost += 1
                else:
                    times.append(arrived - began)
                number += 1
                await asyncio.sleep(max(0.0, began + PROBE_EVERY - time.perf_counter()))
        finally:
            await ws.close()
        return {"times": times, "lost": lost}

    async def check_messages(self, clients, shares, idle_pairs, wanted):
        """message.send from one member's socket; every socket of both members must get message.new."""
        where = {}  # user id -> the clients holding its sockets
        for client, share in zip(clients, shares, strict=True):
            for user_id, _ in share:
                where.setdefault(user_id, set()).add(client)
        usable = [pair for pair in idle_pairs if pair[1] in where and pair[2] in where]
        step = max(1, len(usable) // wanted) if wanted else 1
        sample = usable[::step][:wanted]
        checks = [(f"bench_chat check {n}", [first, second]) for n, (_, first, second) in enumerate(sample)]
        armed = await asyncio.gather(*(client.call("arm", checks=checks) for client in clients))
        expected = sum(reply["armed"] for reply in armed)
        sent_at = {}
        for (conversation, first, _), (content, _) in zip(sample, checks, strict=True):
            frame = _frame("message.send", {"conversation_id": conversation, "content": content, "client_id": content})
            sender = min(where[first], key=clients.index)
            sent_at[content] = (await sender.call("send", user=first, frame=frame))["sent_at"]
        collected = await asyncio.gather(*(client.call("collect") for client in clients))
        times = [
            arrival - sent_at[content]
            for reply in collected
            for content, arrivals in reply["checks"].items()
            for arrival in arrivals
            if arrival is not None
        ]
        return {"conversations": len(sample), "expected": expected, "got": len(times), "times": times}

    # --- Report ---------------------------------------------------------------------------------

    def report(self, data, options, results, stored, load_before, load_after):
        lat, idle = results["latency"], results["idle"]
        loaded, probe = idle["loaded"], idle["probe"]
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
            f" {options['rate']:g}/s per run ({lat['seconds']:.1f} s quiet, {loaded['seconds']:.1f} s with the"
            f" sockets held); idle: {idle['asked']:,} sockets over {len(data['idle_users']):,} users from"
            f" {-(-idle['asked'] // options['sockets_per_client'])} client processes,"
            f" {options['connect_concurrency']} opening at once, held {idle['hold_seconds']:.0f} s,"
            f" {idle['checks']['conversations']} conversations checked; descriptor limit {fd_limit():,}"
        )
        self.say()

        def delivered(run):
            return run["delivered"] == run["timed"] and not run["wrong"] and not run["errors"]

        def delivery_note(run):
            return (
                f"{run['delivered']:,}/{run['timed']:,}"
                + (f", {len(run['errors'])} error events" if run["errors"] else "")
                + (f", {run['wrong']} malformed" if run["wrong"] else "")
            )

        delivery, ack = lat["delivery"], lat["ack"]
        latency_ok = delivered(lat) and bool(delivery) and percentile(delivery, 99) <= LATENCY_TARGET
        loaded_ok = (
            delivered(loaded)
            and bool(loaded["delivery"])
            and percentile(loaded["delivery"], 99) <= LOADED_LATENCY_TARGET
        )
        longest = max(probe["times"], default=None)
        stalls = sum(t > STALL_TARGET for t in probe["times"])
        stall_ok = longest is not None and not probe["lost"] and longest <= STALL_TARGET
        opened, asked, still = idle["opened"], idle["asked"], idle.get("still_open", 0)
        checks = idle["checks"]
        target = most_sockets()
        sockets_ok = (
            still == asked and idle["pongs"] == asked and checks["got"] == checks["expected"] and asked >= target
        )
        failures = ", ".join(f"{name} ×{n}" for name, n in sorted(idle["failures"].items()))
        per_socket = (
            f"; ~{(idle['rss_idle'] - idle['rss_before']) / max(still, 1):.0f} KiB per socket"
            if idle.get("rss_idle") and idle.get("rss_before")
            else ""
        )
        idle_cpu = idle.get("idle_cpu")
        open_rate = opened / idle["open_seconds"] if idle["open_seconds"] else 0
        ready = [at for at, _ in idle["connects"]]
        quarter = len(ready) // 4

        def rate(times):
            return (
                f"{(len(times) - 1) / (times[-1] - times[0]):,.0f}/s"
                if len(times) > 1 and times[-1] > times[0]
                else "n/a"
            )

        cleanup_ok = idle["memberships_left"] == 0 and idle["log_errors"] == 0
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
            ("messages delivered across processes", delivery_note(lat), f"all: {mark(delivered(lat))}"),
            (
                "sockets open after the hold, one Daphne",
                f"{still:,}/{asked:,}",
                f"≥ {target:,}: {mark(sockets_ok)}" + ("" if asked >= target else f" (ran {asked:,})"),
            ),
            (
                "  of which answered ping after the hold",
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
                "  first / last quarter of them",
                f"{rate(ready[:quarter])} / {rate(ready[-quarter:])}" if quarter else "n/a",
                "",
            ),
            (
                "  per socket, p50 / p99",
                f"{pct_ms([t for _, t in idle['connects']], 50)} / {pct_ms([t for _, t in idle['connects']], 99)}",
                "",
            ),
            ("held: send → message.new, both on that Daphne, p50", pct_ms(loaded["delivery"], 50), ""),
            (
                "held: send → message.new, both on that Daphne, p99",
                pct_ms(loaded["delivery"], 99),
                f"≤ {LOADED_LATENCY_TARGET * 1000:.0f} ms: {mark(loaded_ok)}",
            ),
            ("held: send → message.sent reply, p99", pct_ms(loaded["ack"], 99), ""),
            ("held: messages delivered", delivery_note(loaded), f"all: {mark(delivered(loaded))}"),
            (
                "held: ping every 20 ms, p50 / p99 / longest",
                f"{pct_ms(probe['times'], 50)} / {pct_ms(probe['times'], 99)} / {ms(longest) if longest else 'n/a'}"
                + (f"; {probe['lost']} unanswered" if probe["lost"] else ""),
                f"longest ≤ {STALL_TARGET * 1000:.0f} ms: {mark(stall_ok)}",
            ),
            (
                f"  pings slower than {STALL_TARGET * 1000:.0f} ms",
                f"{stalls:,} of {len(probe['times']):,}",
                "",
            ),
            (
                "Daphne RSS (VmRSS)",
                f"{mib(idle['rss_before'])} before, {mib(idle.get('rss_idle'))} with the sockets{per_socket}",
                "",
            ),
            (
                "Daphne file descriptors",
                f"{idle['fds_before']} before, {idle['fds_idle']:,} with the sockets"
                if idle["fds_before"] is not None and idle["fds_idle"] is not None
                else "n/a",
                "",
            ),
            (
                f"Daphne CPU while {still:,} sockets were held",
                f"{idle_cpu:.2f} s in {idle['hold_seconds']:.0f} s" if idle_cpu is not None else "n/a",
                "",
            ),
            (
                "closing them all at once: memberships left",
                f"{idle['memberships_left']:,} of {idle['memberships_open']:,} (after {idle['settle_seconds']:.1f} s)",
                f"0: {mark(idle['memberships_left'] == 0)}",
            ),
            ("  error lines in that Daphne's log", f"{idle['log_errors']:,}", f"0: {mark(cleanup_ok)}"),
        ]
        self.table(rows)
        self.say()
        self.say(
            "Latency: frame written on the sender's socket → message.new read on the receiver's, both in this"
            " process; the client processes, both Daphnes, PostgreSQL and Redis share this machine."
        )
