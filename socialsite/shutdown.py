"""Graceful shutdown of a web process: the moment it starts, long-lived requests wind up.

`socialsite.serve` (the Daphne we run) calls `begin()` when the process gets SIGTERM. Code that
holds a request open for long (the SSE stream and the long-poll, notifications/api/listen.py)
waits with `wait()` beside its own work and, once `draining()`, answers at once with a retry
hint (`retry_after()`) so the client comes back, to another process, soon. WebSockets are
closed by the server itself (1001); the consumer only stops sending.

Without `socialsite.serve` (tests in process, `manage.py runserver`) nothing calls `begin()`.
"""

import asyncio
import random

_draining = False
_waiters: set[asyncio.Future[None]] = set()


def draining():
    """True once the process has started shutting down."""
    return _draining


def begin():
    """Start shutting down: every pending `wait()` returns. Safe from any thread."""
    global _draining
    _draining = True
    for future in list(_waiters):
        future.get_loop().call_soon_threadsafe(_release, future)


def _release(future):
    if not future.done():
        future.set_result(None)


async def wait():
    """Return once the process starts shutting down (at once if it has)."""
    future = asyncio.get_running_loop().create_future()
    _waiters.add(future)
    try:
        if not _draining:  # checked after joining _waiters, so a begin() in between is never missed
            await future
    finally:
        _waiters.discard(future)


def retry_after():
    """Seconds a client sent away should wait before reconnecting.

    Random, so the clients a process drops at once don't all come back in the same instant.
    """
    return random.randint(1, 5)  # noqa: S311 (not a secret)
