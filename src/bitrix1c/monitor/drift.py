"""Drift detection: does each mapping still fit the live systems?

Before any record is written, the fields a flow writes to Bitrix24 are compared with the
portal's ``crm.*.fields`` (a field removed, or a new *required* field the mapping does not
fill), and the fields it reads from 1C with the base's ``$metadata`` (an entity set or a
property renamed or removed). What is found is reported with the flow and the field, and
handled by the flow's policy (:func:`decide`):

* ``stop`` — the run fails before any write, with an incident (one alert);
* ``skip_field`` — a field the flow can do without is left out (not read from 1C, not
  written to Bitrix24) and the run goes on with a warning; a key field (Ref_Key, INN, KPP,
  the kind, the company's TITLE/ORIGIN_ID, the requisite's RQ_INN…) still stops it;
* ``warn`` — everything is logged and the run goes on with the full mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from bitrix1c.bitrix24.client import Bitrix24Client
from bitrix1c.domain.counterparty import Counterparty
from bitrix1c.errors import StopAndAlert
from bitrix1c.onec.metadata import parse_metadata
from bitrix1c.onec.odata import ODataClient
from bitrix1c.onec.profiles import Profile
from bitrix1c.onec.profiles.base import OPTIONAL_COUNTERPARTY_ROLES
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
    # What ``skip_field`` leaves out for it: a 1C role (``okpo``…) or a Bitrix24 field;
    # None when the flow cannot work without the field.
    skippable: str | None = None

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
    base: str,
    presets: Mapping[str, int],
    assigned: int | None,
    deletion_field: str | None = None,
) -> dict[str, set[str]]:
    """The Bitrix24 fields the counterparties flow writes, derived from its mapping.

    ``deletion_field`` is the company user field written under ``on_deletion_mark: mark``.
    """
    company: set[str] = {"COMPANY_TYPE", "ORIGIN_VERSION", "PHONE", "EMAIL"}
    requisite: set[str] = {"ENTITY_TYPE_ID", "ENTITY_ID"}
    for sample in _samples(base):
        company |= set(cp_flow.company_fields(sample, assigned))
        requisite |= set(cp_flow.requisite_fields(sample, presets))
    if deletion_field:
        company.add(deletion_field)
    return {"crm.company": company, "crm.requisite": requisite}


def _b24_findings(
    flow: str,
    entity: str,
    fields: Mapping[str, Mapping[str, Any]],
    written: Iterable[str],
    optional: Iterable[str] = (),
) -> list[DriftFinding]:
    written, optional = set(written), set(optional)
    found = [
        DriftFinding(flow, "bitrix24", entity, name, "missing", name if name in optional else None)
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
    deletion_field: str | None = None,
) -> list[DriftFinding]:
    """Compare the counterparties mapping with the live portal and 1C base.

    ``deletion_field`` is the company user field the flow writes (``on_deletion_mark:
    mark``), None when it writes none. ``$metadata`` is read afresh: a base's
    configuration changes while the service runs.
    """
    flow = cp_flow.FLOW
    findings: list[DriftFinding] = []
    written = counterparty_b24_fields(base, presets, assigned_by_id, deletion_field)
    reply = await bitrix24.batch(
        {"company": ("crm.company.fields", None), "requisite": ("crm.requisite.fields", None)}
    )
    if reply.errors:
        raise next(iter(reply.errors.values()))
    # Only the deletion mark's user field is one the flow can write without.
    findings += _b24_findings(
        flow,
        "crm.company",
        reply.results["company"],
        written["crm.company"],
        [deletion_field] if deletion_field else [],
    )
    findings += _b24_findings(
        flow, "crm.requisite", reply.results["requisite"], written["crm.requisite"]
    )
    fields = profile.counterparty
    contact_columns = [f"{fields.contact_info}/{c}" for c in CONTACT_COLUMNS]
    needed = {fields.entity_set: [*fields.select(), *contact_columns]}
    raw = await onec.request(
        "GET", "$metadata", headers={"Accept": "application/xml"}, expect_json=False
    )
    metadata = parse_metadata(raw)
    for drift in metadata.missing(needed):
        role = fields.role_of(drift.field) if drift.field else None
        findings.append(
            DriftFinding(
                flow,
                f"1c:{base}",
                drift.entity_set,
                drift.field,
                "missing" if drift.field else "entity-missing",
                role if role in OPTIONAL_COUNTERPARTY_ROLES else None,
            )
        )
    for finding in findings:
        log.warning("drift.found", flow=finding.flow, system=finding.system, detail=str(finding))
    return findings


@dataclass(frozen=True)
class DriftDecision:
    """What a flow run does about the findings its policy let through."""

    policy: str
    findings: tuple[DriftFinding, ...] = ()
    onec_roles: frozenset[str] = frozenset()  # left out of what is read from 1C
    b24_fields: frozenset[str] = frozenset()  # left out of what is written to Bitrix24

    @property
    def warning(self) -> str | None:
        """The line for the run's message and `bitrix1c check`; None when nothing was found."""
        if not self.findings:
            return None
        detail = "; ".join(str(f) for f in self.findings)
        if self.policy == "skip_field":
            return f"drift, field(s) left out by skip_field: {detail}"
        return f"drift ignored by the warn policy: {detail}"


def decide(flow: str, policy: str, findings: Iterable[DriftFinding]) -> DriftDecision:
    """Apply ``policy`` (stop | skip_field | warn) to the findings of one check.

    Raises :class:`MetadataDrift` when the run must stop: any finding under ``stop``, and
    under ``skip_field`` any finding on a field the flow cannot work without.
    """
    found = tuple(findings)
    if not found:
        return DriftDecision(policy)
    if policy == "warn":
        return DriftDecision(policy, found)
    if policy == "skip_field":
        blocking = [f for f in found if f.skippable is None]
        if blocking:
            raise MetadataDrift(
                "the mapping no longer fits the live systems, and skip_field cannot leave out "
                "a field the flow cannot work without: "
                + "; ".join(f"{f} (a key field)" for f in blocking),
                flow=flow,
            )
        decision = DriftDecision(
            policy,
            found,
            onec_roles=frozenset(
                f.skippable for f in found if f.skippable and f.system != "bitrix24"
            ),
            b24_fields=frozenset(
                f.skippable for f in found if f.skippable and f.system == "bitrix24"
            ),
        )
        log.warning("drift.skipped", flow=flow, detail=decision.warning)
        return decision
    raise MetadataDrift(
        "the mapping no longer fits the live systems: " + "; ".join(str(f) for f in found),
        flow=flow,
    )
