"""Drift between the deploy files and the app: queues nobody consumes, variables nobody reads, probes
at paths that don't exist, realtime paths routed to the wrong server."""

import re

import pytest
from django.test import override_settings
from django.urls import resolve

from socialsite import health
from socialsite.settings import TASK_QUEUES
from tests.deploy.conftest import (
    DEPLOY,
    ROOT,
    app_read_names,
    commented_names,
    documented_names,
    k8s_documents,
    nginx_routes,
    pod_specs,
)

# Variables the app's containers get that belong to someone else, and why.
THIRD_PARTY = {"PGAPPNAME": "libpq: the process's name in pg_stat_activity (docs/operations.md)"}
# Without these a production process doesn't start, or starts on the embedded default.
REQUIRED = {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}


def queues_of(command):
    return set(command[command.index("-Q") + 1].split(",")) if "-Q" in command else set()


def compose_app_services(compose):
    return {name: service for name, service in compose["services"].items() if "build" in service}


def k8s_app_containers():
    return [(name, container) for name, spec in pod_specs() for container in spec["containers"]]


def k8s_config():
    documents = [doc for _, doc in k8s_documents()]
    (config,) = [doc["data"] for doc in documents if doc["kind"] == "ConfigMap"]
    (secret,) = [doc["stringData"] for doc in documents if doc["kind"] == "Secret"]
    return config, secret


def test_every_queue_is_consumed_in_compose(compose):
    consumed = set()
    for service in compose_app_services(compose).values():
        consumed |= queues_of(service["command"])
    assert consumed == set(TASK_QUEUES)


def test_every_queue_is_consumed_in_kubernetes():
    consumed = set()
    for _, container in k8s_app_containers():
        if container["args"][:4] == ["celery", "-A", "socialsite", "worker"]:
            assert "-Q" in container["args"]  # else it consumes everything, beside the groups
            consumed |= queues_of(container["args"])
    assert consumed == set(TASK_QUEUES)


def test_worker_groups_match_between_compose_and_kubernetes(compose):
    in_compose = {
        name: queues_of(service["command"])
        for name, service in compose_app_services(compose).items()
        if "-Q" in service["command"]
    }
    in_k8s = {
        name: queues_of(container["args"]) for name, container in k8s_app_containers() if "-Q" in container["args"]
    }
    assert in_compose == in_k8s


def check_names(names, where):
    read, documented = app_read_names(), documented_names()
    for name in names:
        if name in THIRD_PARTY:
            continue
        assert name in read, f"{where}: {name} is set but the app doesn't read it"
        assert name in documented, f"{where}: {name} is read but not documented (README's settings table)"


def test_app_reads_and_documents_every_variable_compose_sets(compose):
    for name, service in compose_app_services(compose).items():
        check_names(service["environment"], f"compose {name}")
        assert set(service["environment"]) >= REQUIRED, name


def test_app_reads_and_documents_every_variable_kubernetes_sets():
    config, secret = k8s_config()
    check_names(config, "ConfigMap")
    check_names(secret, "Secret")
    # The optional ones shown commented out (traces, replicas, Redis Cluster) as well.
    optional = commented_names(DEPLOY / "k8s" / "config.yaml") | commented_names(DEPLOY / "k8s" / "secret.example.yaml")
    assert {"OTEL_EXPORTER_OTLP_ENDPOINT", "DATABASE_REPLICA_URLS", "REDIS_CLUSTER", "CHANNEL_REDIS_URLS"} <= optional
    check_names(optional, "commented in the ConfigMap or Secret")
    assert set(config) | set(secret) >= REQUIRED
    assert not REQUIRED - {"ALLOWED_HOSTS"} & set(config)  # credentials go in the Secret
    for name, spec in pod_specs():
        for container in spec.get("initContainers", []) + spec["containers"]:
            check_names([each["name"] for each in container.get("env", [])], f"{name}/{container['name']}")
            refs = {ref.get("configMapRef", ref.get("secretRef"))["name"] for ref in container["envFrom"]}
            assert refs == {"socialsite-config", "socialsite-secrets"}, name


