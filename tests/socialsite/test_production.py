"""socialsite.production's arithmetic and its nginx config; the processes themselves run in
tests/e2e/test_production.py."""

import os
import shutil
import subprocess
import sys

import pytest
from django.db import connection

from socialsite import production
from tests.conftest import require


def test_counts_follow_the_cores_unless_overridden(monkeypatch):
    monkeypatch.setattr(production.os, "sched_getaffinity", lambda pid: set(range(8)))
    assert production.counts({}) == production.Counts(cores=8, web_workers=8, web_threads=8, daphnes=2, celery=4)
    monkeypatch.setattr(production.os, "sched_getaffinity", lambda pid: {0})
    assert production.counts({}) == production.Counts(cores=1, web_workers=2, web_threads=8, daphnes=1, celery=1)
    overridden = production.counts(
        {"WEB_WORKERS": "3", "WEB_THREADS": "4", "DAPHNE_PROCESSES": "2", "CELERY_CONCURRENCY": "5"}
    )
    assert (overridden.web_workers, overridden.web_threads, overridden.daphnes, overridden.celery) == (3, 4, 2, 5)
    assert overridden.web_connections == 12


def test_the_budget_counts_pools_not_threads_beyond_them():
    n = production.Counts(cores=2, web_workers=2, web_threads=8, daphnes=1, celery=1)
    lines = dict(production.budget(n, {}))
    assert sum(lines.values()) == 2 * 8 + 1 * 10 + 1 * 2 + 2 + 13
    # More threads than the pool holds: a worker still opens at most DB_POOL_MAX_SIZE.
    wide = production.Counts(cores=2, web_workers=2, web_threads=32, daphnes=1, celery=1)
    assert sum(dict(production.budget(wide, {"DB_POOL_MAX_SIZE": "5", "DB_POOL_MIN_SIZE": "2"})).values()) == (
        2 * 5 + 1 * 5 + 1 * 3 + 2 + 13
    )
    assert sum(dict(production.budget(n, {}, broker=False)).values()) == 2 * 8 + 10 + 13


def test_a_read_replica_budgets_the_web_processes_pools_only():
    """Celery and beat never read a replica (socialsite/replicas.py); gunicorn and Daphne have a pool on each."""
    n = production.Counts(cores=2, web_workers=2, web_threads=8, daphnes=1, celery=1)
    assert sum(dict(production.budget(n, {}, replica=True)).values()) == 2 * 8 + 1 * 10 + 13


def test_the_rendered_nginx_config_is_valid(tmp_path):
    require(bool(shutil.which("nginx")), "nginx is not installed (apt-get install nginx-light)")
    sockets = [tmp_path / "daphne-1.sock", tmp_path / "daphne-2.sock"]
    text = production.render_nginx(
        listen="127.0.0.1:18199",
        run_dir=tmp_path,
        static_root=tmp_path / "static",
        realtime_sockets=sockets,
        web_socket=tmp_path / "gunicorn.sock",
    )
    assert "{{" not in text and "ssl" not in text.split("server {")[1].split("location")[0]
    assert f"server unix:{sockets[0]};" in text and f"server unix:{sockets[1]};" in text
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    (tmp_path / "logs").mkdir()
    checked = subprocess.run(
        [shutil.which("nginx"), "-t", "-p", tmp_path, "-c", conf, "-e", "stderr"], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    tls = production.render_nginx(
        listen="127.0.0.1:18199",
        run_dir=tmp_path,
        static_root=tmp_path,
        realtime_sockets=sockets,
        web_socket=tmp_path / "gunicorn.sock",
        tls_cert="/c.pem",
        tls_key="/k.pem",
    )
    assert "listen 127.0.0.1:18199 ssl;" in tls and "ssl_certificate /c.pem;" in tls


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_start_over_the_connection_budget(monkeypatch, capsys):
    require(connection.vendor == "postgresql", "DATABASE_URL is not PostgreSQL: the budget is PostgreSQL's")
    monkeypatch.setenv("WEB_WORKERS", "40")  # 40 x 8 connections: more than any max_connections here
    with pytest.raises(SystemExit, match="Connection budget exceeded: gunicorn: 40 workers"):
        production.main(["--port", "18199"])


def test_tls_options_go_together():
    with pytest.raises(SystemExit):
        production.main(["--tls-cert", "/c.pem"])


def test_sign_in_rate_limits_trust_as_many_proxies_as_the_api():
    """allauth counts sign-ins per client IP too: behind nginx (NUM_PROXIES=1) it must read the
    address nginx appended, or every client shares nginx's."""
    probe = "from django.conf import settings; print(settings.ALLAUTH_TRUSTED_PROXY_COUNT)"
    for proxies in ("0", "1", "2"):
        env = {**os.environ, "NUM_PROXIES": proxies}
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", probe],
            cwd=production.ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.stdout.strip().splitlines()[-1] == proxies, result.stderr
