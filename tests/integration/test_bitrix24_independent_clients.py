"""Independent Bitrix24 clients from PyPI work against the sandbox portal unchanged.

The issue's scenario — list companies, add a company with a requisite, a batch, update a
deal, read a list of 500 with the library's own paging — once with fast-bitrix24 (async,
webhook URL over HTTP) and once with b24pysdk (the official SDK, which always calls
``https://<domain>/rest``: the portal is served over TLS with a throw-away certificate that
``requests`` is told to trust through ``REQUESTS_CA_BUNDLE``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Both libraries are in the dev extra (`make test` installs them): plain imports, so a
# missing package fails instead of silently skipping the check.
import b24pysdk
import fast_bitrix24
import pytest
import uvicorn

from bitrix1c.sandbox.bitrix24 import Portal, create_app

LIST_SIZE = 500


class QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.contextmanager
def serve(app: Any, **ssl: Any) -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = QuietServer(uvicorn.Config(app, log_level="warning", lifespan="off", **ssl))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def seeded_portal() -> Portal:
    # Generous limits: the libraries' own throttling is not what is tested here.
    portal = Portal(None, drain_per_second=1000.0, burst=1000)
    for chunk in range(LIST_SIZE // 50):
        portal.call(
            "batch",
            {
                "cmd": {
                    f"c{i}": f"crm.company.add?fields[TITLE]=Seed {chunk * 50 + i}&fields[ORIGINATOR_ID]=seed"
                    for i in range(50)
                }
            },
        )
    return portal


def company_with_requisite(portal: Portal, company_id: int) -> dict[str, Any]:
    rows = portal.call(
        "crm.requisite.list", {"filter": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": company_id}}
    )["result"]
    assert len(rows) == 1
    return {
        "company": portal.call("crm.company.get", {"id": company_id})["result"],
        "requisite": rows[0],
    }


async def test_fast_bitrix24_scenario() -> None:
    portal = seeded_portal()
    deal_id = portal.call("crm.deal.add", {"fields": {"TITLE": "Заказ", "OPPORTUNITY": 100}})[
        "result"
    ]
    try:
        with serve(create_app(portal)) as port:
            webhook = (
                f"http://127.0.0.1:{port}/rest/{portal.webhook_user_id}/{portal.webhook_code}/"
            )
            b = fast_bitrix24.BitrixAsync(webhook, verbose=False, ssl=False)
            # list of 500 with the library's own paging (first page for `total`, then offsets)
            seeded = await b.get_all(
                "crm.company.list", {"select": ["ID", "TITLE"], "filter": {"ORIGINATOR_ID": "seed"}}
            )
            assert len(seeded) == LIST_SIZE
            assert len({c["ID"] for c in seeded}) == LIST_SIZE
            # add a company with a requisite
            company_id = await b.call("crm.company.add", {"fields": {"TITLE": "ООО Фаст"}})
            await b.call(
                "crm.requisite.add",
                {
                    "fields": {
                        "ENTITY_TYPE_ID": 4,
                        "ENTITY_ID": company_id,
                        "PRESET_ID": 1,
                        "NAME": "ООО Фаст",
                        "RQ_INN": "7707083893",
                    }
                },
            )
            # a batch with a $result reference
            batch = await b.call_batch(
                {
                    "halt": 0,
                    "cmd": {
                        "get": f"crm.company.get?id={company_id}",
                        "req": f"crm.requisite.list?filter[ENTITY_ID]={company_id}&filter[ENTITY_TYPE_ID]=4",
                        "again": "crm.company.get?id=$result[get][ID]",
                    },
                }
            )
            assert batch["get"]["TITLE"] == "ООО Фаст"
            assert batch["again"]["ID"] == str(company_id)
            assert batch["req"][0]["RQ_INN"] == "7707083893"
            # update a deal; read it back through the same library
            assert (
                await b.call("crm.deal.update", {"id": deal_id, "fields": {"STAGE_ID": "WON"}})
                is True
            )
            # fast-bitrix24 reads single records with get_by_ID (one id → the record itself)
            deal = await b.get_by_ID("crm.deal.get", [deal_id])
        assert deal["STAGE_ID"] == "WON"
        stored = company_with_requisite(portal, int(company_id))
        assert stored["requisite"]["RQ_INN"] == "7707083893"
        assert portal.stats.served_503 == 0
    finally:
        portal.close()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_b24pysdk_scenario(tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = tls_files
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    portal = seeded_portal()
    deal_id = portal.call("crm.deal.add", {"fields": {"TITLE": "Заказ", "OPPORTUNITY": 100}})[
        "result"
    ]
    try:
        with serve(create_app(portal), ssl_certfile=str(cert), ssl_keyfile=str(key)) as port:
            token = b24pysdk.BitrixWebhook(
                domain=f"127.0.0.1:{port}",
                webhook_token=f"{portal.webhook_user_id}/{portal.webhook_code}",
            )
            client = b24pysdk.Client(token)
            crm = client.crm
            # list of 500 with the SDK's own paging: counted pages and the fast >ID method
            listed = (
                crm.company.list(select=["ID", "TITLE"], filter={"ORIGINATOR_ID": "seed"})
                .as_list()
                .result
            )
            fast = (
                crm.company.list(select=["ID", "TITLE"], filter={"ORIGINATOR_ID": "seed"})
                .as_list_fast()
                .result
            )
            assert len(list(listed)) == LIST_SIZE
            assert len({c["ID"] for c in fast}) == LIST_SIZE
            # add a company with a requisite
            company_id = crm.company.add(fields={"TITLE": "ООО Сдк"}).result
            requisite_id = crm.requisite.add(
                fields={
                    "ENTITY_TYPE_ID": 4,
                    "ENTITY_ID": company_id,
                    "PRESET_ID": 1,
                    "NAME": "ООО Сдк",
                    "RQ_INN": "7707083893",
                }
            ).result
            assert requisite_id
            # a batch
            batch = client.call_batch(
                {
                    "company": crm.company.get(bitrix_id=company_id),
                    "requisites": crm.requisite.list(
                        filter={"ENTITY_ID": company_id, "ENTITY_TYPE_ID": 4}
                    ),
                }
            ).result
            assert batch.result["company"]["TITLE"] == "ООО Сдк"
            assert batch.result["requisites"][0]["RQ_INN"] == "7707083893"
            # update a deal
            assert crm.deal.update(bitrix_id=deal_id, fields={"STAGE_ID": "WON"}).result is True
            assert crm.deal.get(bitrix_id=deal_id).result["STAGE_ID"] == "WON"
            # a bank detail of the requisite and the deal's requisite link, the SDK's own way
            bank_id = crm.requisite.bankdetail.add(
                fields={"ENTITY_ID": requisite_id, "NAME": "Банк", "RQ_BIK": "044525225"}
            ).result
            banks = crm.requisite.bankdetail.list(filter={"ENTITY_ID": requisite_id}).result
            assert [(b["ID"], b["RQ_BIK"]) for b in banks] == [(str(bank_id), "044525225")]
            assert crm.deal.update(bitrix_id=deal_id, fields={"COMPANY_ID": company_id}).result
            link = {"ENTITY_TYPE_ID": 2, "ENTITY_ID": deal_id, "REQUISITE_ID": requisite_id}
            link |= {"BANK_DETAIL_ID": bank_id, "MC_REQUISITE_ID": 0, "MC_BANK_DETAIL_ID": 0}
            assert crm.requisite.link.register(fields=link).result is True
            got = crm.requisite.link.get(entity_type_id=2, entity_id=deal_id).result
            assert got["BANK_DETAIL_ID"] == str(bank_id)
        assert (
            company_with_requisite(portal, int(company_id))["requisite"]["RQ_INN"] == "7707083893"
        )
    finally:
        portal.close()
