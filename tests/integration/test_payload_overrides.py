"""Editing a record error's payload: validation, audit, overrides until 1C's DataVersion moves.

Run on SQLite and on the local PostgreSQL server (the same migration and queries).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bitrix1c.state.store import PayloadRejected, Store, payload_changes
from bitrix1c.state.tables import audit

FLOW = "counterparties"
REF = "0c8f3ab1-1d2e-4f00-9a55-000000000001"
ROW = {"Ref_Key": REF, "DataVersion": "AAAAAQ==", "Description": "ООО Ромашка", "ИНН": "7707083895"}


async def open_error(store: Store, row: dict[str, str] = ROW, key: str = f"trade:{REF}") -> int:
    await store.record_error(
        flow=FLOW,
        record_key=key,
        error_class="InvalidRecord",
        message="ИНН 7707083895 is invalid",
        hint="Correct it in 1C",
        payload=row,
    )
    (error,) = [e for e in await store.errors() if e.record_key == key]
    return error.id


async def exercise(url: str) -> None:
    store = await Store.open(url)
    try:
        error_id = await open_error(store)
        assert await store.payload_overrides(FLOW, [f"trade:{REF}"]) == {}

        with pytest.raises(PayloadRejected) as rejected:
            await store.edit_error_payload(error_id, {**ROW, "DataVersion": "AAAAAg=="}, by="ops")
        assert rejected.value.field == "DataVersion"
        with pytest.raises(PayloadRejected) as rejected:
            await store.edit_error_payload(error_id, {**ROW, "Ref_Key": "x"}, by="ops")
        assert rejected.value.field == "Ref_Key"
        with pytest.raises(PayloadRejected) as rejected:
            await store.edit_error_payload(error_id, ["not", "an", "object"], by="ops")
        assert rejected.value.field == "payload"
        assert await store.edit_error_payload(999, ROW, by="ops") is None

        fixed = {**ROW, "ИНН": "7707083893"}
        edited = await store.edit_error_payload(error_id, fixed, by="ops")
        assert edited is not None
        assert (edited.status, edited.edited_payload, edited.edited_by) == (
            "retrying",
            fixed,
            "ops",
        )
        assert edited.payload == ROW  # what 1C returned stays visible
        assert edited.as_dict()["edited_payload"] == fixed
        async with store.engine.connect() as conn:
            (entry,) = (await conn.execute(sa.select(audit))).mappings().all()
        assert (entry["op"], entry["actor"], entry["before"], entry["after"]) == (
            "edit-payload",
            "ops",
            ROW,
            fixed,
        )

        # The record syncs with the correction: the error resolves, the override stays,
        # so the next run does not read the wrong 1C record again.
        async with store.transaction() as conn:
            await Store.resolve_errors(conn, FLOW, [f"trade:{REF}"])
        assert (await store.error(error_id)).status == "resolved"  # type: ignore[union-attr]
        overrides = await store.payload_overrides(FLOW, [f"trade:{REF}", "trade:other"])
        assert overrides == {f"trade:{REF}": fixed}

        # An ignored error's correction is not used.
        other = await open_error(store, {**ROW, "Ref_Key": "r2"}, key="trade:r2")
        await store.edit_error_payload(other, {**ROW, "Ref_Key": "r2", "ИНН": "1"}, by="ops")
        await store.set_error_status(other, "ignored")
        assert set(await store.payload_overrides(FLOW, [f"trade:{REF}", "trade:r2"])) == {
            f"trade:{REF}"
        }

        # 1C's DataVersion moved on: the override is dropped and no longer returned.
        await store.drop_payload_overrides(FLOW, [f"trade:{REF}"])
        assert await store.payload_overrides(FLOW, [f"trade:{REF}"]) == {}
        after = await store.error(error_id)
        assert after is not None and after.edited_payload is None and after.payload == ROW
    finally:
        await store.close()


async def test_payload_overrides_on_sqlite(sqlite_url: str) -> None:
    await exercise(sqlite_url)


async def test_payload_overrides_on_postgresql(pg_url: str) -> None:
    await exercise(pg_url)


def test_payload_changes_lists_changed_added_and_removed_keys() -> None:
    before = {"a": 1, "b": 2, "c": None}
    after = {"a": 1, "b": 3, "d": 4}
    assert payload_changes(before, after) == [("b", 2, 3), ("c", None, None), ("d", None, 4)]


async def migrate_down_and_up(url: str) -> None:
    from alembic import command

    from bitrix1c.state.store import _alembic_config

    def columns(sync: sa.engine.Connection, table: str) -> set[str]:
        return {c["name"] for c in sa.inspect(sync).get_columns(table)}

    store = await Store.open(url)
    try:
        await open_error(store)
        async with store.engine.begin() as conn:
            assert {"edited_payload", "edited_by", "edited_at"} <= await conn.run_sync(
                columns, "record_errors"
            )
            await conn.run_sync(lambda sync: command.downgrade(_alembic_config(sync), "0005"))
            assert "edited_payload" not in await conn.run_sync(columns, "record_errors")
            assert "synced_at" not in await conn.run_sync(columns, "inbox")
        await store.migrate()
        async with store.engine.connect() as conn:
            assert "synced_at" in await conn.run_sync(columns, "inbox")
            assert "actor" in await conn.run_sync(columns, "audit")
        (error,) = await store.errors()  # the rows survived both ways
        assert error.payload == ROW and error.edited_payload is None
    finally:
        await store.close()


async def test_migration_0006_down_and_up_on_sqlite(sqlite_url: str) -> None:
    await migrate_down_and_up(sqlite_url)


async def test_migration_0006_down_and_up_on_postgresql(pg_url: str) -> None:
    await migrate_down_and_up(pg_url)
