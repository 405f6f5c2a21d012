"""The Bitrix24 emulator over real HTTP (uvicorn on a free 127.0.0.1 port + httpx)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import pytest
import uvicorn

from bitrix1c.sandbox.bitrix24 import Portal, create_app


@contextmanager
def serve(portal: Portal) -> Iterator[str]:
    """Run the portal's ASGI app in a background thread; yield its base URL."""
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
    # proto is TCP; with proto 0 every keep-alive reply waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(portal), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def portal() -> Iterator[Portal]:
    p = Portal(None, burst=1000, drain_per_second=100.0)
    yield p
    p.close()


@pytest.fixture
def hook(portal: Portal) -> Iterator[str]:
    with serve(portal) as base:
        yield f"{base}/rest/{portal.webhook_user_id}/{portal.webhook_code}"


def test_json_body_crud(hook: str) -> None:
    with httpx.Client() as client:
        reply = client.post(
            f"{hook}/crm.company.add.json",
            json={
                "fields": {
                    "TITLE": "ООО «Ромашка»",
                    "ORIGIN_ID": "1c-guid",
                    "PHONE": [{"VALUE": "+74951234567", "VALUE_TYPE": "WORK"}],
                }
            },
        )
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("application/json")
        body = reply.json()
        assert isinstance(body["result"], int) and body["time"]["date_start"].endswith("+03:00")
        company = body["result"]
        got = client.post(f"{hook}/crm.company.get", json={"id": company}).json()["result"]
        assert got["ID"] == str(company) and got["PHONE"][0]["VALUE"] == "+74951234567"
        listed = client.post(
            f"{hook}/crm.company.list",
            json={"filter": {"ORIGIN_ID": "1c-guid"}, "select": ["ID", "TITLE"]},
        ).json()
        assert listed["result"] == [{"ID": str(company), "TITLE": "ООО «Ромашка»"}]
        assert listed["total"] == 1


def test_php_form_bodies_and_get_query(hook: str) -> None:
    with httpx.Client() as client:
        form = {
            "fields[TITLE]": "ИП Иванов",
            "fields[PHONE][0][VALUE]": "+79001112233",
            "fields[PHONE][0][VALUE_TYPE]": "MOBILE",
            "fields[UF_CRM_INN]": "500100732259",
        }
        reply = client.post(f"{hook}/crm.company.add", data=form)
        assert reply.status_code == 200
        company = reply.json()["result"]
        for i in range(3):
            client.post(f"{hook}/crm.company.add", data={"fields[TITLE]": f"Компания {i}"})
        query = urlencode(
            [
                ("filter[>ID]", str(company)),
                ("select[]", "ID"),
                ("select[]", "TITLE"),
                ("order[ID]", "DESC"),
            ]
        )
        got = client.get(f"{hook}/crm.company.list?{query}").json()
        assert [r["ID"] for r in got["result"]] == [
            str(company + 3),
            str(company + 2),
            str(company + 1),
        ]
        raw = client.get(f"{hook}/crm.company.get?id={company}").json()["result"]
        assert raw["PHONE"][0]["VALUE_TYPE"] == "MOBILE" and raw["UF_CRM_INN"] == "500100732259"
        multi = client.post(
            f"{hook}/crm.company.list",
            files={"filter[%TITLE]": (None, "иванов"), "select[]": (None, "ID")},
        ).json()
        assert multi["result"] == [{"ID": str(company)}]


