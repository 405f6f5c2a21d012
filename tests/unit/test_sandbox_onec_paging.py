"""Keyset paging (``Ref_Key gt guid'…'``) in the sandbox returns what a scan would."""

from __future__ import annotations

import uuid

import httpx

from bitrix1c.onec.query import encode_options
from bitrix1c.sandbox.onec import OneCBase, create_app

ROOT = "/trade/odata/standard.odata/Catalog_Контрагенты"


async def test_keyset_pages_equal_filtered_scan() -> None:
    base = OneCBase(None, name="trade", username="u", password="p")
    with base.bulk():
        for i in range(150):
            base.create(
                "Catalog_Контрагенты",
                {
                    "Ref_Key": str(uuid.uuid5(uuid.NAMESPACE_OID, f"k{i}")),
                    "Description": f"К{i}",
                    "DeletionMark": i % 4 == 0,
                },
            )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(create_app({"trade": base})),
        base_url="http://sandbox",
        auth=("u", "p"),
    ) as http:

        async def page(filter_: str, top: int) -> list[str]:
            params = {"$format": "json", "$orderby": "Ref_Key", "$top": str(top)}
            if filter_:
                params["$filter"] = filter_
            # httpx's params= would send "+" for spaces, which 1C does not read
            r = await http.get(f"{ROOT}?{encode_options(params)}")
            assert r.status_code == 200, r.text
            return [row["Ref_Key"] for row in r.json()["value"]]

        everything = await page("DeletionMark eq false", 1000)
        seen: list[str] = []
        while True:
            cond = "DeletionMark eq false"
            if seen:
                cond += f" and Ref_Key gt guid'{seen[-1]}'"
            rows = await page(cond, 25)
            seen += rows
            if len(rows) < 25:
                break
    assert seen == everything
    assert len(everything) == 112
