"""Holds a benchmark's idle sockets in a process of its own: `python -m socialsite.socket_holder URL`.

bench_chat spreads tens of thousands of sockets over a few of these, so that no single client
process runs out of file descriptors or stalls its own loop, and its own timings (the latency run,
the stall probe) stay clean. Commands come as JSON lines on stdin, each answered with one JSON
line on stdout, in order:

  {"cmd": "open", "sockets": [[user_id, token], ...], "concurrency": n}
      -> {"opened", "failures": {error: count}, "connects": [[began, ready], ...]}
  {"cmd": "count"} -> {"open"}                     sockets still open
  {"cmd": "ping", "concurrency": n} -> {"pongs", "times"}   a `ping` action on every socket
  {"cmd": "arm", "checks": [[content, [user_id, ...]], ...]} -> {"armed"}
      every socket of those users starts waiting for a message.new with that content
  {"cmd": "send", "user": id, "frame": text} -> {"sent_at"}   on that user's first socket
  {"cmd": "collect"} -> {"checks": {content: [arrival or null, ...]}}
  {"cmd": "close"} -> {"closed", "seconds"}        every socket at once; then it exits

Times are time.monotonic(), one clock for every process on the machine.
"""

import asyncio
import json
import sys
import time
from collections import Counter

from websockets.asyncio.client import connect
from websockets.protocol import State

TIMEOUT = 60


def frame(action, data, ref=None):
    return json.dumps({"action": action, "data": data, **({"ref": ref} if ref is not None else {})})


class Holder:
    def __init__(self, url):
        self.url = url
        self.sockets = []  # (user_id, ws)
        self.waiters = {}  # content -> [task, ...]

    async def open_one(self, user_id, token, gate, failures, times):
        async with gate:
            began = time.monotonic()
            try:
                ws = await connect(
                    self.url,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    proxy=None,
                    open_timeout=TIMEOUT,
                    ping_interval=None,  # Daphne pings every 20 s; this client answers
                    close_timeout=10,
                    max_queue=None,  # never stop reading (and answering Daphne's pings) while idle
                )
                first = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
                if first.get("event") != "session.ready":
                    await ws.close()
                    raise RuntimeError(f"expected session.ready, got {first.get('event')}")
            except Exception as exc:
                failures[type(exc).__name__] += 1
                return
            times.append((began, time.monotonic()))
            self.sockets.append((user_id, ws))

    async def open(self, sockets, concurrency):
        gate, failures, times = asyncio.Semaphore(concurrency), Counter(), []
        await asyncio.gather(*(self.open_one(user_id, token, gate, failures, times) for user_id, token in sockets))
        return {"opened": len(self.sockets), "failures": dict(failures), "connects": times}

    def count(self):
        return {"open": sum(ws.state is State.OPEN for _, ws in self.sockets)}

    @staticmethod
    async def wait_for(ws, matches, timeout=15):
        """Read frames until one matches: its arrival time, or None on a timeout or a close."""
        deadline = time.monotonic() + timeout
        try:
            while (left := deadline - time.monotonic()) > 0:
                if matches(json.loads(await asyncio.wait_for(ws.recv(), left))):
                    return time.monotonic()
        except Exception:
            return None
        return None

    async def ping(self, concurrency):
        gate, times = asyncio.Semaphore(concurrency), []

        async def one(number, ws):
            async with gate:
                began = time.monotonic()
                try:
                    await ws.send(frame("ping", {"ts": number}, ref=f"p{number}"))
                except Exception:
                    return False
                arrived = await self.wait_for(ws, lambda f: f.get("event") == "pong" and f.get("ref") == f"p{number}")
                if arrived is not None:
                    times.append(arrived - began)
                return arrived is not None

        answered = await asyncio.gather(*(one(n, ws) for n, (_, ws) in enumerate(self.sockets)))
        return {"pongs": sum(answered), "times": times}

    def arm(self, checks):
        armed = 0
        for content, users in checks:

            def is_it(f, content=content):
                return f.get("event") == "message.new" and (f.get("data") or {}).get("content") == content

            tasks = [asyncio.ensure_future(self.wait_for(ws, is_it)) for user, ws in self.sockets if user in users]
            self.waiters[content] = tasks
            armed += len(tasks)
        return {"armed": armed}

    async def send(self, user, text):
        ws = next(ws for user_id, ws in self.sockets if user_id == user)
        sent_at = time.monotonic()
        await ws.send(text)
        return {"sent_at": sent_at}

    async def collect(self):
        checks = {content: await asyncio.gather(*tasks) for content, tasks in self.waiters.items()}
        self.waiters = {}
        return {"checks": checks}

    async def close(self):
        began = time.monotonic()
        await asyncio.gather(*(ws.close() for _, ws in self.sockets), return_exceptions=True)
        return {"closed": len(self.sockets), "seconds": time.monotonic() - began}


async def main(url):
    holder = Holder(url)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**30)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        name = command.pop("cmd")
        if name == "open":
            reply = await holder.open([tuple(pair) for pair in command["sockets"]], command["concurrency"])
        elif name == "count":
            reply = holder.count()
        elif name == "ping":
            reply = await holder.ping(command["concurrency"])
        elif name == "arm":
            reply = holder.arm(command["checks"])
        elif name == "send":
            reply = await holder.send(command["user"], command["frame"])
        elif name == "collect":
            reply = await holder.collect()
        elif name == "close":
            reply = await holder.close()
        else:
            reply = {"error": f"unknown command {name!r}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
        if name == "close":
            return


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
