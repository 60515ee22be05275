"""Sync work of the socket code on the executor's thread pool.

Channels' `database_sync_to_async` runs everything on one thread per process (thread_sensitive):
with thousands of sockets, every handshake's user lookup and every presence write queued there
behind all the others. Here they run on the loop's thread pool instead, and the thread gives its
database connection back (to the pool, with DB_POOL) as soon as the call returns. That is done
here rather than left to Channels' close_old_connections, which its test communicator turns off:
there, every call leaked a pooled connection.
"""

import functools

from asgiref.sync import sync_to_async
from django.db import connections


def in_thread_pool(func):
    """`await in_thread_pool(func)(*args)`: func(*args) on the thread pool, its connection returned."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            for connection in connections.all(initialized_only=True):
                connection.close()

    return sync_to_async(run, thread_sensitive=False)
