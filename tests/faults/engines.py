"""Engines a fault test owns: Redis, a RabbitMQ node, Celery workers and beat, killable by PID.

Each one runs on free loopback ports with its data under the test's own directory, in a process
group of its own, so kill() reaches everything it started (rabbitmq-server is a shell script
running beam.smp; a prefork worker has pool children) and restart() brings it back on the same
port and data. Nothing here touches the machine's shared PostgreSQL, Redis or RabbitMQ.
"""

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import weakref
from pathlib import Path
from urllib.parse import quote

import amqp
import pytest
import redis

from tests.e2e.conftest import ROOT, free_port

# A cold RabbitMQ node takes ~6 s on this 2-core machine when idle; leave room for a loaded one.
START_SECONDS = 90
STOP_SECONDS = 20
# Debian's /usr/sbin/rabbitmq-server is a wrapper that switches to the rabbitmq user and
# /var/lib/rabbitmq (the shared node's home); this is the script it runs.
RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
RABBITMQCTL = Path("/usr/lib/rabbitmq/bin/rabbitmqctl")


_running = weakref.WeakSet()


@atexit.register
def _kill_leftovers():
    """A crashed or interrupted test run must not leave nodes running on the machine."""
    for service in list(_running):
        service.kill()


def _proc_stats():
    """(pid, state, ppid, pgrp) of every process, from /proc."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # it exited while we looked
            continue
        # The command name is in parentheses and may hold spaces; the fields after it are fixed.
        state, ppid, pgrp = stat.rpartition(")")[2].split()[:3]
        yield int(entry.name), state, int(ppid), int(pgrp)


def _live(pid, state):
    """Not a zombie. A multithreaded process (beam.smp) shows its leader thread as a zombie while
    other threads are still exiting and holding its sockets; it is gone once all of them are."""
    if state != "Z":
        return True
    try:
        tasks = list(os.scandir(f"/proc/{pid}/task"))
    except OSError:
        return False
    for task in tasks:
        try:
            if Path(task.path, "stat").read_text().rpartition(")")[2].split()[0] != "Z":
                return True
        except OSError:
            continue
    return False


def group_members(pgid):
    """Live pids of a process group (zombies excluded: they hold no port and no file)."""
    return [pid for pid, state, _, pgrp in _proc_stats() if pgrp == pgid and _live(pid, state)]


def children(pid):
    """Live child pids of a process."""
    return [child for child, state, ppid, _ in _proc_stats() if ppid == pid and _live(child, state)]


def port_open(port, timeout=0.5):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


class Service:
    """A process in its own process group: start, stop (SIGTERM), kill (SIGKILL), restart.

    The log file is appended to across restarts; output(since_start=True) reads the current run's.
    """

    ports = ()  # what it listens on: free again once a kill or stop returns

    def __init__(self, name, argv, env, log_dir, cwd=ROOT):
        self.name = name
        self.argv = [str(arg) for arg in argv]
        self.env = env
        self.cwd = cwd
        self.log_path = Path(log_dir) / f"{name}.log"
        self.popen = None
        self.starts = 0
        self._reaped = False
        self._log = None
        self._log_start = 0

    def __repr__(self):
        return f"<{type(self).__name__} {self.name} pid={self.pid}>"

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    @property
    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def start(self):
        """Start it and wait until it is ready; the same argv, port and data every time."""
        if self.alive:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed when the process ends
        self._log_start = self._log.tell()
        self.popen = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill() reaches its children too
        )
        self._reaped = False
        _running.add(self)
        self.starts += 1
        self.wait_ready()
        return self

    def wait_ready(self):
        """Block until the service answers; subclasses say how."""

    def output(self, since_start=False):
        data = self.log_path.read_bytes() if self.log_path.exists() else b""
        return data[self._log_start :].decode(errors="replace") if since_start else data.decode(errors="replace")

    def wait_for(self, ready, what, timeout=START_SECONDS):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                pytest.fail(f"{self.name} exited with {self.popen.returncode} before {what}:\n{self.output()[-20000:]}")
            if ready():
                return
            time.sleep(0.1)
        pytest.fail(f"{self.name}: no {what} within {timeout} s:\n{self.output()[-20000:]}")

    def signal_group(self, signum):
        if self.popen is None or self._reaped:
            return
        if self.popen.poll() is not None and not group_members(self.pid):
            return  # all gone: the group id is free and may be someone else's soon
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signum)

    def kill(self):
        """SIGKILL the whole process group at once: a crash, nothing gets to clean up or ack."""
        if self.popen is None:
            return
        self.signal_group(signal.SIGKILL)
        self._reap()

    def pause(self):
        """SIGSTOP the group: a hung engine that keeps its connections open and answers nothing."""
        self.signal_group(signal.SIGSTOP)

    def resume(self):
        self.signal_group(signal.SIGCONT)

    def stop(self, timeout=STOP_SECONDS):
        """SIGTERM to the leader only (it stops its own children cleanly), SIGKILL after `timeout`."""
        if self.popen is None:
            return
        if self.alive:
            self.resume()  # a paused process would not act on SIGTERM
            self.popen.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout)
        self.signal_group(signal.SIGKILL)  # whatever outlived the leader
        self._reap()

    def restart(self):
        self.stop()
        return self.start()

    def close(self):
        """Fixture teardown: stop, whatever state a test left it in."""
        self.stop()

    def _reap(self):
        self.popen.wait(10)
        # Members reparented away from the leader (beam.smp under the rabbitmq-server script) are
        # not waited for by popen.wait(); the ports are only free once they are gone.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not group_members(self.pid) and not any(port_open(port, 0.2) for port in self.ports):
                break
            time.sleep(0.05)
        self._reaped = True
        _running.discard(self)
        if self._log is not None:
            self._log.close()
            self._log = None


class RedisServer(Service):
    """redis-server on a free port with append-only persistence fsynced on every write.

    With `appendfsync always` a write is on disk before Redis answers it, so after kill() and
    start() on the same port and directory, everything it acknowledged is back.
    """

    def __init__(self, base_dir, name="redis", extra=()):
        base_dir = Path(base_dir)
        self.data_dir = base_dir / f"{name}-data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        binary = shutil.which("redis-server") or "redis-server"
        argv = [
            *(binary, "--port", self.port, "--bind", "127.0.0.1", "--dir", self.data_dir),
            *("--appendonly", "yes", "--appendfsync", "always", "--save", ""),
            *("--daemonize", "no", "--logfile", "", "--databases", "16"),
            *extra,  # later arguments win
        ]
        super().__init__(name, argv, dict(os.environ), base_dir, cwd=base_dir)

    @property
    def ports(self):
        return (self.port,)

    def url(self, db=0):
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db=0, **kwargs):
        kwargs.setdefault("socket_connect_timeout", 2)
        kwargs.setdefault("socket_timeout", 5)
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, **kwargs)

    def is_up(self):
        try:
            with redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5) as c:
                return bool(c.ping())
        except redis.RedisError:  # refused, or still loading its append-only file
            return False

    def wait_ready(self):
        self.wait_for(self.is_up, "answer PING")


class Epmd(Service):
    """Erlang's port mapper in the foreground, so it can be stopped by PID like the rest."""

    def __init__(self, name, port, env, base_dir):
        self.port = port
        argv = [shutil.which("epmd") or "epmd", "-port", port, "-address", "127.0.0.1"]
        super().__init__(name, argv, env, base_dir, cwd=base_dir)

    @property
    def ports(self):
        return (self.port,)

    def wait_ready(self):
        self.wait_for(lambda: port_open(self.port), "epmd listening")


