"""The web and asgi roles started with compose's own commands, as production runs them (DEBUG off,
HTTPS on, a real ALLOWED_HOSTS), and probed with compose's own health-check commands and the
kubelet's requests. Only the address differs: a free loopback port instead of 0.0.0.0:8000/8001."""

import os
import subprocess
import sys
from pathlib import Path

import requests

from tests.deploy.conftest import k8s_documents
from tests.e2e.conftest import Process, free_port, test_database_url

HOST = "social.example.com"
ROLES = {"web": 8000, "asgi": 8001}  # the port each role's command listens on in compose


def local(argv, listen_port, port):
    """A compose argv runnable here: this venv's executables, loopback, a free port."""
    executable = sys.executable if argv[0] == "python" else str(Path(sys.executable).parent / argv[0])
    swapped = []
    for arg in argv[1:]:
        arg = arg.replace(f"0.0.0.0:{listen_port}", f"127.0.0.1:{port}").replace(
            f"127.0.0.1:{listen_port}", f"127.0.0.1:{port}"
        )
        swapped.append(str(port) if arg == str(listen_port) else arg.replace("0.0.0.0", "127.0.0.1"))
    return [executable, *swapped]


def k8s_probe_host():
    (deployment,) = [
        doc for _, doc in k8s_documents() if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "web"
    ]
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]
    return {each["name"]: each["value"] for each in probe["httpHeaders"]}["Host"]


def test_roles_start_and_pass_their_health_checks(compose, tmp_path, db):
    # `db`: the test database exists (and DATABASE_URL names it). The processes only read it
    # (/readyz: `SELECT 1`, the outbox count), so nothing needs committing: no transactional_db.
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "MEDIA_ROOT": str(tmp_path),
        "DEBUG": "false",
        "SECRET_KEY": "tests-deploy-roles-not-a-secret",
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "SECURE_PROXY_SSL": "true",
        "NUM_PROXIES": "1",
        "WEB_WORKERS": "1",
        "WEB_THREADS": "2",
        "EMBEDDED_BEAT": "false",
    }
    ports = {role: free_port() for role in ROLES}
    # Both at once: their start-ups overlap.
    processes = {
        role: Process(role, local(compose["services"][role]["command"], listen_port, ports[role]), env, tmp_path)
        for role, listen_port in ROLES.items()
    }
    try:
        check_roles(compose, env, ports, processes)
    finally:
        for process in processes.values():
            process.stop()


def check_roles(compose, env, ports, processes):
    host = k8s_probe_host()
    assert host in env["ALLOWED_HOSTS"].split(",")
    for role, listen_port in ROLES.items():
        url = f"http://127.0.0.1:{ports[role]}"

        def answers(url=url):
            try:
                return requests.get(f"{url}/healthz", headers={"Host": HOST}, timeout=1).status_code == 200
            except (requests.ConnectionError, requests.Timeout):
                return False

        processes[role].wait_for(answers, "200 on /healthz")

        # compose's health check, word for word but the port: /readyz with ALLOWED_HOSTS' first entry.
        check = local(compose["services"][role]["healthcheck"]["test"][1:], listen_port, ports[role])
        result = subprocess.run(check, env=env, capture_output=True, text=True, timeout=30)  # noqa: S603
        assert result.returncode == 0, (role, result.stderr, processes[role].output()[-3000:])

        # The kubelet's requests, with the probes' Host header.
        for path in ("/healthz", "/readyz"):
            assert requests.get(f"{url}{path}", headers={"Host": host}, timeout=15).status_code == 200, (role, path)
        # HTTPS is on (DEBUG off): other paths redirect, so the health paths' exemption is what let them through.
        redirect = requests.get(f"{url}/api/v1/feed", headers={"Host": host}, timeout=5, allow_redirects=False)
        assert redirect.status_code == 301, role
        assert redirect.headers["Location"].startswith(f"https://{host}/"), role
