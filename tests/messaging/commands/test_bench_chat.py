"""bench_chat at a tiny size, against real PostgreSQL and Redis and the two Daphne processes it
starts: the data it builds, what the Daphnes wrote, the table it prints, and that it stops
them. Never timings. Without the services it skips, except under CI=true, where that fails.
"""

import io
import os
import re
import socket

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import User
from messaging.management.commands.bench_chat import PREFIX, most_sockets
from messaging.models import Conversation, Membership, Message
from tests.conftest import require

# Real commits: the Daphne processes read what the command wrote, through the test database.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

PAIRS, MESSAGES, WARMUP = 2, 20, 2
SOCKETS, SOCKET_USERS, CHECK, PER_CLIENT = 50, 10, 3, 20
ARGS = [
    *("--pairs", PAIRS, "--messages", MESSAGES, "--warmup", WARMUP, "--rate", 40),
    *("--sockets", SOCKETS, "--socket-users", SOCKET_USERS, "--connect-concurrency", 10),
    *("--idle", 1, "--check", CHECK, "--sockets-per-client", PER_CLIENT),
]
METRICS = [
    "send → message.new on the other Daphne, p50",
    "send → message.new on the other Daphne, p99",
    "send → message.sent reply (same Daphne), p50",
    "send → message.sent reply (same Daphne), p99",
    "messages delivered across processes",
    "sockets open after the hold, one Daphne",
    "  of which answered ping after the hold",
    "  message.new to idle users' sockets",
    "opening the sockets (to session.ready)",
    "  first / last quarter of them",
    "  per socket, p50 / p99",
    "held: send → message.new, both on that Daphne, p50",
    "held: send → message.new, both on that Daphne, p99",
    "held: send → message.sent reply, p99",
    "held: messages delivered",
    "held: ping every 20 ms, p50 / p99 / longest",
    "  pings slower than 50 ms",
    "Daphne RSS (VmRSS)",
    "Daphne file descriptors",
    "Daphne CPU while 50 sockets were held",
    "closing them all at once: memberships left",
    "  error lines in that Daphne's log",
]


@pytest.fixture
def services():
    require(connection.vendor == "postgresql", "DATABASE_URL is not PostgreSQL: bench_chat needs it")
    require(bool(django_settings.REDIS_URL), "REDIS_URL not set: bench_chat needs the Redis channel layer")


def bench(*args):
    out = io.StringIO()
    call_command("bench_chat", *[str(arg) for arg in args], stdout=out, stderr=io.StringIO())
    return out.getvalue()


def table(output):
    """{metric: (value, target)} from the printed table (fixed-width columns, as its header shows)."""
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("metric"))
    assert re.match(r"metric\s+value\s+target$", lines[header])
    assert set(lines[header + 1]) <= {"-", " "}
    value_at, target_at = lines[header].index("value"), lines[header].index("target")
    rows = {}
    for line in lines[header + 2 :]:
        if not line.strip():
            break
        rows[line[:value_at].rstrip()] = (line[value_at:target_at].strip(), line[target_at:].strip())
    return rows


def millis(text):
    return float(re.fullmatch(r"([\d.]+) ms", text).group(1))


def stopped(output):
    """The Daphne processes the command reported, and whether each is gone."""
    found = re.findall(r"(daphne-[AB]) pid (\d+) port (\d+) \(exit (-?\d+)\)", output)
    assert len(found) == 2, output
    for _name, pid, port, _code in found:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", int(port))) != 0
    return found


def bench_users():
    return User.objects.filter(username__startswith=PREFIX)


