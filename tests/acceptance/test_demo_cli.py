"""`bitrix1c demo --once --json` as a user runs it, then the portal it filled."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

SCALE = 60


def demo(state: Path) -> dict:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bitrix1c",
            "demo",
            "--once",
            "--json",
            "--state",
            str(state),
            "--scale",
            str(SCALE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    return json.loads(last)


def test_demo_once_fills_the_portal_and_continues_from_its_state(tmp_path: Path) -> None:
    state = tmp_path / "demo"
    first = demo(state)["flows"]["counterparties"]
    assert set(first) == {"read", "created", "updated", "skipped", "failed"}
    # The base also holds the predefined "Розничный покупатель", read and skipped; the
    # look-alikes of companies managers typed without requisites wait for review.
    in_review = first["skipped"] - 1
    assert first["read"] == SCALE + 1 and first["failed"] == 0 and in_review > 0
    assert first["created"] + first["updated"] + in_review == SCALE and first["created"] > 0

    second = demo(state)["flows"]["counterparties"]
    assert second == {
        "read": SCALE + 1,
        "created": 0,
        "updated": 0,
        "skipped": SCALE + 1,
        "failed": 0,
    }

    # The companies are really in the Bitrix24 sandbox: start it on the same state and ask it.
    proc = subprocess.Popen(
        [sys.executable, "-m", "bitrix1c", "sandbox", "--state", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        deadline = time.monotonic() + 60
        while "Bitrix24 webhook:" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
        endpoints = json.loads((state / "endpoints.json").read_text(encoding="utf-8"))
        assert line.split("Bitrix24 webhook:")[1].strip() == endpoints["bitrix24_webhook_url"]
        assert {"onec_odata_url", "onec_username", "onec_password"} <= set(endpoints)
        reply = httpx.post(
            endpoints["bitrix24_webhook_url"] + "crm.company.list",
            json={"filter": {"ORIGINATOR_ID": "trade"}, "select": ["ID", "TITLE", "ORIGIN_ID"]},
            timeout=30,
        ).json()
        assert reply["total"] == SCALE - in_review
        assert all(row["ORIGIN_ID"] for row in reply["result"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
