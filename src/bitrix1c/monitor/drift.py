"""Drift detection: does each mapping still fit the live systems?

Before any record is written, the fields a flow writes to Bitrix24 are compared with the
portal's ``crm.*.fields`` (a field removed, or a new *required* field the mapping does not
fill), and the fields it reads from 1C with the base's ``$metadata`` (an entity set or a
property renamed or removed). What is found is reported with the flow and the field, and
handled by the flow's policy: ``stop`` (the run fails with an incident) or ``warn``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from bitrix1c.bitrix24.client import Bitrix24Client
from bitrix1c.domain.counterparty import Counterparty
from bitrix1c.errors import StopAndAlert
from bitrix1c.onec.odata import ODataClient
from bitrix1c.onec.profiles import Profile
from bitrix1c.sync.flows import counterparties as cp_flow

log = structlog.get_logger(__name__)

# Columns of the contact-information tabular section that profiles read phones/e-mails from.
CONTACT_COLUMNS = ("Тип", "Представление", "НомерТелефона", "АдресЭП")
# Fields Bitrix24 fills by itself even when they are marked required.
SYSTEM_FILLED = {"ID", "DATE_CREATE", "DATE_MODIFY", "CREATED_BY_ID", "MODIFY_BY_ID"}


@dataclass(frozen=True)
class DriftFinding:
    """One mismatch between a mapping and a live system."""

    flow: str
    system: str  # bitrix24 | 1c:<base>
    entity: str  # crm.company, Catalog_Контрагенты …
    field: str | None
    problem: str  # missing | required-unmapped | entity-missing

    def __str__(self) -> str:
        where = f"{self.entity}.{self.field}" if self.field else self.entity
        text = {
            "missing": "is gone (removed or renamed)",
            "required-unmapped": "is required but the mapping does not fill it",
            "entity-missing": "is not published",
        }[self.problem]
        return f"[{self.flow}] {self.system}: {where} {text}"


class MetadataDrift(StopAndAlert):
    """A mapping no longer fits the live metadata."""

    hint = (
        "A field used by the mapping was removed or renamed, or a new required field appeared. "
        "Restore the field, or adjust the mapping/profile overrides, then run `bitrix1c check`."
    )


def _samples(base: str) -> list[Counterparty]:
    common: dict[str, Any] = {
        "base": base,
        "ref_key": "00000000-0000-0000-0000-000000000001",
        "version": "AAAAAAAAAAE=",
        "name": "Пример",
        "full_name": "Пример",
        "inn": "",
        "kpp": "",
        "okpo": "",
        "phones": ("+70000000000",),
        "emails": ("a@b.ru",),
    }
    return [Counterparty(kind=kind, **common) for kind in ("legal", "ip", "individual")]


def counterparty_b24_fields(
    base: str, presets: Mapping[str, int], assigned: int | None
) -> dict[str, set[str]]:
    """The Bitrix24 fields the counterparties flow writes, derived from its mapping."""
    company: set[str] = {"COMPANY_TYPE", "ORIGIN_VERSION", "PHONE", "EMAIL"}
    requisite: set[str] = {"ENTITY_TYPE_ID", "ENTITY_ID"}
    for sample in _samples(base):
        company |= set(cp_flow.company_fields(sample, assigned))
        requisite |= set(cp_flow.requisite_fields(sample, presets))
    return {"crm.company": company, "crm.requisite": requisite}


def _b24_findings(
    flow: str, entity: str, fields: Mapping[str, Mapping[str, Any]], written: Iterable[str]
) -> list[DriftFinding]:
    written = set(written)
    found = [
        DriftFinding(flow, "bitrix24", entity, name, "missing")
        for name in sorted(written)
        if name not in fields
    ]
    for name, meta in sorted(fields.items()):
        required = bool(meta.get("isRequired")) and not meta.get("isReadOnly")
        if required and name not in written and name not in SYSTEM_FILLED:
            found.append(DriftFinding(flow, "bitrix24", entity, name, "required-unmapped"))
    return found


async def check_counterparties(
    *,
    bitrix24: Bitrix24Client,
    onec: ODataClient,
    profile: Profile,
    base: str,
    presets: Mapping[str, int],
    assigned_by_id: int | None,
) -> list[DriftFinding]:
    """Compare the counterparties mapping with the live portal and 1C base."""
    flow = cp_flow.FLOW
    findings: list[DriftFinding] = []
    written = counterparty_b24_fields(base, presets, assigned_by_id)
    reply = await bitrix24.batch(
        {"company": ("crm.company.fields", None), "requisite": ("crm.requisite.fields", None)}
    )
    if reply.errors:
        raise next(iter(reply.errors.values()))
    findings += _b24_findings(flow, "crm.company", reply.results["company"], written["crm.company"])
    findings += _b24_findings(
        flow, "crm.requisite", reply.results["requisite"], written["crm.requisite"]
    )
    fields = profile.counterparty
    contact_columns = [f"{fields.contact_info}/{c}" for c in CONTACT_COLUMNS]
    needed = {fields.entity_set: [*fields.select(), *contact_columns]}
    metadata = await onec.metadata()
    for drift in metadata.missing(needed):
        findings.append(
            DriftFinding(
                flow,
                f"1c:{base}",
                drift.entity_set,
                drift.field,
                "missing" if drift.field else "entity-missing",
            )
        )
    for finding in findings:
        log.warning("drift.found", flow=finding.flow, system=finding.system, detail=str(finding))
    return findings
