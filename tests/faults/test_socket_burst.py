"""The 500-socket group burst (issue 15, items 3 and 7): no chat client loses a message.

A real Daphne on a Redis of the test's own (the project's channel layer, channels_redis), a
50-member group, 10 sockets per member (500), and 10 members sending 30 messages each over their
sockets as fast as the server answers. Every client follows docs/realtime.md "Gaps and resync":
it keeps the messages that arrive live as `message.new`, and when a `seq` shows a hole or the
server says `session.resync` it fetches
`GET /api/v1/users/me/messages?conversation_id=&after=<seq held through>`, following `next`.

Counted: every one of the 500 clients ends with exactly the 300 messages (by id), and a client
that missed a live `message.new` was told so (`session.resync`): no silent loss. An outside
review of the code before this test saw the senders' sockets get 177-191 of the 300 and no signal.
Run twice: with the default queue sizes, and with queues of 20 so that drops surely happen.
"""

import asyncio
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests
from django.db import connection
from websockets.asyncio.client import connect

from accounts import tokens as jwt
from tests.conftest import require
from tests.e2e import conftest as e2e
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(420)]

# The e2e fixtures: Daphne started as production starts it, on the test database.
spawn = e2e.spawn
start_daphne = e2e.start_daphne

MEMBERS, DEVICES, SENDERS, PER_SENDER = 50, 10, 10, 30
TOTAL = SENDERS * PER_SENDER
SETTLE_SECONDS = 180  # after the last send, for every client to hold everything: a bound, not a measurement
# Each member's first device acknowledges (message.delivered) the newest message it holds, once a
# second: receipts flow to the senders as in real use, without 500 devices' acks drowning the sends.
ACK_EVERY = 1.0


@dataclass
class Client:
    """One device of a member, holding the group's messages as docs/realtime.md says."""

    member: int
    device: int
    user_id: str
    token: str
    ws: object = None
    held: dict = field(default_factory=dict)  # message id -> seq
    seqs: set = field(default_factory=set)
    through: int = 0  # every message up to this seq is held
    live: set = field(default_factory=set)  # ids that came as message.new
    first_live: int = 0
    first_rest: int = 0
    duplicates: int = 0  # a second message.new for the same id
    holes: int = 0  # message.new frames that showed a hole below them
    told: int = 0  # session.resync frames
    fetches: int = 0
    resyncing: bool = False
    again: bool = False
    ack_due: bool = False

    def add(self, message, *, live):
        key = message["id"]
        if live:
            if key in self.live:
                self.duplicates += 1
            self.live.add(key)
        if key in self.held:
            return
        self.held[key] = message["seq"]
        self.seqs.add(message["seq"])
        if live:
            self.first_live += 1
        else:
            self.first_rest += 1
        while self.through + 1 in self.seqs:
            self.through += 1

    @property
    def hole(self):
        return bool(self.seqs) and max(self.seqs) > self.through


