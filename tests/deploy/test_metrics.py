"""The metrics, logs and traces wiring of deploy/: every process that runs Django in multiprocess mode
has PROMETHEUS_MULTIPROC_DIR on a volume of its own, fresh at each start; Prometheus scrapes the
ports and paths the processes serve; compose's nginx keeps /metrics private and passes X-Request-ID
as socialsite.conf does."""

import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml
from django.urls import resolve

from socialsite import logs, metrics
from tests.conftest import require
from tests.deploy.conftest import DEPLOY, ROOT, k8s_documents
from tests.e2e.conftest import free_port

PROMETHEUS = DEPLOY / "prometheus"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
# The roles whose processes write metrics: gunicorn, Daphne, Celery workers (not beat, not migrate).
SERVERS = {"web": 8000, "asgi": 8001}  # the port each one's command listens on, where /metrics is
WORKERS = {"worker-fanout", "worker-media", "worker-default"}


def deployments():
    return {doc["metadata"]["name"]: doc for _, doc in k8s_documents() if doc["kind"] == "Deployment"}


def env_of(container):
    return {each["name"]: each["value"] for each in container.get("env", [])}


def the_container(deployment):
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def test_kubernetes_metrics_directory_is_a_fresh_volume_of_each_pod():
    for name, deployment in deployments().items():
        spec = deployment["spec"]["template"]["spec"]
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        for container in spec.get("initContainers", []) + spec["containers"]:
            path = env_of(container).get("PROMETHEUS_MULTIPROC_DIR")
            if container in spec["containers"] and name in set(SERVERS) | WORKERS:
                assert path, f"{name}: runs Django in several processes without PROMETHEUS_MULTIPROC_DIR"
            if not path:
                continue
            # Writable under a read-only root filesystem, not shared with another pod, new with the pod.
            (mount,) = [mount for mount in container["volumeMounts"] if mount["mountPath"] == path]
            assert not mount.get("readOnly"), name
            assert "emptyDir" in volumes[mount["name"]], name
            assert [m for m in container["volumeMounts"] if m["name"] == mount["name"]] == [mount], name
            # Emptied at each container start (a restart keeps the emptyDir): the image's entrypoint runs.
            assert "command" not in container and container["args"], name


def test_compose_metrics_directory_is_fresh_at_each_start(compose):
    for name, service in compose["services"].items():
        path = service.get("environment", {}).get("PROMETHEUS_MULTIPROC_DIR")
        if name in set(SERVERS) | WORKERS:
            assert path, name
        if path:
            assert path in service["tmpfs"], name  # a tmpfs: new with each container start
            assert "entrypoint" not in service, name


