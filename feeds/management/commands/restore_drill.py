"""`python manage.py restore_drill`: prove that a dump of the database restores into a working site.

On PostgreSQL (docs/operations.md, "Backups and restore"):

1. reads the home feed of each `--user` through the API on the source (`GET /api/v1/feed`, every
   page up to MAX_POSTS, with the Django test client);
2. counts the rows of every table and dumps the database (`pg_dump -Fc`) in one snapshot
   (`pg_export_snapshot`, `pg_dump --snapshot`), so writes during the drill don't count;
3. restores the dump into a new database (`CREATE DATABASE … TEMPLATE template0`, `pg_restore`);
4. runs the restored copy as the site runs after a restore, in a process of its own pointed at it
   (DATABASE_URL; no broker, no Elasticsearch, no replicas, so nothing reaches production's
   workers or indexes; cache and timelines in `--redis-url`, or in that process): `migrate
   --check`, `reindex`, the timelines and the cache's keys dropped there, and each user's home
   feed read through the API, which rebuilds their timeline on the way;
5. compares the rows of every table, and each feed with the source's (read again: if the source
   changed while the drill ran, the restored feed must equal one of its two reads).

Any difference is printed and the command exits 1; the restored database is dropped unless
`--keep`. A command rather than a shell script: the feed has to be read through the app, the
restored side needs the app's settings with a few variables changed, and the comparison is
easier to state (and to test) in Python; it runs wherever `manage.py` does, next to pg_dump.
"""

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import psycopg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count
from django.test import Client, override_settings
from django.urls import reverse
from psycopg import sql

from accounts import tokens
from accounts.models import Follow
from feeds.store import get_store, home_key

MAX_POSTS = 200  # of each user's home feed
PAGE = 50
DEFAULT_USERS = 3  # without --user: the active users who follow the most accounts
FINDINGS = "restore-drill-findings: "  # the restored side's line for the parent, among its others
# Not passed to the restored copy: they would let it reach production's broker, index, replicas, Redis
# (a cluster, the channel layer's shards), metrics files, or trace collector.
PRODUCTION_ONLY = (
    "CELERY_BROKER_URL",
    "ELASTICSEARCH_URL",
    "DATABASE_REPLICA_URLS",
    "REDIS_URL",
    "FEED_REDIS_URL",
    "REDIS_CLUSTER",
    "FEED_REDIS_CLUSTER",
    "CHANNEL_REDIS_URLS",
    "PROMETHEUS_MULTIPROC_DIR",
    "METRICS_EXPORTER_PORT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)

# Every table (a partitioned one once), not temporary, outside PostgreSQL's own schemas.
TABLES = r"""
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence <> 't'
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
ORDER BY 1, 2
"""


def count_rows(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """{table: rows} for every table of the database, in one statement."""
    tables = conn.execute(TABLES).fetchall()
    if not tables:
        return {}
    parts = [
        sql.SQL("SELECT {name}, count(*) FROM {table}").format(
            name=sql.Literal(f"{schema}.{table}" if schema != "public" else table), table=sql.Identifier(schema, table)
        )
        for schema, table in tables
    ]
    return {name: count for name, count in conn.execute(sql.SQL(" UNION ALL ").join(parts)).fetchall()}


def _same_redis(one: str, other: str) -> bool:
    """Whether two redis:// URLs name the same database of the same server."""
    if not one or not other:
        return False
    a, b = urlsplit(one), urlsplit(other)
    return (a.hostname, a.port or 6379, a.path.strip("/") or "0") == (
        b.hostname,
        b.port or 6379,
        b.path.strip("/") or "0",
    )


def _stable(value: Any) -> Any:
    """A payload without its URLs' query strings: media signatures and their expiry move with time."""
    if isinstance(value, dict):
        return {key: _stable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_stable(item) for item in value]
    if isinstance(value, str) and value.startswith(("http://", "https://", "/")) and "?" in value:
        return value.partition("?")[0]
    return value


def read_home_feed(user: Any) -> list[dict[str, Any]]:
    """The user's home feed through the API, newest first, every page up to MAX_POSTS posts."""
    client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.access_token(user)}")
    posts: list[dict[str, Any]] = []
    url: str | None = f"{reverse('api-feed')}?limit={PAGE}"
    with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):  # the test client's host
        while url and len(posts) < MAX_POSTS:
            response = client.get(url, secure=True)
            if response.status_code != 200:
                raise CommandError(
                    f"GET {url} as {user.username} answered {response.status_code}: {response.content!r}"
                )
            page = response.json()
            posts += [_stable(post) for post in page["results"]]
            url = None if page["next"] is None else "{0.path}?{0.query}".format(urlsplit(page["next"]))
    return posts[:MAX_POSTS]