class Burst:
    def __init__(self, daphne, conversation_id, clients):
        self.daphne = daphne
        self.conversation_id = conversation_id
        self.clients = clients
        self.replies = {}  # ref -> future of the message.sent reply
        self.http = ThreadPoolExecutor(32)
        self.errors = []

    # --- one client --------------------------------------------------------------------------------

    async def open(self, client, gate):
        async with gate:
            client.ws = await connect(
                self.daphne.ws_url,
                additional_headers={"Authorization": f"Bearer {client.token}"},
                open_timeout=60,
                ping_interval=None,  # a loaded test machine must not turn a late pong into a close
                max_size=None,
            )
            ready = json.loads(await asyncio.wait_for(client.ws.recv(), 60))
            assert ready["event"] == "session.ready", ready

    async def read(self, client):
        try:
            async for raw in client.ws:
                self.on_frame(client, json.loads(raw))
        except Exception as exc:  # a closed socket is a failure here: nobody reconnects
            self.errors.append(f"client {client.member}: {exc!r}")

    def on_frame(self, client, frame):
        event, data = frame["event"], frame["data"]
        if event == "message.new" and data["conversation_id"] == self.conversation_id:
            client.add(data, live=True)
            if client.hole:  # a seq was skipped: fetch it now, not at the next reconnect
                client.holes += 1
                self.resync(client)
            if client.device == 0 and data["sender_id"] != client.user_id and not client.ack_due:
                client.ack_due = True
                asyncio.get_running_loop().call_later(ACK_EVERY, self.ack, client)
        elif event == "session.resync":
            client.told += 1
            self.resync(client)
        elif event == "message.sent":
            future = self.replies.pop(frame.get("ref"), None)
            if future is not None:
                future.set_result(data)
        elif event == "error":
            self.errors.append(f"client {client.member}: {data}")
            future = self.replies.pop(data.get("ref"), None)
            if future is not None:
                future.set_exception(AssertionError(data))

    def ack(self, client):
        """message.delivered for the newest message held (it covers all before it)."""
        client.ack_due = False
        newest = max(client.held, key=client.held.get)
        frame = {"action": "message.delivered", "data": {"conversation_id": self.conversation_id, "message_id": newest}}
        asyncio.ensure_future(client.ws.send(json.dumps(frame)))

    def resync(self, client):
        """One fetch at a time per client; a gap seen meanwhile runs it once more."""
        if client.resyncing:
            client.again = True
            return
        client.resyncing = True
        asyncio.ensure_future(self._resync(client))

    async def _resync(self, client):
        try:
            while True:
                client.again = False
                url = f"{self.daphne.url}/api/v1/users/me/messages"
                params = {"conversation_id": self.conversation_id, "after": client.through, "limit": 50}
                while url:
                    page = await self.get(client, url, params)
                    client.fetches += 1
                    for message in page["results"]:
                        client.add(message, live=False)
                    url, params = page["next"], None
                if not client.again:
                    return
        except Exception as exc:
            self.errors.append(f"client {client.member} resync: {exc!r}")
        finally:
            client.resyncing = False

    async def get(self, client, url, params):
        def call():
            response = requests.get(url, params=params, headers={"Authorization": f"Bearer {client.token}"}, timeout=60)
            assert response.status_code == 200, response.text
            return response.json()

        return await asyncio.get_running_loop().run_in_executor(self.http, call)

    # --- senders -------------------------------------------------------------------------------------

    async def send_all(self, client, sender):
        sent = []
        for n in range(PER_SENDER):
            ref = f"s{sender}-{n}"
            self.replies[ref] = asyncio.get_running_loop().create_future()
            data = {"conversation_id": self.conversation_id, "content": f"burst {sender}/{n}", "client_id": ref}
            await client.ws.send(json.dumps({"action": "message.send", "data": data, "ref": ref}))
            sent.append((await asyncio.wait_for(self.replies[ref], 60))["id"])
        return sent

    async def run(self):
        gate = asyncio.Semaphore(25)
        await asyncio.gather(*(self.open(client, gate) for client in self.clients))
        readers = [asyncio.ensure_future(self.read(client)) for client in self.clients]
        started = time.monotonic()
        senders = [self.clients[member * DEVICES] for member in range(SENDERS)]
        sent = await asyncio.gather(*(self.send_all(client, n) for n, client in enumerate(senders)))
        sending = time.monotonic() - started
        expected = {key for ids in sent for key in ids}
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline and not all(
            len(client.held) == TOTAL and not client.resyncing for client in self.clients
        ):
            await asyncio.sleep(0.5)
        settled = time.monotonic() - started
        await asyncio.gather(*(client.ws.close() for client in self.clients), return_exceptions=True)
        for reader in readers:
            reader.cancel()
        self.http.shutdown(wait=False)
        return expected, sending, settled


def members(count):
    users = [UserFactory(username=f"burst{n}") for n in range(count)]
    return users, [jwt.access_token(user) for user in users]


