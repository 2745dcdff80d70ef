"""Issue 19, serving: the HAProxy config, docker-compose.yml and deploy/run-local.sh (no servers started)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_haproxy_config_is_sticky_websocket_capable_and_health_checked():
    cfg = (ROOT / "deploy" / "haproxy.cfg").read_text()
    for needed in ("cookie ALSRV insert", "timeout tunnel", "option httpchk GET /_stcore/health", "server-template app"):
        assert needed in cfg
    for config in (cfg, (ROOT / "deploy" / "run-local.sh").read_text()):  # a busy replica is slow, not down
        assert "timeout check 30s" in config
    if shutil.which("haproxy"):
        r = subprocess.run(["haproxy", "-c", "-f", str(ROOT / "deploy" / "haproxy.cfg")], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr


def test_compose_runs_replicas_of_the_dockerfile_behind_the_balancer():
    yaml = pytest.importorskip("yaml")
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    app, lb = spec["services"]["app"], spec["services"]["balancer"]
    assert app["build"] == "." and "replicas" in app["deploy"]
    assert any("deploy/haproxy.cfg" in v for v in lb["volumes"])
    assert all(p.startswith("127.0.0.1:") for p in lb["ports"])  # published on loopback only


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_run_local_says_how_to_install_haproxy_when_it_is_missing(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("dirname", "mktemp", "seq"):  # what the script needs before its haproxy check
        if shutil.which(tool):
            (bindir / tool).symlink_to(shutil.which(tool))
    env = {"PATH": str(bindir), "HOME": str(tmp_path), "RUN_DIR": str(tmp_path / "run")}
    r = subprocess.run([shutil.which("bash"), str(ROOT / "deploy" / "run-local.sh")], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "apt-get install haproxy" in r.stderr
    assert os.access(ROOT / "deploy" / "run-local.sh", os.X_OK)
