"""Open sockets don't each hold a Redis connection of their own (Django's cache is per context)."""

import os

import pytest
import redis
from channels.db import database_sync_to_async
from django.core.cache import cache

from tests.conftest import require
from tests.factories import UserFactory
from tests.socialsite.realtime.sockets import bearer, open_ready, run

pytestmark = pytest.mark.django_db(transaction=True)

SOCKETS = 40


def connected_clients():
    return redis.Redis.from_url(os.environ["REDIS_URL"]).info("clients")["connected_clients"]


def test_many_sockets_share_the_cache_connections():
    require(bool(os.environ.get("REDIS_URL")), "REDIS_URL not set: this is about Redis connections")
    users = UserFactory.create_batch(SOCKETS)
    headers = [bearer(user) for user in users]

    async def scenario():
        await database_sync_to_async(cache.get)("warm")  # this context's own cache object, made up front
        before = connected_clients()
        sockets = [(await open_ready(h))[0] for h in headers]  # each marks its user online and active
        grown = connected_clients() - before
        for ws in sockets:
            await ws.disconnect()
        return grown

    assert run(scenario) < SOCKETS // 4