@pytest.mark.parametrize(
    "queues",
    [
        pytest.param({}, id="default-queues"),
        # Queues of 20 events: drops are sure to happen, and every one must heal.
        pytest.param({"CHANNEL_SOCKET_CAPACITY": "20", "CHANNEL_PROCESS_CAPACITY": "20"}, id="queues-of-20"),
    ],
)
def test_every_client_of_a_500_socket_group_ends_with_all_300_messages(
    queues, private_redis, service_env, start_daphne
):  # private_redis first: it stops after Daphne
    # The burst is the production shape: PostgreSQL under a Redis channel layer. On SQLite the 10
    # senders queue on its one write lock, which measures SQLite, and it cost CI's embedded pass over
    # five minutes. CI's PostgreSQL pass runs it.
    require(connection.vendor == "postgresql", "the 500-socket burst runs on PostgreSQL (DATABASE_URL)")
    private_redis.client().config_set("appendonly", "no")  # a channel layer, not a store: no fsync per event
    # A load test runs Daphne at production speed: under coverage's tracer (CI's PostgreSQL pass) each
    # request and frame costs several times its Python, and with issue 19's request logs and metrics
    # the resync no longer fit the deadline there (170 of 300 live, 204 s), while it took 51 s, all
    # live, without it. What Daphne runs here is covered by the other realtime tests.
    service_env.pop("COVERAGE_PROCESS_CONFIG", None)
    service_env.update(
        REDIS_URL=private_redis.url(0),
        CELERY_BROKER_URL=private_redis.url(1),  # tasks queue there; this test runs no worker
        THROTTLE_MESSAGE="100000/1m",
        **queues,
    )
    daphne = start_daphne()
    users, tokens = members(MEMBERS)
    response = requests.post(
        f"{daphne.url}/api/v1/conversations",
        json={"title": "burst", "member_ids": [str(user.pk) for user in users[1:]]},
        headers={"Authorization": f"Bearer {tokens[0]}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    conversation_id = response.json()["id"]

    clients = [Client(n, d, str(users[n].pk), tokens[n]) for n in range(MEMBERS) for d in range(DEVICES)]
    burst = Burst(daphne, conversation_id, clients)
    expected, sending, settled = asyncio.run(burst.run())

    log = daphne.process.output()
    # socialsite.logs' console lines: "<time> [warning  ] <message> [socialsite.realtime.layers] ..."
    warnings = len(re.findall(r"\[warning\s*\].*\[socialsite\.realtime\.layers\]", log))
    live = sum(client.first_live for client in clients)
    rest = sum(client.first_rest for client in clients)
    complete = sum(set(client.held) == expected for client in clients)
    silent = [c for c in clients if len(c.live) < TOTAL and not c.told]
    summary = (
        f"{complete}/{len(clients)} clients hold all {TOTAL}; messages first seen live {live}, by resync {rest}; "
        f"live message.new missed {sum(TOTAL - len(c.live) for c in clients)} "
        f"(per client {min(len(c.live) for c in clients)}-{max(len(c.live) for c in clients)} of {TOTAL} came live); "
        f"clients told session.resync {sum(bool(c.told) for c in clients)} ({sum(c.told for c in clients)} frames); "
        f"message.new showing a hole {sum(c.holes for c in clients)}; REST pages {sum(c.fetches for c in clients)}; "
        f"clients with a silent loss {len(silent)}; duplicates {sum(c.duplicates for c in clients)}; "
        f"drop warnings in Daphne's log {warnings}; sending {sending:.1f} s, all settled {settled:.1f} s"
    )
    print(f"\n[{'default' if not queues else 'queues of 20'}] {summary}")

    assert len(expected) == TOTAL
    assert burst.errors == [], burst.errors[:5]
    assert complete == len(clients), summary
    assert all(len(client.held) == TOTAL for client in clients), summary  # no duplicates kept
    assert silent == [], summary  # whoever missed a live message.new was told
    if queues:  # the small queues did overflow: the path above was exercised, and logged as a WARNING
        assert warnings > 0 and any(client.told for client in clients), summary
