"""Drift detection against the sandboxes: what a person sees when a mapping stops fitting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bitrix1c.demo import demo_settings
from bitrix1c.monitor.drift import (
    DriftFinding,
    MetadataDrift,
    check_counterparties,
    counterparty_b24_fields,
    decide,
)
from bitrix1c.onec.profiles import ConceptOverride, get_profile
from bitrix1c.sandbox.server import Endpoints, SandboxThread
from bitrix1c.service import Service

SET = "Catalog_Контрагенты"


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


def test_the_deletion_user_field_is_part_of_what_the_flow_writes() -> None:
    presets = {"legal": 1, "ip": 2, "individual": 3}
    assert "UF_CRM_1C_DELETED" not in counterparty_b24_fields("trade", presets, None)["crm.company"]
    written = counterparty_b24_fields("trade", presets, None, "UF_CRM_1C_DELETED")
    assert "UF_CRM_1C_DELETED" in written["crm.company"]


OKPO = DriftFinding("counterparties", "1c:trade", SET, "КодПоОКПО", "missing", "okpo")
INN = DriftFinding("counterparties", "1c:trade", SET, "ИНН", "missing")
UF = DriftFinding("counterparties", "bitrix24", "crm.company", "UF_CRM_X", "missing", "UF_CRM_X")


def test_policies_decide_what_a_run_does() -> None:
    with pytest.raises(MetadataDrift, match="КодПоОКПО"):
        decide("counterparties", "stop", [OKPO])
    skip = decide("counterparties", "skip_field", [OKPO, UF])
    assert (skip.onec_roles, skip.b24_fields) == ({"okpo"}, {"UF_CRM_X"})
    assert skip.warning is not None and "КодПоОКПО" in skip.warning and "UF_CRM_X" in skip.warning
    with pytest.raises(MetadataDrift, match=r"ИНН is gone \(removed or renamed\) \(a key field\)"):
        decide("counterparties", "skip_field", [OKPO, INN])
    warn = decide("counterparties", "warn", [INN])
    assert not warn.onec_roles and warn.warning is not None and "ИНН" in warn.warning
    assert decide("counterparties", "stop", []).warning is None
