"""The sandbox 1C base's push job: what it registers and what it sends."""

from __future__ import annotations

import json

import httpx

from bitrix1c.sandbox.onec import OneCBase
from bitrix1c.sandbox.onec.push_client import PushClient, watch

ORDERS = "Document_ЗаказКлиента"


def recorder(status: int = 200) -> tuple[list[dict[str, object]], httpx.MockTransport]:
    requests: list[dict[str, object]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append({"headers": dict(request.headers), "body": json.loads(request.content)})
        return httpx.Response(status, json={"status": "ok"})

    return requests, httpx.MockTransport(handle)


def test_documents_are_sent_in_batches_with_the_token() -> None:
    base = OneCBase(None)
    sent, transport = recorder()
    client = PushClient(base, "http://b1c/hooks/1c/trade", "t0k", batch_size=2, transport=transport)
    client.attach()
    first = base.create(ORDERS, {})
    base.set_posted(ORDERS, first["Ref_Key"], True)
    base.set_posted(ORDERS, first["Ref_Key"], False)
    base.create("Catalog_Контрагенты", {"Description": "ООО Ромашка"})  # not a document

    assert client.flush() == 3
    assert [len(r["body"]["changes"]) for r in sent] == [2, 1]  # type: ignore[index]
    changes = [c for r in sent for c in r["body"]["changes"]]  # type: ignore[index]
    assert [c["event"] for c in changes] == ["written", "posted", "unposted"]
    assert changes[2]["DataVersion"] == base.get(ORDERS, first["Ref_Key"])["DataVersion"]  # type: ignore[index]
    assert sent[0]["headers"]["authorization"] == "Bearer t0k"  # type: ignore[index]
    assert client.flush() == 0 and client.pending == []


def test_catalogs_too_when_asked_and_a_refusal_keeps_the_registration() -> None:
    base = OneCBase(None)
    _, transport = recorder(status=503)
    client = PushClient(
        base, "http://b1c/hooks/1c/trade", "t", kinds=("Catalog",), transport=transport
    ).attach()
    item = base.create("Catalog_Контрагенты", {"Description": "ООО Ромашка"})
    base.update("Catalog_Контрагенты", item["Ref_Key"], {"DeletionMark": True})
    base.update("Catalog_Контрагенты", item["Ref_Key"], {"Description": "ООО Ромашка (уд.)"})
    base.create(ORDERS, {})

    assert client.flush() == 0
    assert "503" in (client.last_error or "")
    assert [c["event"] for c in client.pending] == ["written", "deletion-marked", "written"]
    client.detach()
    base.create("Catalog_Контрагенты", {"Description": "ООО Лютик"})
    assert len(client.pending) == 3


def test_the_base_methods_are_wrapped_once_for_any_number_of_subscribers() -> None:
    base = OneCBase(None)
    seen: list[tuple[str, str]] = []
    watch(base).subscribe(lambda s, e, ev: seen.append((s, ev)))
    watch(base).subscribe(lambda s, e, ev: seen.append((s, ev.upper())))
    base.create(ORDERS, {})
    assert seen == [(ORDERS, "written"), (ORDERS, "WRITTEN")]