def feed_difference(source: list[dict[str, Any]], restored: list[dict[str, Any]]) -> str | None:
    """Where two reads of a feed part, in words; None if they are equal."""
    if source == restored:
        return None
    for at, (left, right) in enumerate(zip(source, restored, strict=False)):
        if left != right:
            keys = sorted(key for key in {*left, *right} if left.get(key) != right.get(key))
            return f"post {at + 1}: {left.get('id')} in the source, {right.get('id')} restored (differs in {', '.join(keys)})"
    return f"{len(source)} posts in the source, {len(restored)} restored"


class Command(BaseCommand):
    help = (
        "Dump the database, restore it into a new one, rebuild what is derived, and compare (exit 1 on a difference)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--user",
            action="append",
            default=[],
            help=f"A username whose home feed is compared (repeat it); default the {DEFAULT_USERS} who follow the most.",
        )
        parser.add_argument("--target", help="The restored database's name (default <database>_restore_drill).")
        parser.add_argument(
            "--redis-url",
            default="",
            help="A Redis database nothing else uses, for the restored copy's cache and timelines; its feed:* and "
            "cache keys are deleted first. Default: none, they live in the restored copy's process.",
        )
        parser.add_argument("--keep", action="store_true", help="Keep the restored database afterwards.")
        parser.add_argument(
            "--no-restore", action="store_true", help="The target exists (--keep): check and compare it again."
        )
        parser.add_argument("--restored-side", action="store_true", help=argparse.SUPPRESS)  # the child process

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("The restore drill needs PostgreSQL (DATABASE_URL).")
        users = self._users(options["user"])
        if options["restored_side"]:
            self._restored_side(users)
            return
        missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
        if missing and not options["no_restore"]:
            raise CommandError(f"{' and '.join(missing)} not found: install PostgreSQL's client tools.")
        params = {k: v for k, v in connection.get_connection_params().items() if isinstance(v, str | int)}
        source = str(params["dbname"])
        target = options["target"] or f"{source}_restore_drill"
        if target == source:
            raise CommandError("The target must be a new database, not the source.")
        conninfo = psycopg.conninfo.make_conninfo("", **params)
        target_conninfo = psycopg.conninfo.make_conninfo(conninfo, dbname=target)

        for name in ("REDIS_URL", "FEED_REDIS_URL", "CELERY_BROKER_URL"):
            if options["redis_url"] and _same_redis(options["redis_url"], getattr(settings, name)):
                raise CommandError(f"--redis-url is the site's {name}: give the drill a Redis database of its own.")
        with psycopg.connect(conninfo, autocommit=True) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target]).fetchone() is not None
            if options["no_restore"] and not exists:
                raise CommandError(f"--no-restore: database {target} does not exist.")
            if not options["no_restore"] and exists:
                raise CommandError(f"Database {target} exists: drop it, or pass --no-restore to compare it again.")
        source_before = {user.username: read_home_feed(user) for user in users}
        try:
            if options["no_restore"]:
                with psycopg.connect(conninfo) as conn:
                    source_counts = count_rows(conn)
            else:
                source_counts = self._dump_and_restore(conninfo, target, target_conninfo)
            restored = self._run_restored_side(target, users, options["redis_url"])
            with psycopg.connect(target_conninfo) as conn:
                restored_counts = count_rows(conn)
            source_after = {user.username: read_home_feed(user) for user in users}
        finally:
            if not options["keep"]:
                with psycopg.connect(conninfo, autocommit=True) as admin:
                    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target)))

        differences = [
            f"rows of {table}: {source_counts.get(table, 'no table')} in the source, "
            f"{restored_counts.get(table, 'no table')} restored"
            for table in sorted({*source_counts, *restored_counts})
            if source_counts.get(table) != restored_counts.get(table)
        ]
        for username, feed in restored["feeds"].items():
            if not restored["rebuilt"][username]:
                differences.append(f"home feed of {username}: its timeline was not rebuilt on read")
            before = feed_difference(source_before[username], feed)
            after = feed_difference(source_after[username], feed)
            if before and after:
                changed = (
                    " (the source changed during the drill: run it again)" if source_before != source_after else ""
                )
                differences.append(f"home feed of {username}: {before}{changed}")
        rows = sum(source_counts.values())
        self.stdout.write(f"compared: {len(source_counts)} tables, {rows:,} rows in the source")
        for username, feed in restored["feeds"].items():
            self.stdout.write(f"compared: home feed of {username}, {len(feed)} posts")
        if differences:
            for difference in differences:
                self.stderr.write(f"DIFFERENT {difference}")
            raise CommandError(f"restore drill failed: {len(differences)} difference(s) between {source} and {target}")
        kept = f"; {target} kept" if options["keep"] else f"; {target} dropped"
        self.stdout.write(self.style.SUCCESS(f"restore drill passed: {target} equals {source}{kept}"))

    def _users(self, usernames: list[str]) -> list[Any]:
        active = get_user_model().objects.filter(is_active=True)
        if not usernames:
            top = (
                Follow.objects.filter(follower__is_active=True)
                .values("follower")
                .annotate(n=Count("id"))
                .order_by("-n", "follower")[:DEFAULT_USERS]
            )
            return list(active.filter(pk__in=[row["follower"] for row in top]).order_by("username"))
        found = {user.username: user for user in active.filter(username__in=usernames)}
        unknown = [name for name in usernames if name not in found]
        if unknown:
            raise CommandError(f"No active user named {', '.join(unknown)}.")
        return [found[name] for name in usernames]

    def _dump_and_restore(self, conninfo: str, target: str, target_conninfo: str) -> dict[str, int]:
        """Dump in one snapshot with the row counts (returned) and restore into `target`, made here."""
        with tempfile.TemporaryDirectory(prefix="restore-drill-") as folder:
            dump = Path(folder) / "socialsite.dump"
            started = time.monotonic()
            # The dump and the counts see the same rows: pg_dump joins this transaction's snapshot.
            with psycopg.connect(conninfo) as conn:
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                conn.read_only = True
                snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
                counts = count_rows(conn)
                self._tool("pg_dump", "-Fc", f"--snapshot={snapshot}", f"--file={dump}", f"--dbname={conninfo}")
            self.stdout.write(
                f"dumped: {len(counts)} tables, {sum(counts.values()):,} rows, "
                f"{dump.stat().st_size / 1e6:.1f} MB (pg_dump -Fc) in {time.monotonic() - started:.1f} s"
            )
            started = time.monotonic()
            with psycopg.connect(conninfo, autocommit=True) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(target)))
            # One transaction: all or nothing, and one commit instead of one per statement (3.5 s against 5.5).
            self._tool("pg_restore", "--no-owner", "--single-transaction", f"--dbname={target_conninfo}", str(dump))
            self.stdout.write(f"restored: into {target} (pg_restore) in {time.monotonic() - started:.1f} s")
        return counts

    def _tool(self, *argv: str) -> None:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603 -- PostgreSQL's tools, our arguments
        if done.returncode != 0:
            raise CommandError(f"{argv[0]} exited with {done.returncode}: {done.stderr.strip()[-4000:]}")

    def _run_restored_side(self, target: str, users: list[Any], redis_url: str) -> dict[str, Any]:
        """This command again, in a process whose DATABASE_URL is the restored copy; its findings."""
        env = {key: value for key, value in os.environ.items() if key not in PRODUCTION_ONLY}
        env["DATABASE_URL"] = urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{quote(target, safe='')}").geturl()
        if redis_url:
            env["REDIS_URL"] = redis_url
        argv = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "restore_drill", "--restored-side"]
        argv += [f"--user={user.username}" for user in users]
        started = time.monotonic()
        done = subprocess.run(argv, env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, check=False)  # noqa: S603 -- this command
        if done.returncode != 0:
            raise CommandError(f"the restored copy failed its checks (exit {done.returncode}):\n{done.stderr[-4000:]}")
        lines = done.stdout.splitlines()
        for line in lines:
            if not line.startswith(FINDINGS):
                self.stdout.write(f"restored copy: {line}")
        self.stdout.write(f"restored copy: checked in {time.monotonic() - started:.1f} s")
        findings = [line.removeprefix(FINDINGS) for line in lines if line.startswith(FINDINGS)]
        if not findings:
            raise CommandError(f"the restored copy reported nothing:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(findings[-1])
        return result

    def _restored_side(self, users: list[Any]) -> None:
        """In the process pointed at the restored copy: what an operator runs after a restore."""
        try:
            call_command("migrate", check_unapplied=True, verbosity=0)
        except SystemExit as exit:
            raise CommandError("migrate --check: the restored schema lacks migrations of this code.") from exit
        self.stdout.write("migrate --check: every migration applied")
        out = io.StringIO()
        call_command("reindex", stdout=out)
        self.stdout.write(f"reindex: {out.getvalue().strip().splitlines()[-1]}")
        store = get_store()
        store.flush()  # the timelines (feed:*): rebuilt on read, below
        if settings.REDIS_URL:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL)
            keys = list(client.scan_iter(match=cache.make_key("*"), count=1000))
            if keys:
                client.delete(*keys)
            self.stdout.write(f"timelines dropped, and {len(keys)} cache keys, in --redis-url")
        else:
            self.stdout.write("timelines and cache in this process (no --redis-url)")
        feeds, rebuilt = {}, {}
        for user in users:
            key = home_key(user.pk)
            missing = not store.exists(key)
            feeds[user.username] = read_home_feed(user)
            rebuilt[user.username] = missing and store.exists(key)
        self.stdout.write(FINDINGS + json.dumps({"feeds": feeds, "rebuilt": rebuilt}))