def test_batch_over_http(hook: str) -> None:
    with httpx.Client() as client:
        cmd_add = "crm.company.add?" + urlencode({"fields[TITLE]": "ООО «Бета» & Ко"})
        form = {
            "halt": "1",
            "cmd[c1]": cmd_add,
            "cmd[c2]": "crm.requisite.add?fields[ENTITY_TYPE_ID]=4&fields[ENTITY_ID]=$result[c1]"
            "&fields[PRESET_ID]=1&fields[NAME]="
            + quote("Организация")
            + "&fields[RQ_INN]=7707083893",
            "cmd[c3]": "crm.requisite.list?filter[RQ_INN]=7707083893&select[]=ENTITY_ID",
        }
        body = client.post(f"{hook}/batch", data=form).json()
        result = body["result"]
        assert result["result_error"] == []
        assert result["result"]["c3"] == [{"ENTITY_ID": str(result["result"]["c1"])}]
        json_batch = client.post(
            f"{hook}/batch.json",
            json={"halt": 0, "cmd": ["crm.company.get?id=999", "crm.company.get?id=1"]},
        ).json()["result"]
        assert json_batch["result_error"] == [{"error": "", "error_description": "Not found"}]
        assert json_batch["result"]["1"]["TITLE"] == "ООО «Бета» & Ко"
        too_long = client.post(
            f"{hook}/batch", json={"cmd": {f"c{i}": "crm.company.fields" for i in range(51)}}
        )
        assert too_long.status_code == 400
        assert too_long.json()["error"] == "ERROR_BATCH_LENGTH_EXCEEDED"
        nested = client.post(
            f"{hook}/batch", json={"cmd": {"x": "batch?cmd[y]=crm.company.fields"}}
        )
        assert nested.status_code == 405


def test_errors_over_http(portal: Portal, hook: str) -> None:
    base = hook.rsplit("/rest/", 1)[0]
    with httpx.Client() as client:
        wrong = client.post(f"{base}/rest/{portal.webhook_user_id}/wrongcode/crm.company.list")
        assert wrong.status_code == 401
        assert wrong.json() == {
            "error": "NO_AUTH_FOUND",
            "error_description": "Wrong authorization data",
        }
        oauth = client.post(f"{base}/rest/crm.company.list", json={"auth": "unknown"})
        assert oauth.status_code == 401
        portal.access_tokens["known-token"] = 1
        assert client.get(f"{base}/rest/crm.company.list.json?auth=known-token").status_code == 200
        missing = client.post(f"{hook}/crm.unknown.method")
        assert missing.status_code == 404
        assert missing.json() == {
            "error": "ERROR_METHOD_NOT_FOUND",
            "error_description": "Method not found!",
        }
        not_found = client.post(f"{hook}/crm.company.get", json={"id": 12345})
        assert not_found.status_code == 400
        assert not_found.json() == {"error": "", "error_description": "Not found"}
        bad = client.post(
            f"{hook}/crm.requisite.add",
            json={"fields": {"ENTITY_ID": 1, "PRESET_ID": 1, "NAME": "x"}},
        )
        assert bad.status_code == 400
        assert bad.json()["error_description"] == "ENTITY_TYPE_ID is not defined or invalid."


def test_burst_gives_503() -> None:
    portal = Portal(None)  # standard plan: 2 requests/s drain, threshold 50
    with serve(portal) as base, httpx.Client() as client:
        url = f"{base}/rest/{portal.webhook_user_id}/{portal.webhook_code}/crm.company.fields"
        statuses = [client.post(url).status_code for _ in range(60)]
        limited = client.post(url)
    portal.close()
    assert statuses[:50] == [200] * 50
    assert 503 in statuses[50:]
    assert limited.status_code == 503
    assert limited.json() == {
        "error": "QUERY_LIMIT_EXCEEDED",
        "error_description": "Too many requests",
    }
    assert portal.stats.requests == 61
    assert portal.stats.served_503 == statuses.count(503) + 1


def test_restart_keeps_data_and_webhook(tmp_path: Path) -> None:
    db = tmp_path / "bitrix24.sqlite"
    first = Portal(db)
    code = first.webhook_code
    with serve(first) as base, httpx.Client() as client:
        hook = f"{base}/rest/1/{code}"
        for title in ("ООО «Первая»", "ООО «Вторая»"):
            assert (
                client.post(
                    f"{hook}/crm.company.add", json={"fields": {"TITLE": title}}
                ).status_code
                == 200
            )
    first.close()

    second = Portal(db)
    assert second.webhook_code == code
    with serve(second) as base, httpx.Client() as client:
        listed = client.post(
            f"{base}/rest/1/{code}/crm.company.list",
            json={"select": ["TITLE"], "order": {"ID": "ASC"}},
        ).json()
    second.close()
    assert [r["TITLE"] for r in listed["result"]] == ["ООО «Первая»", "ООО «Вторая»"]