def test_entrypoint_empties_the_metrics_directory_then_runs_the_command(tmp_path):
    assert os.access(ENTRYPOINT, os.X_OK)
    assert re.search(r'^ENTRYPOINT \["/app/deploy/entrypoint\.sh"\]$', (DEPLOY / "Dockerfile").read_text(), re.M)
    directory = tmp_path / "metrics"
    directory.mkdir()
    for stale in ("counter_1.db", "gauge_liveall_1.db", "histogram_7.db"):
        (directory / stale).write_bytes(b"\0" * 8)
    (directory / "notes.txt").write_text("not prometheus_client's")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    result = subprocess.run(  # noqa: S603 -- fixed argv
        [ENTRYPOINT, "sh", "-c", 'ls "$PROMETHEUS_MULTIPROC_DIR"; exit 3'],
        env=env,
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 3  # the command's own status: it was exec'd
    assert result.stdout.split() == ["notes.txt"]
    # Without the variable (beat, manage.py) it only runs the command.
    env.pop("PROMETHEUS_MULTIPROC_DIR")
    result = subprocess.run([ENTRYPOINT, "true"], env=env, timeout=10)  # noqa: S603
    assert result.returncode == 0


def annotations(deployment):
    return deployment["spec"]["template"]["metadata"].get("annotations", {})


def test_kubernetes_pods_are_scraped_where_they_serve_metrics():
    pods = deployments()
    scraped = {name for name, deployment in pods.items() if annotations(deployment).get("prometheus.io/scrape")}
    assert scraped == set(SERVERS) | WORKERS  # beat serves nothing
    for name in scraped:
        container = the_container(pods[name])
        wanted = annotations(pods[name])
        assert wanted["prometheus.io/scrape"] == "true", name
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        port = int(wanted["prometheus.io/port"])
        if name in SERVERS:
            # Django's /metrics on the port the command listens on (the Service's `http`).
            assert resolve(wanted["prometheus.io/path"]).func is metrics.metrics_view, name
            assert port == ports["http"] == SERVERS[name], name
            assert str(port) in " ".join(container["args"]), name
        else:
            # The worker's exporter: on the pod's address (the default, 127.0.0.1, is unreachable
            # from Prometheus), on the named port the annotation points at.
            env = env_of(container)
            assert port == ports["metrics"] == int(env["METRICS_EXPORTER_PORT"]), name
            assert env["METRICS_EXPORTER_ADDRESS"] == "0.0.0.0", name  # noqa: S104


def test_kubernetes_secret_and_config_carry_the_token_and_json_logs():
    (config,) = [doc["data"] for _, doc in k8s_documents() if doc["kind"] == "ConfigMap"]
    (secret,) = [doc["stringData"] for _, doc in k8s_documents() if doc["kind"] == "Secret"]
    assert "METRICS_TOKEN" in secret and "METRICS_TOKEN" not in config
    assert config["LOG_FORMAT"] == "json"


def promtool_syntax(path):
    require(shutil.which("promtool") is not None, "promtool is not installed (apt-get install prometheus)")
    result = subprocess.run(  # noqa: S603 -- fixed argv
        ["promtool", "check", "config", "--syntax-only", str(path)],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_scrape_config_reads_the_manifests_annotations(tmp_path):
    config = yaml.safe_load((PROMETHEUS / "kubernetes.yml").read_text())
    (job,) = config["scrape_configs"]
    (discovery,) = job["kubernetes_sd_configs"]
    namespaces = {doc["metadata"]["namespace"] for _, doc in k8s_documents() if "namespace" in doc["metadata"]}
    assert discovery["namespaces"]["names"] == sorted(namespaces)
    read = {
        label.removeprefix("__meta_kubernetes_pod_annotation_")
        for rule in job["relabel_configs"]
        for label in rule["source_labels"]
        if label.startswith("__meta_kubernetes_pod_annotation_")
    }
    used = {
        re.sub(r"[^a-zA-Z0-9_]", "_", key)  # how Prometheus names an annotation's label
        for deployment in deployments().values()
        for key in annotations(deployment)
    }
    assert read == used == {"prometheus_io_scrape", "prometheus_io_port", "prometheus_io_path"}
    # Debian's promtool has no Kubernetes discovery: the rest of the file, with a static target instead.
    job["static_configs"] = [{"targets": ["10.0.0.1:8000"]}]
    del job["kubernetes_sd_configs"]
    (tmp_path / "kubernetes.yml").write_text(yaml.safe_dump(config))
    promtool_syntax(tmp_path / "kubernetes.yml")


def test_compose_scrape_config_reaches_every_replica_on_its_port(compose):
    promtool_syntax(PROMETHEUS / "compose.yml")
    config = yaml.safe_load((PROMETHEUS / "compose.yml").read_text())
    targets = {}
    for job in config["scrape_configs"]:
        for discovery in job["dns_sd_configs"]:
            for name in discovery["names"]:
                targets[name] = (discovery["port"], job.get("metrics_path", "/metrics"), "authorization" in job)
    assert set(targets) == set(SERVERS) | WORKERS
    for name, (port, path, token) in targets.items():
        service = compose["services"][name]
        if name in SERVERS:
            assert port == SERVERS[name] and str(port) in " ".join(service["command"]), name
            assert resolve(path).func is metrics.metrics_view and token, name
        else:
            assert port == int(service["environment"]["METRICS_EXPORTER_PORT"]), name
            assert service["environment"]["METRICS_EXPORTER_ADDRESS"] == "0.0.0.0", name  # noqa: S104


def request_id_map(path):
    return re.search(r"map \$http_x_request_id \$socialsite_request_id \{.*?\n\s*\}\n", path.read_text(), re.S).group(0)


def test_compose_nginx_takes_the_request_id_as_the_template_does():
    assert request_id_map(DEPLOY / "nginx" / "compose.conf") == request_id_map(DEPLOY / "nginx" / "socialsite.conf")
    pattern = re.search(r'"~\^(.*)\$"', request_id_map(DEPLOY / "nginx" / "compose.conf")).group(1)
    assert pattern == logs.REQUEST_ID.pattern  # the rule Django applies behind it


class Echo(BaseHTTPRequestHandler):
    """Stands in for web and asgi: answers with the path and the X-Request-ID it was sent."""

    def do_GET(self):
        body = f"{self.path} {self.headers.get('X-Request-ID')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def compose_nginx(tmp_path):
    """compose's nginx config run by Debian's nginx, with the upstreams pointed at an echo server."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    require(nginx, "nginx is not installed (apt-get install nginx-light)")
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    text = (DEPLOY / "nginx" / "compose.conf").read_text()
    text = (
        text.replace(" resolve;", ";")  # nginx 1.27.3's; Debian's 1.22 has no `resolve`
        .replace("server web:8000", f"server 127.0.0.1:{upstream.server_port}")
        .replace("server asgi:8001", f"server 127.0.0.1:{upstream.server_port}")
        .replace("listen 8080;", f"listen 127.0.0.1:{port};")
        .replace("pid /tmp/nginx.pid;", f"pid {tmp_path}/nginx.pid;")
        .replace("access_log /dev/stdout socialsite;", f"access_log {tmp_path}/access.log socialsite;")
        .replace("worker_processes auto;", "worker_processes 1;")
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    (tmp_path / "logs").mkdir()
    process = subprocess.Popen(  # noqa: S603 -- fixed argv
        [nginx, "-p", str(tmp_path), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{url}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stderr.read().decode()
                threading.Event().wait(0.05)
        yield url, tmp_path / "access.log"
    finally:
        process.terminate()
        process.wait(10)
        upstream.shutdown()
        upstream.server_close()


def test_compose_nginx_passes_the_request_id_and_keeps_metrics_private(compose_nginx):
    url, access_log = compose_nginx
    sane = "req-7f3a.b:c_9"
    assert requests.get(f"{url}/api/v1/feed", headers={"X-Request-ID": sane}, timeout=5).text == f"/api/v1/feed {sane}"
    # Not an id (too long, a space): replaced by nginx's own, 32 hex digits.
    for insane in ("x" * 65, "two words", ""):
        path, sent = requests.get(f"{url}/ws/", headers={"X-Request-ID": insane}, timeout=5).text.split(" ")
        assert path == "/ws/" and re.fullmatch(r"[0-9a-f]{32}", sent), insane
    # /metrics never reaches a replica, with or without the token.
    for headers in ({}, {"Authorization": "Bearer anything"}):
        response = requests.get(f"{url}/metrics", headers=headers, timeout=5)
        assert response.status_code == 404 and "/metrics" not in response.text
    assert requests.get(f"{url}/metrics/x", timeout=5).text.startswith("/metrics/x ")  # only the exact path
    # The JSON access line (written once the response is sent) carries the id the upstream got.
    for _ in range(100):
        lines = [line for line in access_log.read_text().splitlines() if '"/api/v1/feed"' in line]
        if lines:
            break
        threading.Event().wait(0.05)
    assert len(lines) == 1 and f'"request_id":"{sane}"' in lines[0]


def probe_commands(compose):
    """{argv} of every exec probe and health check run inside a container with a metrics directory."""
    found = set()
    for deployment in deployments().values():
        container = the_container(deployment)
        if "PROMETHEUS_MULTIPROC_DIR" in env_of(container):
            for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
                if "exec" in container.get(kind, {}):
                    found.add(tuple(container[kind]["exec"]["command"]))
    for service in compose["services"].values():
        if "PROMETHEUS_MULTIPROC_DIR" in service.get("environment", {}) and "healthcheck" in service:
            how, *argv = service["healthcheck"]["test"]
            argv = ["sh", "-c", argv[0]] if how == "CMD-SHELL" else argv
            found.add(tuple(arg.replace("$$", "$") for arg in argv))
    return found


def test_probes_leave_nothing_in_the_metrics_directory(compose, tmp_path):
    # A probe is a new process every minute in the container: with the directory set, each one that
    # imports the app leaves its files there (2 a run, measured), read by every scrape, filling the volume.
    commands = probe_commands(compose)
    assert any("celery" in " ".join(argv) for argv in commands)
    directory = tmp_path / "metrics"
    directory.mkdir()
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    # All at once, each answered or refused quickly: nobody listens (no worker, no web process here).
    runs = [
        subprocess.Popen(  # noqa: S603 -- the manifests' own argv
            [arg.replace("--timeout 10", "--timeout 1") for arg in argv],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for argv in commands
    ]
    for run in runs:
        run.wait(60)
    assert list(directory.iterdir()) == []
