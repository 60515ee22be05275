"""deploy/compose.yaml, checked as a file: `docker compose config` needs the Compose plugin, which this
machine's docker client lacks, and no Compose JSON schema is installed. So: its keys are the
Compose specification's, every dependency exists and can become healthy, every image is pinned,
and every variable it interpolates is in deploy/env.example (and the other way round)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import require
from tests.deploy.conftest import COMPOSE, DEPLOY

TOP_LEVEL = {"name", "services", "networks", "volumes", "configs", "secrets", "include", "models"}
# A subset of the specification's service keys: enough for this file, and a typo is not in it.
SERVICE_KEYS = {
    "build", "command", "container_name", "depends_on", "deploy", "entrypoint", "env_file", "environment",
    "expose", "healthcheck", "image", "init", "labels", "logging", "networks", "ports", "profiles",
    "read_only", "restart", "security_opt", "stop_grace_period", "stop_signal", "tmpfs", "user", "volumes",
    "working_dir",
}  # fmt: skip
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; $$ is a literal $.
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")


class UniqueKeyLoader(yaml.SafeLoader):
    """YAML forbids a key twice in one mapping, and PyYAML keeps the last one silently (two `<<:`
    merge keys too: merge several anchors with `<<: [*a, *b]`)."""

    def construct_mapping(self, node, deep=False):
        names = [key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise yaml.constructor.ConstructorError(None, None, f"keys given twice: {twice}", node.start_mark)
        return super().construct_mapping(node, deep)


def test_no_key_is_given_twice():
    for path in [COMPOSE, *sorted((DEPLOY / "k8s").rglob("*.yaml"))]:
        list(yaml.load_all(path.read_text(), UniqueKeyLoader))  # noqa: S506 -- a SafeLoader subclass
    with pytest.raises(yaml.constructor.ConstructorError, match="<<"):
        yaml.load("a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: *a\n  <<: *b\n", UniqueKeyLoader)  # noqa: S506


def test_keys_are_the_compose_specifications(compose):
    assert set(compose) - {key for key in compose if key.startswith("x-")} <= TOP_LEVEL
    for name, service in compose["services"].items():
        assert set(service) <= SERVICE_KEYS, name
        if "healthcheck" in service:
            assert set(service["healthcheck"]) <= HEALTHCHECK_KEYS, name
            assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
        assert service.get("restart", "no") in ("no", "always", "on-failure", "unless-stopped"), name
    for volume in (
        mount.split(":")[0] for service in compose["services"].values() for mount in service.get("volumes", [])
    ):
        assert volume.startswith(".") or volume in compose["volumes"], volume


def test_every_dependency_exists_and_can_be_met(compose):
    services = compose["services"]
    for name, service in services.items():
        for target, how in service.get("depends_on", {}).items():
            assert target in services, (name, target)
            assert how["condition"] in CONDITIONS, (name, target)
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services[target], (name, target)
            if how["condition"] == "service_completed_successfully":
                assert services[target].get("restart") == "no", (name, target)  # a one-shot


def test_the_app_waits_for_migrate_and_migrate_for_postgres(compose):
    services = compose["services"]
    app = {name for name, service in services.items() if "build" in service}
    assert app == {"web", "asgi", "worker-fanout", "worker-media", "worker-default", "beat", "migrate"}
    for name in app - {"migrate"}:
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert set(services["migrate"]["depends_on"]) == {"postgres"}


def test_roles_replicas_and_health_checks(compose):
    services = compose["services"]
    assert services["web"]["deploy"]["replicas"] == 2
    assert services["beat"]["deploy"]["replicas"] == 1
    assert services["beat"]["command"][:4] == ["celery", "-A", "socialsite", "beat"]
    assert services["asgi"]["command"][:3] == ["python", "-m", "socialsite.serve"]
    assert services["web"]["command"][:3] == ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
    # Everything long-running has a health check, but beat (nothing to ask) and migrate (a one-shot).
    assert {name for name, service in services.items() if "healthcheck" not in service} == {"beat", "migrate"}


def test_images_are_pinned(compose):
    for name, service in compose["services"].items():
        image = service["image"]
        if "build" in service:
            assert image == "socialsite:${SOCIALSITE_VERSION:-dev}", name
            continue
        repository, _, tag = image.partition(":")
        assert re.match(r"\d+\.\d+", tag), name  # an exact version (PostgreSQL numbers major.minor), never `latest`


def test_interpolated_variables_and_env_example_agree(compose, env_example):
    text = COMPOSE.read_text()
    used = {}
    for name, operator, _ in INTERPOLATION.findall(text):
        used.setdefault(name, set()).add(operator)
    required = {name for name, operators in used.items() if operators & {":?", "?", ""}}
    assert required <= set(env_example), required - set(env_example)
    assert set(env_example) <= set(used), set(env_example) - set(used)
    # Secrets have no default in the file: a missing one stops `docker compose up`.
    assert {"SECRET_KEY", "POSTGRES_PASSWORD", "RABBITMQ_PASSWORD"} <= required
    assert all(env_example[name] == "change-me" for name in ("SECRET_KEY", "POSTGRES_PASSWORD", "RABBITMQ_PASSWORD"))


def test_nginx_config_parses(tmp_path):
    # `nginx -t` on compose's nginx config. Debian's nginx (1.22) predates `server … resolve`
    # (1.27.3, the image's), and compose's service names don't resolve here: those two are
    # replaced, everything else is checked as nginx reads it.
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    require(nginx, "nginx is not installed (apt-get install nginx-light)")
    text = (DEPLOY / "nginx" / "compose.conf").read_text()
    assert text.count(" resolve;") == 2
    text = (
        text.replace(" resolve;", ";")
        .replace("server web:", "server 127.0.0.1:")
        .replace("server asgi:", "server 127.0.0.1:")
    )
    text = text.replace("pid /tmp/nginx.pid;", f"pid {tmp_path}/nginx.pid;")
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    (tmp_path / "logs").mkdir()
    result = subprocess.run(  # noqa: S603 -- fixed argv
        [nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(conf), "-e", "stderr"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
