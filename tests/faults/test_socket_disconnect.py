"""1,000 sockets closed at once (issue 15, items 3 and 7): every clean-up runs, nothing is left.

A real Daphne on a Redis of the test's own holds 1,000 sockets of 200 users (5 devices each); one
device of every user shows its 1:1 conversation (`conversation.view`, a mark that a disconnect
hook clears). Then every socket closes in the same instant. Counted afterwards, in that Redis and
in Daphne's log: the channel layer's group memberships (`socialsite:ws:group:*`, one per socket
while it is open), the viewing marks, and every clean-up error. An outside review saw 873
"Too many connections" errors from the channel layer's Redis pool for 1,000 closes, and
memberships left behind until their day-long expiry.
"""

import asyncio
import json
import re
import time

import pytest
from websockets.asyncio.client import connect

from accounts import tokens as jwt
from messaging import services
from tests.e2e import conftest as e2e
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(300)]

# The e2e fixtures: Daphne started as production starts it, on the test database.
spawn = e2e.spawn
start_daphne = e2e.start_daphne

USERS, DEVICES = 200, 5
SOCKETS = USERS * DEVICES
MEMBERSHIPS = b"socialsite:ws:group:*"
VIEWING = b"*messaging:viewing:*"
SETTLE_SECONDS = 60  # for the clean-up to finish: a bound, far below the memberships' expiry
# What a failed clean-up leaves in Daphne's log: the pool refusing a connection, a hook's or the
# consumer's exception, and Daphne killing a consumer whose disconnect ran past its close timeout.
ERRORS = re.compile(r"Too many connections|Traceback|\bERROR\b|\[error\s*\]|took too long to shut down")


def count_keys(client, pattern, members=True):
    """Keys matching pattern (members=False), or their sorted sets' members added up."""
    keys = list(client.scan_iter(match=pattern, count=1000))
    return sum(client.zcard(key) for key in keys) if members else len(keys)


async def hold_and_close(daphne, tokens, conversations):
    """Open every socket (50 at a time), view a conversation on device 0, then close them all at once."""
    gate = asyncio.Semaphore(50)

    async def open_one(user, device):
        async with gate:
            ws = await connect(
                daphne.ws_url,
                additional_headers={"Authorization": f"Bearer {tokens[user]}"},
                open_timeout=60,
                ping_interval=None,
                close_timeout=10,
            )
            ready = json.loads(await asyncio.wait_for(ws.recv(), 60))
            assert ready["event"] == "session.ready", ready
            if device == 0:
                frame = {"action": "conversation.view", "data": {"conversation_id": conversations[user]}, "ref": 1}
                await ws.send(json.dumps(frame))
                await asyncio.sleep(0)
            return ws

    sockets = await asyncio.gather(*(open_one(u, d) for u in range(USERS) for d in range(DEVICES)))
    await asyncio.sleep(1)  # the view actions are handled
    return sockets


def test_a_thousand_sockets_closed_at_once_leave_nothing_behind(service_env, start_daphne, private_redis):
    private_redis.client().config_set("appendonly", "no")  # a channel layer, not a store: no fsync per write
    service_env.update(REDIS_URL=private_redis.url(0), CELERY_BROKER_URL=private_redis.url(1))
    daphne = start_daphne()
    users = [UserFactory(username=f"closer{n}") for n in range(USERS)]
    tokens = [jwt.access_token(user) for user in users]
    conversations = {}
    for n in range(0, USERS, 2):
        conversation = services.conversation_direct(user=users[n], other_user_id=users[n + 1].pk)
        conversations[n] = conversations[n + 1] = str(conversation.conversation_id)
    redis = private_redis.client(0)

    async def scenario():
        sockets = await hold_and_close(daphne, tokens, conversations)
        held = count_keys(redis, MEMBERSHIPS), count_keys(redis, VIEWING, members=False)
        started = time.monotonic()
        await asyncio.gather(*(ws.close() for ws in sockets))
        return held, time.monotonic() - started

    (memberships_open, viewing_open), closing = asyncio.run(scenario())
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline and count_keys(redis, MEMBERSHIPS):
        time.sleep(0.5)
    settled = time.monotonic() - deadline + SETTLE_SECONDS
    time.sleep(1)  # what is still being logged
    left, viewing_left = count_keys(redis, MEMBERSHIPS), count_keys(redis, VIEWING, members=False)
    log = daphne.process.output()
    errors = ERRORS.findall(log)
    summary = (
        f"{SOCKETS} sockets: {memberships_open} memberships and {viewing_open} viewing marks while open; "
        f"closed in {closing:.1f} s; after {settled:.1f} s {left} memberships and {viewing_left} viewing marks "
        f"left; clean-up errors in Daphne's log: {len(errors)} ({', '.join(sorted(set(errors)))})"
    )
    print(f"\n{summary}")

    assert memberships_open == SOCKETS, summary  # the counting sees what the sockets hold
    assert viewing_open == USERS, summary
    assert errors == [], f"{summary}\n{log[-5000:]}"
    assert left == 0, summary
    assert viewing_left == 0, summary
    assert daphne.process.alive
