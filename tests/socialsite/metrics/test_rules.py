"""The shipped Prometheus files: promtool accepts them, the alerts fire on the series their unit
tests feed them, and every series the alerts and the Grafana dashboard read is one the code exports."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from django_prometheus.middleware import Metrics
from prometheus_client import REGISTRY

from socialsite import breakers, cache, metrics, replicas  # noqa: F401 -- their series are registered on import
from tests.conftest import require

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "socialsite.json"
ELSEWHERE = {"up"}  # Prometheus's own


def promtool(*args):
    require(shutil.which("promtool") is not None, "promtool is not installed (apt-get install prometheus)")
    result = subprocess.run(["promtool", *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_promtool_checks_the_rules_and_the_example_config():
    assert "SUCCESS: 12 rules found" in promtool("check", "rules", "alerts.yml")
    promtool("check", "config", "--syntax-only", "prometheus.yml")


def test_every_alert_is_proven_to_fire_by_promtool():
    assert "SUCCESS" in promtool("test", "rules", "alerts_test.yml")
    alerts = {
        rule["alert"]
        for group in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
        for rule in group["rules"]
    }
    tested = {
        case["alertname"]
        for test in yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert alerts == tested


def exported_names():
    """Every sample name the processes can export: each registered family's, with their suffixes
    (the registry's own index: a family with labels shows no sample until one is set), and the
    scrape-time families."""
    Metrics.get_instance()  # the middlewares' families, registered when the first one is made
    return set(REGISTRY._names_to_collectors) | set(metrics.SCRAPED)


def names_in(expression):
    # A series name starts an expression or follows an operator or a bracket; label values are quoted.
    unquoted = re.sub(r'"[^"]*"', '""', expression)
    return set(re.findall(r"\b((?:django|socialsite)_[a-z0-9_]+|up)\b(?=\s*[{\[)]|\s*$|\s*[<>=!])", unquoted))


def test_the_alerts_and_the_dashboard_read_only_series_the_code_exports():
    alerts = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    expressions = [rule["expr"] for group in alerts["groups"] for rule in group["rules"]]
    dashboard = json.loads(DASHBOARD.read_text())
    expressions += [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    used = set().union(*(names_in(expression) for expression in expressions))
    assert len(used) > 25  # the pattern found them
    assert used - exported_names() - ELSEWHERE == set()
    assert {"socialsite_db_replica_lag_seconds", "socialsite_breaker_state"} <= used  # replicas, breakers
