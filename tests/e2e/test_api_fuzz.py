"""The API against its own OpenAPI schema: schemathesis with every check (its default) and every phase
(examples, coverage, fuzzing, stateful) on a real Daphne, production settings (DEBUG off).

`make test` runs it at FUZZ_EXAMPLES=5 with a fixed seed; `make fuzz` at 150 examples per
operation with a new seed (docs/api.md, "Fuzzing"). The accepted exceptions, each with its
reason, are in schemathesis.toml next to this file.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import image_bytes
from tests.e2e.conftest import ROOT, register_and_login, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(3600)]

CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
SEED = os.environ.get("FUZZ_SEED", "20261207")  # "random": a new one each run
# Limits have their own tests; here they would turn most of the run into 429s.
UNTHROTTLED = {
    f"THROTTLE_{name}": "1000000/1m"
    for name in ("LOGIN", "SIGNUP", "API", "ANON", "PASSWORD_RESET", "PHONE_CODE", "REPORT", "SEARCH", "MESSAGE")
}


def _seed(base_url):
    """Real objects for the fuzzer to find, as environment variables for schemathesis.toml."""
    fuzzer, other = register_and_login(base_url), register_and_login(base_url)

    def call(account, method, path, **kwargs):
        response = requests.request(method, f"{base_url}/api/v1{path}", headers=account.auth, timeout=30, **kwargs)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    media = call(fuzzer, "POST", "/media", files={"file": ("dot.png", image_bytes(), "image/png")})
    post = call(fuzzer, "POST", "/posts", json={"content": "Fuzzing #schemathesis with @" + other.username})
    comment = call(other, "POST", f"/posts/{post['id']}/comments", json={"content": "A comment to fuzz"})
    call(other, "POST", f"/posts/{post['id']}/likes")
    conversation = call(fuzzer, "POST", "/conversations", json={"title": "Fuzz", "member_ids": [other.id]})
    message = call(fuzzer, "POST", "/messages", json={"conversation_id": conversation["id"], "content": "hi"})
    notifications = []
    assert wait_until(
        lambda: notifications.extend(call(fuzzer, "GET", "/users/me/notifications")["results"]) or notifications
    )
    return {
        "FUZZ_TOKEN": fuzzer.access_token,
        "FUZZ_USER_ID": fuzzer.id,
        "FUZZ_OTHER_ID": other.id,
        "FUZZ_POST_ID": post["id"],
        "FUZZ_COMMENT_ID": comment["id"],
        "FUZZ_MEDIA_ID": media["id"],
        "FUZZ_CONVERSATION_ID": conversation["id"],
        "FUZZ_MESSAGE_ID": message["id"],
        "FUZZ_NOTIFICATION_ID": notifications[0]["id"],
    }


def test_the_api_keeps_its_schema(request, start_daphne, tmp_path):
    if os.environ.get("CELERY_BROKER_URL"):
        request.getfixturevalue("celery_worker")  # as deployed: tasks (notifications, media) on a worker
    static_root = tmp_path / "static"
    settings_env = {
        "DEBUG": "false",
        "SECRET_KEY": "fuzz-" + "k" * 60,
        "SECURE_HTTPS": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(static_root),
        **UNTHROTTLED,
    }
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, **settings_env},
        capture_output=True,
        text=True,
    )
    assert collect.returncode == 0, collect.stderr
    daphne = start_daphne(**settings_env)
    made = _seed(daphne.url)
    config = tmp_path / "schemathesis.toml"
    config.write_text(re.sub(r"\$\{(FUZZ_\w+)\}", lambda name: made[name[1]], CONFIG.read_text()))
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(CONFIG.with_name("schemathesis_hooks.py"))}
    argv = [
        Path(sys.executable).with_name("schemathesis"),
        *("--config-file", config),
        "run",
        f"{daphne.url}/api/schema/",
        *("--phases", "examples,coverage,fuzzing,stateful"),
        *("--max-examples", EXAMPLES),
        *("--workers", "2"),
        *(() if SEED == "random" else ("--seed", SEED)),
    ]
    run = subprocess.run([str(arg) for arg in argv], cwd=tmp_path, env=env, capture_output=True, text=True)
    report = run.stdout + run.stderr
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "schemathesis.txt").write_text(report)
    print(report[-6000:])
    assert run.returncode == 0, report[-20000:]
