"""The ``resultExample`` of every method spec the client reads parses through its models
with nothing lost (specs copied from the official docs into ``tests/data/reference``, MIT)."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx
import pytest

from bitrix1c.bitrix24.client import Bitrix24Client
from bitrix1c.bitrix24.models import METHOD_MODELS, Bitrix24Model, parse_result

SPEC_DIR = Path(__file__).parents[1] / "data" / "reference" / "bitrix24" / "methods"


def _examples() -> list[str]:
    found = []
    for method in METHOD_MODELS:
        path = SPEC_DIR / f"{method}.json"
        if path.exists() and json.loads(path.read_text("utf-8")).get("resultExample") is not None:
            found.append(method)
    return found


def normalize(value: Any) -> Any:
    """Same meaning, same form: ids as strings or numbers, "" or null for none."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    try:
        return Decimal(str(value)).normalize()
    except InvalidOperation:
        return value


def test_the_examples_cover_the_methods_the_client_reads() -> None:
    # every method with a published example is checked below; the rest have none in the docs
    assert len(_examples()) >= 25


@pytest.mark.parametrize("method", _examples())
def test_result_example_parses_with_nothing_lost(method: str) -> None:
    spec = json.loads((SPEC_DIR / f"{method}.json").read_text("utf-8"))
    example = spec["resultExample"]
    # measure/priceType samples omit the "result" wrapper (bitrix24.md §9, docs slip)
    result = example["result"] if "result" in example else example
    parsed = parse_result(method, result)
    _model, wrapper, many = METHOD_MODELS[method]
    rows = result.get(wrapper) if wrapper and isinstance(result, dict) else result
    if many:
        assert isinstance(parsed, list) and len(parsed) == len(rows)
        pairs = list(zip(parsed, rows, strict=True))
    else:
        pairs = [(parsed, rows)]
    for record, raw in pairs:
        assert isinstance(record, Bitrix24Model)
        assert normalize(record.raw()) == normalize(raw)


def test_unknown_keys_are_kept_as_extra() -> None:
    spec = json.loads((SPEC_DIR / "catalog.product.list.json").read_text("utf-8"))
    product = parse_result("catalog.product.list", spec["resultExample"]["result"])[0]
    assert product.id is not None and product.iblockId is not None
    assert any(key.startswith("property") for key in product.extra)


# Methods whose result is a scalar (an id or true): nothing to model, but the reply the
# caller gets must carry the whole example (result and the time block).
SCALAR_RESULTS = (
    "crm.requisite.bankdetail.add",
    "crm.requisite.bankdetail.update",
    "crm.requisite.bankdetail.delete",
    "crm.requisite.link.register",
    "crm.requisite.link.unregister",
    "event.offline.clear",
    "event.offline.error",
)


@pytest.mark.parametrize("method", SCALAR_RESULTS)
async def test_scalar_result_example_reaches_the_caller_whole(method: str) -> None:
    example = json.loads((SPEC_DIR / f"{method}.json").read_text("utf-8"))["resultExample"]
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=example))
    async with Bitrix24Client(
        "https://portal.example/rest/1/code/", transport=transport, rate=1000, burst=1000
    ) as client:
        reply = await client.call(method, {})
    assert isinstance(example["result"], bool | int)
    assert (reply.result, dict(reply.time or {})) == (example["result"], example["time"])