class RabbitNode(Service):
    """A RabbitMQ node of its own: a unique node name, its own epmd, ports and data directory.

    kill() SIGKILLs the script and beam.smp together (one process group); start() after it
    brings the same node back on the same port with its data directory, so durable queues and
    persistent messages survive. guest/guest works because clients connect over loopback.
    """

    def __init__(self, base_dir, name="rabbitmq"):
        base = Path(base_dir) / name
        for sub in ("home", "mnesia", "log"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.nodename = f"faults-{uuid.uuid4().hex[:10]}@localhost"
        self.vhost = "/"
        config = base / "rabbitmq.conf"
        config.write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            "log.console = true\nlog.console.level = info\nlog.file = false\n"
        )
        (base / "enabled_plugins").write_text("[].\n")
        (base / "rabbitmq-env.conf").write_text("")  # not Debian's, which names the shared node
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update(
            HOME=str(base / "home"),  # the Erlang cookie lands here
            RABBITMQ_CONF_ENV_FILE=str(base / "rabbitmq-env.conf"),
            RABBITMQ_CONFIG_FILE=str(config),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(base / "advanced.config"),  # absent: none
            RABBITMQ_ENABLED_PLUGINS_FILE=str(base / "enabled_plugins"),
            RABBITMQ_NODENAME=self.nodename,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(base / "mnesia"),
            RABBITMQ_LOG_BASE=str(base / "log"),
            RABBITMQ_LOGS="-",
            RABBITMQ_PID_FILE=str(base / "rabbitmq.pid"),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
            # A private epmd: the shared node's stays untouched, and none is left running after us.
            ERL_EPMD_PORT=str(self.epmd_port),
            ERL_EPMD_ADDRESS="127.0.0.1",
        )
        super().__init__(name, [RABBITMQ_SERVER], env, base, cwd=base)
        self.epmd = Epmd(f"{name}-epmd", self.epmd_port, env, base)
        self.last_start_seconds = None

    @property
    def ports(self):
        return (self.port, self.dist_port)

    def start(self):
        if not self.epmd.alive:
            self.epmd.start()
        began = time.monotonic()
        super().start()
        self.last_start_seconds = time.monotonic() - began
        return self

    def close(self):
        self.stop()
        self.epmd.stop()

    def url(self, vhost=None):
        vhost = self.vhost if vhost is None else vhost
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{quote(vhost, safe='')}"

    def is_up(self):
        """True once an AMQP handshake succeeds (the listener opens when the boot is done)."""
        connection = amqp.Connection(f"127.0.0.1:{self.port}", connect_timeout=1)
        try:
            connection.connect()
        except (OSError, amqp.exceptions.AMQPError):
            return False
        with contextlib.suppress(OSError, amqp.exceptions.AMQPError):
            connection.close()
        return True

    def wait_ready(self):
        self.wait_for(self.is_up, "AMQP handshake")

    def ctl(self, *args, timeout=60):
        """rabbitmqctl against this node (about half a second per call: it boots an Erlang VM)."""
        result = subprocess.run(
            [RABBITMQCTL, "-n", self.nodename, *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.returncode}\n{result.stdout}{result.stderr}")
        return result.stdout

    def sync_registries(self):
        """Write the node's DETS tables to disk now.

        Ra (quorum queues) registers each queue's server in a DETS table saved every 3 minutes;
        a node SIGKILLed before that comes back without the queue's server: the queue exists
        but never gets a leader, and every get or consume on it times out. Production queues
        are declared long before a crash; a test that declares and kills within seconds calls
        this in between to be in the same position.
        """
        return self.ctl("eval", "[{T, dets:sync(T)} || T <- dets:all()].")

    def add_vhost(self, vhost):
        self.ctl("add_vhost", vhost)
        self.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        return vhost


class CeleryProcess(Service):
    """A Celery worker or beat of the project (or any app), restartable with the same argv."""

    def __init__(self, name, argv, env, log_dir, ready_text):
        super().__init__(name, argv, env, log_dir)
        self.ready_text = ready_text

    def wait_ready(self):
        self.wait_for(lambda: self.ready_text in self.output(since_start=True), repr(self.ready_text) + " in its log")

    def pool_pids(self):
        """The prefork pool's child processes (empty for --pool=solo)."""
        return children(self.pid) if self.alive else []

    def kill_pool(self):
        """SIGKILL the pool children only: the main process lives and sees WorkerLostError."""
        pids = self.pool_pids()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return pids


def worker(
    env,
    log_dir,
    name="worker",
    app="socialsite",
    pool="prefork",
    concurrency=1,
    queues=None,
    extra=(),
):
    """A Celery worker (not started). No -Q by default: it consumes every declared queue."""
    argv = [
        *(sys.executable, "-m", "celery", "-A", app, "worker", "--loglevel=INFO"),
        *(f"--pool={pool}", f"--concurrency={concurrency}", "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h"),
        # No cluster chatter: a fast start, and nothing else on the broker to account for.
        *("--without-mingle", "--without-gossip", "--without-heartbeat"),
        *(("-Q", ",".join(queues)) if queues else ()),
        *extra,
    ]
    return CeleryProcess(name, argv, env, log_dir, ready_text=" ready.")


def beat(env, log_dir, name="beat", app="socialsite", extra=()):
    """Celery beat (not started), its schedule file under log_dir rather than the checkout."""
    argv = [
        *(sys.executable, "-m", "celery", "-A", app, "beat", "--loglevel=INFO"),
        *("-s", Path(log_dir) / f"{name}-schedule"),
        *extra,
    ]
    return CeleryProcess(name, argv, env, log_dir, ready_text="beat: Starting...")


class RedisCluster:
    """A Redis Cluster of `size` primaries and no replicas, on free loopback ports.

    Each node is a RedisServer (cluster-enabled, no persistence), stopped by PID; `redis-cli
    --cluster create` spreads the 16,384 slots over them. start() returns once every node reports
    cluster_state:ok and knows every other.
    """

    def __init__(self, base_dir, size=3):
        base_dir = Path(base_dir)
        self.base_dir = base_dir
        self.nodes = []
        for index in range(size):
            name = f"cluster-{index}"
            config = base_dir / f"{name}-data" / "nodes.conf"
            # The bus port named: by default it is the port + 10,000, which fails above 55,535.
            extra = ("--cluster-enabled", "yes", "--cluster-config-file", config, "--cluster-port", free_port())
            extra += ("--cluster-node-timeout", "5000", "--appendonly", "no")
            self.nodes.append(RedisServer(base_dir, name=name, extra=extra))

    def start(self):
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        result = subprocess.run(
            [shutil.which("redis-cli") or "redis-cli", "--cluster", "create", *addresses]
            + ["--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=START_SECONDS,
        )
        if result.returncode:
            pytest.fail(f"redis-cli --cluster create: {result.returncode}\n{result.stdout}{result.stderr}")
        return self.wait_settled()

    def wait_settled(self):
        deadline = time.monotonic() + START_SECONDS
        while not all(self._settled(node) for node in self.nodes):
            if time.monotonic() > deadline:
                pytest.fail(f"the cluster did not settle:\n{self.nodes[0].client().cluster('info')}")
            time.sleep(0.05)
        return self

    def _settled(self, node):
        info = node.client().cluster("info")
        return info["cluster_state"] == "ok" and int(info["cluster_known_nodes"]) == len(self.nodes)

    def url(self):
        """One node's URL: a cluster client discovers the others (db 0, the only one a cluster has)."""
        return self.nodes[0].url()

    def node_of(self, key):
        """The RedisServer that holds this key now (its slot's primary), asking a live node."""
        client = next(node for node in self.nodes if node.alive).client()
        slot = client.cluster("keyslot", key)
        ports = {node.port: node for node in self.nodes}
        for low, high, (_, port, *_) in ((r[0], r[1], r[2]) for r in client.cluster("slots")):
            if low <= slot <= high:
                return ports[port]
        raise AssertionError(f"no node serves slot {slot}")

    def keys(self, pattern="*"):
        """{node: its keys matching the pattern, as text}."""
        return {node: {key.decode() for key in node.client().keys(pattern)} for node in self.nodes}

    def flush(self):
        for node in self.nodes:
            node.client().flushall()

    def close(self):
        for node in self.nodes:
            node.kill()  # nothing to keep: no persistence
