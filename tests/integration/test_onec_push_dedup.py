"""The same 1C notification is stored once even when two processes receive it at once
(the inbox's unique key, not a lock in one process), on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from bitrix1c.onec.push import Change, save_changes
from bitrix1c.state.store import Store
from bitrix1c.state.tables import inbox

CHANGE = {
    "type": "Document_ЗаказКлиента",
    "Ref_Key": "8f2c5a7e-0b1d-11ef-9c3a-00155d010203",
    "DataVersion": "AAAAAgAAAAA=",
    "event": "posted",
}


async def concurrent_resends(url: str) -> None:
    # Two stores = two connection pools, as two service processes would have.
    first, second = await Store.open(url), await Store.open(url)
    try:
        change = Change.model_validate(CHANGE)
        results = await asyncio.gather(
            save_changes(first, "trade", [change]), save_changes(second, "trade", [change])
        )
        assert sorted(r.accepted for r in results) == [0, 1]
        newer = Change.model_validate({**CHANGE, "DataVersion": "AAAAAwAAAAA="})
        assert (await save_changes(first, "trade", [newer])).accepted == 1
        async with first.engine.connect() as conn:
            count = (await conn.execute(sa.select(sa.func.count()).select_from(inbox))).scalar_one()
        assert count == 2
    finally:
        await first.close()
        await second.close()


async def test_dedup_on_sqlite(sqlite_url: str) -> None:
    await concurrent_resends(sqlite_url)


@pytest.mark.postgres
async def test_dedup_on_postgresql(pg_url: str) -> None:
    await concurrent_resends(pg_url)
