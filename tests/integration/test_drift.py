"""Drift detection against the sandboxes: what a person sees when a mapping stops fitting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bitrix1c.demo import demo_settings
from bitrix1c.monitor.drift import check_counterparties
from bitrix1c.onec.profiles import ConceptOverride, get_profile
from bitrix1c.sandbox.server import Endpoints, SandboxThread
from bitrix1c.service import Service


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Endpoints]:
    with SandboxThread(tmp_path / "sandbox", scale=10) as endpoints:
        yield endpoints


async def test_the_shipped_mapping_fits_the_sandboxes(sandbox: Endpoints, tmp_path: Path) -> None:
    service = await Service.open(demo_settings(sandbox, tmp_path, port=0))
    try:
        assert await service.check("counterparties") == []
    finally:
        await service.close()


async def test_a_renamed_1c_field_is_reported_by_flow_and_field(
    sandbox: Endpoints, tmp_path: Path
) -> None:
    service = await Service.open(demo_settings(sandbox, tmp_path, port=0))
    try:
        # A customized base whose counterparty INN field is configured under another name.
        renamed = get_profile(
            "ut11", {"counterparty": ConceptOverride(fields={"inn": "ИННКонтрагента"})}
        )
        findings = await check_counterparties(
            bitrix24=service.bitrix24,
            onec=service.onec["trade"],
            profile=renamed,
            base="trade",
            presets={"legal": 1, "ip": 2, "individual": 3},
            assigned_by_id=None,
        )
    finally:
        await service.close()
    assert [str(f) for f in findings] == [
        "[counterparties] 1c:trade: Catalog_Контрагенты.ИННКонтрагента is gone (removed or renamed)"
    ]
