"""A PostgreSQL primary and a streaming replica of it that a test owns, killable by PID.

primary = PostgresServer.primary(base_dir)    initdb (trust on loopback, a replication hba line), started
replica = PostgresServer.replica_of(primary)  pg_basebackup -R from it (standby.signal, primary_conninfo), started

Each runs `postgres` in the foreground in a process group of its own (engines.Service): stop()
is a fast shutdown (SIGINT: clients are disconnected, as `pg_ctl stop -m fast` does), kill() a
crash, start() brings it back on the same port and data directory. PostgreSQL refuses to run as
root: as root, every binary runs as the `postgres` OS user (setpriv, which execs, so the PID is
postgres' own) with the data under a directory of its own in /tmp (pytest's tmp_path is root's,
0700). `base_dir()` makes it; `remove(base)` deletes it. Nothing here touches the machine's
shared PostgreSQL.
"""

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import psycopg

from tests.e2e.conftest import free_port
from tests.faults import engines

BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
USER = "postgres"


def available():
    return (BIN / "postgres").exists() and (os.geteuid() != 0 or _postgres_uid() is not None)


def _postgres_uid():
    try:
        return pwd.getpwnam(USER).pw_uid
    except KeyError:
        return None


def as_postgres(argv):
    """argv run as the postgres OS user when we are root (postgres refuses root)."""
    argv = [str(arg) for arg in argv]
    if os.geteuid() != 0:
        return argv
    return ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--init-groups", "--", *argv]


def base_dir():
    """A directory the postgres user owns, for the data directories and sockets."""
    path = Path(tempfile.mkdtemp(prefix="socialsite-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return path


def remove(path):
    shutil.rmtree(path, ignore_errors=True)


def _run(argv, env, timeout=60):
    result = subprocess.run(as_postgres(argv), env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode:
        raise RuntimeError(f"{argv[0]}: exit {result.returncode}\n{result.stdout}{result.stderr}")
    return result.stdout


def initdb(server):
    """An empty cluster in server.data_dir: trust on loopback and the local socket."""
    _run([BIN / "initdb", "-D", server.data_dir, "-U", USER, "-A", "trust", "--no-sync", "-E", "UTF8"], server.env)


class PostgresServer(engines.Service):
    def __init__(self, base, name, settings=()):
        base = Path(base)
        self.base = base
        self.data_dir = base / name
        self.port = free_port()
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(base), "LANG": "C.UTF-8"}
        argv = as_postgres(
            [
                *(BIN / "postgres", "-D", self.data_dir, "-p", self.port),
                *("-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={base}"),
                # A test's throwaway data: no fsync.
                *("-c", "fsync=off", "-c", "full_page_writes=off"),
                *("-c", "max_connections=60", "-c", "shared_buffers=32MB"),
                *(arg for setting in settings for arg in ("-c", setting)),
            ]
        )
        super().__init__(name, argv, self.env, base, cwd=base)

    @property
    def ports(self):
        return (self.port,)

    @classmethod
    def primary(cls, base, name="primary"):
        server = cls(base, name, settings=("wal_level=replica", "max_wal_senders=5", "wal_keep_size=64MB"))
        initdb(server)
        with open(server.data_dir / "pg_hba.conf", "a") as hba:  # initdb's has it; say so anyway
            hba.write("host replication all 127.0.0.1/32 trust\n")
        return server.start()

    @classmethod
    def replica_of(cls, primary, name="replica"):
        """A hot standby streaming from `primary`: pg_basebackup -R writes standby.signal and the
        primary_conninfo it reconnects with after a restart."""
        # Retry a lost primary every half second, report replay position every second.
        settings = ("hot_standby=on", "wal_retrieve_retry_interval=500ms", "wal_receiver_status_interval=1s")
        server = cls(primary.base, name, settings=settings)
        _run(
            [
                *(BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", primary.port, "-U", USER),
                *("-D", server.data_dir, "-R", "-X", "stream", "-c", "fast", "--no-sync"),
            ],
            server.env,
        )
        return server.start()

    def url(self, database="postgres"):
        return f"postgres://{USER}@127.0.0.1:{self.port}/{database}"

    def connect(self, database="postgres"):
        return psycopg.connect(self.url(database), autocommit=True, connect_timeout=2)

    def query(self, sql, params=None, database="postgres"):
        """The first column of the first row."""
        with self.connect(database) as connection:
            return connection.execute(sql, params).fetchone()[0]

    def execute(self, sql, params=None, database="postgres"):
        with self.connect(database) as connection:
            connection.execute(sql, params)

    def is_up(self):
        try:
            with self.connect():
                return True
        except psycopg.OperationalError:
            return False

    def wait_ready(self):
        self.wait_for(self.is_up, "accept connections", timeout=60)

    def stop(self, timeout=engines.STOP_SECONDS):
        """A fast shutdown (SIGINT): open client connections are ended, not waited for."""
        if self.alive:
            self.resume()
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout)
        super().stop(timeout)
