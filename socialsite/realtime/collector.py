"""Garbage collection for a web process holding thousands of sockets, without long pauses.

Each open socket is a few hundred objects the cyclic collector tracks, and Python's full
collections walk all of them: with 8,000 idle sockets a full collection took 0.2-2 s and ran every
few seconds (the "stalls with many idle sockets"). Transient objects promoted to the oldest
generation (a ping in flight, a message being sent) keep triggering it, and each walks every
socket again.

So the web process (`socialsite.serve` calls `start()`) does this instead. Every FREEZE_EVERY
seconds it collects the young generations and then calls `gc.freeze()`, which moves every survivor
(mostly the sockets that are still open) to where no collection walks them. A socket that closes
leaves a few dozen objects in reference cycles there (~5 KB), and so may a request that was in
flight at a freeze. A full collection of everything reclaims them: a pause of a second or more
with tens of thousands of sockets open, so it runs rarely. It runs once as many sockets have
closed as are open (at least SWEEP_AFTER_CLOSES) and none closed for QUIET seconds (after a mass
disconnect, not in the middle of it), or once four times that many closed, and at least every
SWEEP_EVERY seconds (an hour: a pause of about a second then, with 20,000 sockets open).
`socialsite.asgi` already freezes what the process loaded at start.
"""

import asyncio
import gc
import logging
import time

logger = logging.getLogger(__name__)

FREEZE_EVERY = 0.5  # seconds
SWEEP_AFTER_CLOSES = 10_000  # sockets closed since the last full collection, at least
QUIET = 5.0  # seconds without a socket closing before a full collection
SWEEP_EVERY = 3600.0  # seconds: a full collection then in any case (when quiet)

open_sockets = 0
closed = 0  # since the last full collection
_last_close = 0.0
_swept = time.monotonic()
_started = False


def socket_opened():
    global open_sockets
    open_sockets += 1


def socket_closed():
    global open_sockets, closed, _last_close
    open_sockets -= 1
    closed += 1
    _last_close = time.monotonic()


def sweep_due():
    due = max(SWEEP_AFTER_CLOSES, open_sockets)
    now = time.monotonic()
    quiet = now - _last_close >= QUIET
    return ((closed >= due or now - _swept >= SWEEP_EVERY) and quiet) or closed >= 4 * due


def collect():
    """Collect the young generations and freeze the survivors; a full collection when one is due."""
    global closed, _swept
    if sweep_due():
        began = time.perf_counter()
        gc.unfreeze()
        found = gc.collect()
        gc.freeze()
        took = time.perf_counter() - began
        logger.info("Full collection after %d sockets closed: %d objects freed in %.0f ms", closed, found, 1000 * took)
        closed, _swept = 0, time.monotonic()
        return
    gc.collect(1)
    gc.freeze()


def start(loop=None):
    """Collect on this loop every FREEZE_EVERY seconds from now on (once per process)."""
    global _started
    if _started:
        return
    _started = True
    loop = loop or asyncio.get_event_loop()

    def tick():
        try:
            collect()
        finally:
            loop.call_later(FREEZE_EVERY, tick)

    loop.call_later(FREEZE_EVERY, tick)