def test_the_variable_scan_finds_what_the_settings_read():
    # The regexes above aren't blind: names read in different ways are all found.
    read = app_read_names()
    assert {"DATABASE_URL", "SECRET_KEY", "DB_POOL_MAX_SIZE", "CELERY_RABBITMQ_QUEUE_TYPE"} <= read  # settings
    assert {"WEB_WORKERS", "WEB_THREADS", "DAPHNE_PROCESSES"} <= read  # socialsite.production
    assert {"PROMETHEUS_MULTIPROC_DIR", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"} <= read  # metrics, tracing
    assert "POSTGRES_PASSWORD" not in read


HEALTH_VIEWS = {"/healthz": health.healthz, "/readyz": health.readyz}


def k8s_http_probes():
    for name, spec in pod_specs():
        for container in spec["containers"]:
            ports = {port["name"]: port["containerPort"] for port in container.get("ports", [])}
            for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
                probe = container.get(kind, {}).get("httpGet")
                if probe:
                    yield f"{name}.{kind}", probe, ports


def test_kubernetes_probes_resolve_to_the_health_views():
    probes = list(k8s_http_probes())
    assert {where.split(".")[0] for where, _, _ in probes} == {"web", "asgi"}
    for where, probe, ports in probes:
        assert resolve(probe["path"]).func is HEALTH_VIEWS[probe["path"]], where
        assert probe["port"] in ports, where
        kind = where.split(".")[1]
        assert probe["path"] == ("/readyz" if kind == "readinessProbe" else "/healthz"), where


@pytest.mark.parametrize("where", ["web.livenessProbe", "asgi.startupProbe"])
def test_kubernetes_probe_request_is_answered_by_django(client, where):
    # The kubelet's request as it is sent: the path, and the Host header, which Django must accept
    # under the ConfigMap's ALLOWED_HOSTS (it answers 400 to the pod IP the kubelet would send).
    config, _ = k8s_config()
    (probe,) = [probe for name, probe, _ in k8s_http_probes() if name == where]
    headers = {each["name"]: each["value"] for each in probe["httpHeaders"]}
    with override_settings(ALLOWED_HOSTS=config["ALLOWED_HOSTS"].split(",")):
        assert client.get(probe["path"], headers=headers).status_code == 200
        assert client.get(probe["path"], headers={"Host": "10.1.2.3"}).status_code == 400


def test_compose_health_checks_resolve_to_the_health_views(compose):
    for name in ("web", "asgi"):
        service = compose["services"][name]
        (url,) = re.findall(r"http://127\.0\.0\.1:(\d+)(/\w+)", " ".join(service["healthcheck"]["test"]))
        port, path = url
        assert resolve(path).func is health.readyz, name
        assert port in service["command"] or f"0.0.0.0:{port}" in service["command"], name  # where it listens


def realtime_paths_in_nginx():
    routes = nginx_routes(DEPLOY / "nginx" / "socialsite.conf")
    return {path for path, upstream in routes.items() if upstream == "socialsite_realtime"}


def test_realtime_paths_exist_in_the_app():
    paths = realtime_paths_in_nginx()
    assert paths == {"/ws/", "/api/v1/notifications/stream", "/api/v1/notifications/poll"}
    for path in paths - {"/ws/"}:  # /ws/ is Channels' routing, not a Django URL
        resolve(path)
    routing = (ROOT / "socialsite" / "asgi.py").read_text() + (
        ROOT / "socialsite" / "realtime" / "routing.py"
    ).read_text()
    assert re.search(r"""path\(\s*["']ws/["']""", routing)


def test_ingress_routes_as_nginx_does():
    realtime = realtime_paths_in_nginx()
    routed = {}
    for _, doc in k8s_documents():
        if doc["kind"] == "Ingress":
            for rule in doc["spec"]["rules"]:
                for path in rule["http"]["paths"]:
                    routed[path["path"]] = path["backend"]["service"]["name"]
    assert {path for path, service in routed.items() if service == "asgi"} == realtime
    assert routed["/"] == "web"


def test_compose_nginx_routes_as_the_template_does():
    template = nginx_routes(DEPLOY / "nginx" / "socialsite.conf")
    proxied = {path: upstream for path, upstream in template.items() if not path.startswith("/static/")}
    assert nginx_routes(DEPLOY / "nginx" / "compose.conf") == proxied


def test_compose_and_kubernetes_run_the_same_role_commands(compose):
    # Kubernetes' `args` and compose's `command` both run after the image's entrypoint
    # (deploy/entrypoint.sh: it empties PROMETHEUS_MULTIPROC_DIR); a Kubernetes `command` would skip it.
    containers = dict(k8s_app_containers())
    for name in ("web", "asgi", "worker-fanout", "worker-media", "worker-default", "beat"):
        assert "command" not in containers[name], name
        assert compose["services"][name]["command"] == containers[name]["args"], name
    (job,) = [container for name, container in k8s_app_containers() if name == "socialsite-migrate"]
    assert "command" not in job
    assert job["args"] == compose["services"]["migrate"]["command"]
    assert not any("entrypoint" in service for service in compose_app_services(compose).values())
