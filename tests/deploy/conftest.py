"""What tests/deploy reads: the Dockerfile, compose.yaml, the Kubernetes manifests, the nginx configs
and the names the app reads from its environment. No container engine here: they are checked as files."""

import functools
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "env.example"


def k8s_files():
    return sorted(path for path in K8S.rglob("*.yaml") if path.name != "kustomization.yaml")


@functools.cache  # parsed once: the documents are read, never changed
def k8s_documents():
    return [(path, doc) for path in k8s_files() for doc in yaml.safe_load_all(path.read_text()) if doc]


def pod_specs():
    """(name, pod spec) of every Deployment and Job."""
    return [
        (doc["metadata"]["name"], doc["spec"]["template"]["spec"])
        for _, doc in k8s_documents()
        if doc["kind"] in ("Deployment", "Job")
    ]


# Modules that read os.environ themselves, before or outside the settings: the launcher (and
# gunicorn.conf.py's counts), the metrics directory (prometheus_client reads it at import), tracing.
ENVIRON_READERS = ("production.py", "metrics.py", "tracing.py")


def app_read_names():
    """Environment variables the app itself reads: django-environ calls in the settings, and what
    ENVIRON_READERS read from os.environ."""
    settings = (ROOT / "socialsite" / "settings.py").read_text()
    names = set(re.findall(r'\benv(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"', settings))
    for module in ENVIRON_READERS:
        text = (ROOT / "socialsite" / module).read_text()
        names |= set(re.findall(r'_int\(environ, "([A-Z][A-Z0-9_]*)"', text))
        names |= set(re.findall(r'environ\.get\("([A-Z][A-Z0-9_]*)"', text))
    return names


def commented_names(path):
    """Variables an example file shows commented out (`# NAME: "…"` in YAML, `# NAME=…` in env.example):
    uncommented, they are set like the others."""
    return set(re.findall(r"^\s*#\s*([A-Z][A-Z0-9_]*)(?::\s|=)", path.read_text(), re.M))


def documented_names():
    """Names in backticks in the README (its settings tables) and docs/operations.md."""
    text = (ROOT / "README.md").read_text() + (ROOT / "docs" / "operations.md").read_text()
    return set(re.findall(r"`([A-Z][A-Z0-9_]*)(?:=[^`]*)?`", text))


def nginx_routes(path):
    """{location: upstream} of the proxied locations in an nginx config."""
    text = path.read_text()
    routes = {}
    for where, body in re.findall(r"location\s+((?:[=~]\s+)?\"?[^\s{\"]+\"?)\s*\{(.*?)\}", text, re.S):
        upstream = re.search(r"proxy_pass\s+http://(\w+)", body)
        if upstream and not where.startswith("@"):
            routes[where.removeprefix("= ").strip()] = upstream.group(1)
    return routes


@pytest.fixture(scope="session")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="session")
def env_example():
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if line and not line.startswith("#"))
    return {name: value for name, value in pairs}