def test_two_daphnes_deliver_hold_the_sockets_and_one_table_comes_out(services):
    output = bench(*ARGS)

    # Its data: the pairs, the idle-socket users, one 1:1 per pair, made by the service.
    users = bench_users()
    assert users.count() == 2 * PAIRS + SOCKET_USERS
    assert not any(user.has_usable_password() for user in users)
    conversations = Conversation.objects.filter(memberships__user__in=users).distinct()
    assert conversations.count() == PAIRS + SOCKET_USERS // 2
    assert all(c.kind == Conversation.Kind.DIRECT for c in conversations)
    assert Membership.objects.filter(conversation__in=conversations).count() == 2 * conversations.count()

    # What the Daphnes wrote into this (the test) database: every message of both latency runs (quiet,
    # and with the sockets held), in order per conversation, and one check message in each sampled
    # idle conversation.
    sent = 2 * (WARMUP + MESSAGES)
    latency = Message.objects.filter(sender__username__startswith=f"{PREFIX}s")
    assert latency.count() == sent
    for conversation_id in latency.values_list("conversation_id", flat=True).distinct():
        seqs = list(latency.filter(conversation_id=conversation_id).order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, len(seqs) + 1))
    runs = {f"{run}-{n}" for run in ("bc", "bh") for n in range(WARMUP + MESSAGES)}
    assert set(latency.values_list("client_id", flat=True)) == runs
    checks = Message.objects.filter(sender__username__startswith=f"{PREFIX}i")
    assert checks.count() == CHECK
    assert f"{sent + CHECK:,} messages stored" in output

    rows = table(output)
    assert list(rows) == METRICS
    p50, p99 = (millis(rows[f"send → message.new on the other Daphne, {q}"][0]) for q in ("p50", "p99"))
    assert 0 < p50 <= p99
    assert re.fullmatch(r"≤ 20 ms: (met|MISSED)", rows["send → message.new on the other Daphne, p99"][1])
    ack50, ack99 = (millis(rows[f"send → message.sent reply (same Daphne), {q}"][0]) for q in ("p50", "p99"))
    assert 0 < ack50 <= ack99
    assert rows["messages delivered across processes"] == (f"{MESSAGES}/{MESSAGES}", "all: met")

    # Every socket held through the idle, answering, and receiving messages; 50 can't show 20,000.
    assert f"idle: {SOCKETS} sockets over {SOCKET_USERS} users from 3 client processes" in output
    target = f"≥ {most_sockets():,}: MISSED (ran {SOCKETS})"
    assert rows["sockets open after the hold, one Daphne"] == (f"{SOCKETS}/{SOCKETS}", target)
    assert rows["  of which answered ping after the hold"][0].startswith(f"{SOCKETS}/{SOCKETS} (p99 ")
    per_user = SOCKETS // SOCKET_USERS  # 5 sockets per user, both members of each checked conversation
    expected = CHECK * 2 * per_user
    assert rows["  message.new to idle users' sockets"][0].startswith(f"{expected}/{expected} (p99 ")
    assert re.fullmatch(r"[\d.]+ s, [\d,]+/s", rows["opening the sockets (to session.ready)"][0])
    rss = re.fullmatch(
        r"([\d,]+) MiB before, ([\d,]+) MiB with the sockets; ~-?\d+ KiB per socket", rows["Daphne RSS (VmRSS)"][0]
    )
    assert rss, rows["Daphne RSS (VmRSS)"]
    before, held = (int(value.replace(",", "")) for value in rss.groups())
    assert 20 <= before <= 2000 and 20 <= held <= 2000  # a Django process, not a misread unit
    assert re.fullmatch(r"[\d,]+/s / [\d,]+/s", rows["  first / last quarter of them"][0])
    held50, held99 = (millis(rows[f"held: send → message.new, both on that Daphne, {q}"][0]) for q in ("p50", "p99"))
    assert 0 < held50 <= held99
    assert re.fullmatch(r"≤ 10 ms: (met|MISSED)", rows["held: send → message.new, both on that Daphne, p99"][1])
    assert rows["held: messages delivered"] == (f"{MESSAGES}/{MESSAGES}", "all: met")
    probe = rows["held: ping every 20 ms, p50 / p99 / longest"]
    assert re.fullmatch(r"[\d.]+ ms / [\d.]+ ms / [\d.]+ ms", probe[0]), probe
    assert re.fullmatch(r"longest ≤ 50 ms: (met|MISSED)", probe[1])
    assert re.fullmatch(r"[\d,]+ of [\d,]+", rows["  pings slower than 50 ms"][0])
    fds = re.fullmatch(r"(\d+) before, ([\d,]+) with the sockets", rows["Daphne file descriptors"][0])
    assert fds and int(fds.group(2).replace(",", "")) >= int(fds.group(1)) + SOCKETS  # one per socket at least
    assert re.fullmatch(r"[\d.]+ s in \d+ s", rows["Daphne CPU while 50 sockets were held"][0])
    # Closed at once, every socket left its group, and the Daphne logged no error.
    left = rows["closing them all at once: memberships left"]
    assert re.fullmatch(rf"0 of {SOCKETS} \(after [\d.]+ s\)", left[0]) and left[1] == "0: met", left
    assert rows["  error lines in that Daphne's log"] == ("0", "0: met")
    assert re.search(r"machine: \d+ cores, .* load average [\d.]+ before, [\d.]+ after", output)

    # Both Daphnes are gone, their ports closed.
    stopped(output)

    # A second run refuses to mix its data with the first; --reset replaces it.
    first_ids = set(users.values_list("pk", flat=True))
    with pytest.raises(CommandError, match="--reset"):
        bench(*ARGS)
    output = bench(*ARGS[:8], "--sockets", 4, "--socket-users", 2, "--idle", 0, "--check", 1, "--reset")
    assert bench_users().count() == 2 * PAIRS + 2
    assert not set(bench_users().values_list("pk", flat=True)) & first_ids
    assert Conversation.objects.filter(memberships__user__in=bench_users()).distinct().count() == PAIRS + 1
    assert Message.objects.filter(sender__username__startswith=PREFIX).count() == sent + 1
    assert table(output)["sockets open after the hold, one Daphne"][0] == "4/4"
    stopped(output)


def test_refuses_to_run_without_postgres_and_redis(settings):
    settings.REDIS_URL = ""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    with pytest.raises(CommandError, match=r"bench_chat needs (PostgreSQL: set DATABASE_URL|Redis: set REDIS_URL)"):
        bench("--sockets", 1)
    assert not bench_users().exists()
