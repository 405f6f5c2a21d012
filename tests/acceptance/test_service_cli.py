"""`bitrix1c run` and `bitrix1c sync counterparties --dry-run` against the sandboxes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bitrix1c.sandbox.server import Endpoints, SandboxThread
from bitrix1c.web.auth import hash_password

CONFIG = """\
bitrix24:
  webhook_url: ${{B24_URL}}
onec:
  - name: trade
    odata_url: {odata}
    username: {user}
    password: ${{ONEC_PASSWORD}}
flows:
  counterparties: {{every_minutes: 60}}
store:
  url: sqlite+aiosqlite:///{store}
web:
  port: {port}
  password_hash: ${{WEB_PASSWORD_HASH}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Endpoints]:
    with SandboxThread(tmp_path / "sandbox", scale=40) as endpoints:
        yield endpoints


def write_config(tmp_path: Path, endpoints: Endpoints, port: int) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "bitrix1c.yaml"
    path.write_text(
        CONFIG.format(
            odata=endpoints.onec_odata_url,
            user=endpoints.onec_username,
            store=tmp_path / "store.db",
            port=port,
        ),
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "B24_URL": endpoints.bitrix24_webhook_url,
        "ONEC_PASSWORD": endpoints.onec_password,
        "WEB_PASSWORD_HASH": hash_password("pw"),
    }
    return path, env


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bitrix1c", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def company_count(endpoints: Endpoints) -> int:
    reply = httpx.post(
        endpoints.bitrix24_webhook_url + "crm.company.list", json={"select": ["ID"]}, timeout=30
    )
    return int(reply.json()["total"])


def test_dry_run_plans_and_writes_nothing(sandbox: Endpoints, tmp_path: Path) -> None:
    config, env = write_config(tmp_path, sandbox, free_port())
    before = company_count(sandbox)
    result = cli("sync", "counterparties", "--dry-run", "--config", str(config), env=env)
    assert result.returncode == 0, result.stderr
    assert "read 41, would create" in result.stdout
    assert company_count(sandbox) == before

    result = cli("sync", "counterparties", "--config", str(config), env=env)
    assert result.returncode == 0, result.stderr
    # Hand-made companies stay; look-alikes without requisites wait in the review queue.
    created = int(re.search(r"create (\d+)", result.stdout).group(1))  # type: ignore[union-attr]
    assert created > 0 and company_count(sandbox) == before + created


def test_wrong_secret_reference_is_a_clear_error(sandbox: Endpoints, tmp_path: Path) -> None:
    config, env = write_config(tmp_path, sandbox, free_port())
    del env["ONEC_PASSWORD"]
    result = cli("sync", "counterparties", "--config", str(config), env=env)
    assert result.returncode == 2
    assert "onec[0].password: environment variable ONEC_PASSWORD is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_serves_healthz_and_syncs_on_schedule(sandbox: Endpoints, tmp_path: Path) -> None:
    port = free_port()
    config, env = write_config(tmp_path, sandbox, port)
    before = company_count(sandbox)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bitrix1c", "run", "--config", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        runs: list[dict] = []
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                runs = httpx.get(
                    f"http://127.0.0.1:{port}/api/runs", auth=("admin", "pw"), timeout=5
                ).json()["runs"]
                if runs and runs[0]["status"] != "running":
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        assert health.json()["status"] == "ok"
        assert runs and runs[0]["flow"] == "counterparties" and runs[0]["status"] == "ok"
        # Look-alikes of companies typed without requisites wait in the review queue.
        in_review = runs[0]["skipped"] - 1
        assert runs[0]["created"] + runs[0]["updated"] + in_review == 40
        assert company_count(sandbox) == before + runs[0]["created"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
