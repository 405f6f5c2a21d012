"""Large lists stay fast: the ``>ID``/``start=-1`` method runs on the primary key."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bitrix1c.sandbox.bitrix24 import Portal
from bitrix1c.sandbox.bitrix24.fields import COMPANY, REQUISITE
from bitrix1c.sandbox.bitrix24.filters import FilterCompiler

ROWS = 50_000


def plan(portal: Portal, spec_name: str, sql_where: str, args: list[object]) -> str:
    rows = portal.store.query(f"EXPLAIN QUERY PLAN SELECT t.id FROM {spec_name} t{sql_where}", args)
    return " ".join(str(r[-1]) for r in rows)


def test_fast_method_over_50000_companies(tmp_path: Path) -> None:
    portal = Portal(tmp_path / "big.sqlite")
    template = {"TITLE": "", "COMPANY_TYPE": "CUSTOMER", "OPENED": "Y", "ASSIGNED_BY_ID": 1}
    rows = []
    for i in range(ROWS):
        template["TITLE"] = f"Компания {i}"
        rows.append((json.dumps(template, ensure_ascii=False),))
    with portal.store.transaction() as store:
        store.conn.executemany("INSERT INTO company (data) VALUES (?)", rows)

    query = FilterCompiler(COMPANY, [], strict=False).compile({">ID": 49_000}, {"ID": "ASC"})
    assert "INTEGER PRIMARY KEY" in plan(portal, "company", query.where_sql(), query.args)

    started = time.perf_counter()
    last, seen, pages = 0, 0, 0
    while True:
        page = portal.call(
            "crm.company.list",
            {
                "order": {"ID": "ASC"},
                "filter": {">ID": last},
                "select": ["ID", "TITLE"],
                "start": -1,
            },
        )
        pages += 1
        seen += len(page["result"])
        assert page["total"] == 0 and "next" not in page
        if len(page["result"]) < 50:
            break
        last = int(page["result"][-1]["ID"])
    elapsed = time.perf_counter() - started
    assert seen == ROWS and pages == ROWS // 50 + 1
    assert elapsed < 20, f"{pages} pages took {elapsed:.1f}s"
    portal.close()


def test_lookup_indexes_are_used() -> None:
    portal = Portal(None)
    compiler = FilterCompiler(REQUISITE, [], strict=True)
    inn = compiler.compile({"@RQ_INN": ["7707083893", "500100732259"], "ENTITY_TYPE_ID": 4}, None)
    assert "requisite_inn" in plan(portal, "requisite", inn.where_sql(), inn.args)
    origin = FilterCompiler(COMPANY, [], strict=False).compile({"ORIGIN_ID": "Guid-AbC"}, None)
    assert "company_origin" in plan(portal, "company", origin.where_sql(), origin.args)
    portal.close()
