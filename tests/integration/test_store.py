"""The state store on SQLite and on the local PostgreSQL server: migrations and rows."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bitrix1c.state.store import Link, RunSummary, Store

TABLES = {"links", "cursors", "runs", "record_errors", "inbox", "audit", "alembic_version"}


async def exercise(url: str) -> None:
    store = await Store.open(url)
    try:
        async with store.engine.connect() as conn:
            names = await conn.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
        assert TABLES <= names

        link = Link(
            "counterparty",
            "trade",
            "0c8f3ab1-1d2e-4f00-9a55-000000000001",
            "company",
            42,
            "inn_kpp",
        )
        async with store.transaction() as conn:
            await Store.save_link(conn, link)
            await Store.save_link(conn, Link(**{**link.__dict__, "b24_id": 43, "to_b24_hash": "h"}))
            await Store.audit_writes(
                conn,
                run_id=None,
                system="bitrix24",
                entity="company",
                writes=[("43", "create", None, {"TITLE": "Ромашка"})],
            )
            await Store.set_cursor(conn, "x", "1")
            await Store.set_cursor(conn, "x", "2")
        links = await store.links_for("counterparty", "trade", [link.onec_ref])
        assert links[link.onec_ref].b24_id == 43 and links[link.onec_ref].to_b24_hash == "h"
        assert (await store.links_to_b24("company", [43]))[43].onec_ref == link.onec_ref
        assert await store.count_links("counterparty") == 1
        assert await store.audit_count() == 1
        assert await store.get_cursor("x") == "2"

        run_id = await store.start_run("counterparties", "test")
        await store.finish_run(run_id, RunSummary(read=5, created=3, failed=1), "partial")
        run = (await store.recent_runs())[0]
        assert (run.status, run.summary.created, run.started_at.tzinfo is not None) == (
            "partial",
            3,
            True,
        )

        for _ in range(3):
            await store.record_error(
                flow="counterparties",
                record_key="trade:r1",
                error_class="InvalidRecord",
                message="ИНН 123 is invalid",
                hint="fix it",
                payload={"ИНН": "123"},
                run_id=run_id,
            )
        (error,) = await store.errors()
        assert (error.attempts, error.status, error.payload) == (3, "open", {"ИНН": "123"})
        async with store.transaction() as conn:
            await Store.resolve_errors(conn, "counterparties", ["trade:r1"])
        assert await store.errors() == []
        assert (await store.errors(status="resolved"))[0].record_key == "trade:r1"
    finally:
        await store.close()
    # A second open runs the migrations again: a no-op on an up-to-date schema.
    again = await Store.open(url)
    assert await again.count_links("counterparty") == 1
    await again.close()


async def test_store_on_sqlite(sqlite_url: str) -> None:
    await exercise(sqlite_url)


@pytest.mark.postgres
async def test_store_on_postgresql(pg_url: str) -> None:
    await exercise(pg_url)


async def test_unreachable_store_is_a_clear_error() -> None:
    from bitrix1c.errors import StoreError

    with pytest.raises(StoreError, match="cannot open the state store"):
        await Store.open("postgresql+asyncpg://nobody@127.0.0.1:1/none")
