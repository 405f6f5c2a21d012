"""Bitrix24 companies created in the CRM → 1C counterparties (off by default).

A company a manager creates in Bitrix24 (no ``ORIGINATOR_ID``: it did not come from 1C)
becomes a counterparty only when its requisite carries a valid INN, and only after the
same dedup check on the 1C side: a counterparty with that INN (+KPP for a legal entity)
already in the base is linked, never duplicated; several (duplicates inside 1C) are a
record error naming them, nothing linked or created; none — the counterparty is created
(in УТ 11 with its Партнер first). The company then carries the 1C id
(``ORIGINATOR_ID``/``ORIGIN_ID``) like the companies the 1C → Bitrix24 direction wrote,
so both directions see one link.

New companies are found by id (a cursor over ids already looked at); one without a
requisite yet is looked at again on later runs until a day has passed since its creation.
A crash between the 1C write and the commit of the link is harmless: the next run finds
the new counterparty by its INN and links it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from bitrix1c.bitrix24.client import Bitrix24Client
from bitrix1c.domain.counterparty import CounterpartyKind
from bitrix1c.domain.requisites import InvalidKey, validate_inn, validate_kpp
from bitrix1c.errors import InvalidRecord
from bitrix1c.onec.odata import ODataClient
from bitrix1c.onec.profiles import Profile
from bitrix1c.onec.query import Query, string
from bitrix1c.settings import CounterpartiesFlow
from bitrix1c.state.store import Link, Store
from bitrix1c.sync.engine import RunContext

log = structlog.get_logger(__name__)

FLOW = "companies_to_1c"
ENTITY = "counterparty"
PAGE = 50


@dataclass(frozen=True)
class CrmCompany:
    """A company as created in Bitrix24, with what its requisite says."""

    id: int
    title: str
    inn: str
    kpp: str
    kind: CounterpartyKind
    full_name: str

    @property
    def record_key(self) -> str:
        return f"bitrix24:company:{self.id}"


def kind_of_preset(preset_id: int, presets: Mapping[str, int]) -> CounterpartyKind:
    """The kind of person a requisite preset stands for (legal entity unless configured)."""
    for kind, preset in presets.items():
        if preset == preset_id and kind in ("legal", "ip", "individual"):
            return kind  # type: ignore[return-value]
    return "legal"


def onec_kind_fields(profile: Profile, kind: CounterpartyKind) -> dict[str, Any]:
    """The counterparty fields that say legal entity / sole proprietor / person in 1C."""
    concept = profile.concept("counterparty")
    sole_proprietor = concept.get("sole_proprietor")
    if sole_proprietor:  # БП 3.0: ЮридическоеФизическоеЛицо + a boolean
        return {
            concept["kind"]: "ЮридическоеЛицо" if kind == "legal" else "ФизическоеЛицо",
            sole_proprietor: kind == "ip",
        }
    values = {"legal": "ЮрЛицо", "ip": "ИндивидуальныйПредприниматель", "individual": "ФизЛицо"}
    return {concept["kind"]: values[kind]}


class CompanyToOneC:
    """New Bitrix24 companies → 1C counterparties, for one portal and one 1C base."""

    def __init__(
        self,
        *,
        store: Store,
        bitrix24: Bitrix24Client,
        onec: ODataClient,
        profile: Profile,
        base: str,
        settings: CounterpartiesFlow,
    ) -> None:
        self.store = store
        self.b24 = bitrix24
        self.onec = onec
        self.profile = profile
        self.concept = profile.concept("counterparty")
        self.base = base
        self.settings = settings
        self.cursor_name = f"{FLOW}:{base}:after-id"

    async def __call__(self, ctx: RunContext) -> None:
        after = int(await self.store.get_cursor(self.cursor_name) or 0)
        newest = after
        waiting: list[int] = []  # young companies without an INN yet: look again next run
        async for page in self.b24.list_fast(
            "crm.company.list",
            select=("ID", "TITLE", "ORIGINATOR_ID", "ORIGIN_ID", "DATE_CREATE"),
            after=after,
        ):
            ctx.count("read", len(page))
            fresh = [row for row in page if not row.get("ORIGINATOR_ID")]
            ctx.count("skipped", len(page) - len(fresh))  # came from 1C (or another system)
            for start in range(0, len(fresh), PAGE):
                waiting += await self._companies(ctx, fresh[start : start + PAGE])
            newest = int(page[-1]["ID"])
        if waiting:
            newest = min(waiting) - 1
        if newest != after and not ctx.dry_run:
            async with self.store.transaction() as conn:
                await Store.set_cursor(conn, self.cursor_name, str(newest))

    async def _companies(self, ctx: RunContext, rows: list[dict[str, Any]]) -> list[int]:
        """Sync a slice of new companies; the ids of young ones that have no INN yet."""
        ids = [int(row["ID"]) for row in rows]
        linked = await self.store.links_to_b24("company", ids)
        todo = [row for row in rows if int(row["ID"]) not in linked]
        ctx.count("skipped", len(rows) - len(todo))
        if not todo:
            return []
        requisites = await self.b24.list_all(
            "crm.requisite.list",
            {
                "filter": {"ENTITY_TYPE_ID": 4, "@ENTITY_ID": [int(r["ID"]) for r in todo]},
                "select": [
                    "ID",
                    "ENTITY_ID",
                    "PRESET_ID",
                    "RQ_INN",
                    "RQ_KPP",
                    "RQ_COMPANY_FULL_NAME",
                ],
            },
        )
        by_company: dict[int, dict[str, Any]] = {}
        for req in requisites:
            if (req.get("RQ_INN") or "").strip():
                by_company.setdefault(int(req["ENTITY_ID"]), req)
        waiting: list[int] = []
        for row in todo:
            found = by_company.get(int(row["ID"]))
            if found is None:
                # No INN: the company stays in the CRM only — unless a manager adds the
                # requisite soon after creating it, so a young one is looked at again.
                ctx.count("skipped")
                if younger_than_a_day(str(row.get("DATE_CREATE") or "")):
                    waiting.append(int(row["ID"]))
                continue
            company = CrmCompany(
                id=int(row["ID"]),
                title=str(row.get("TITLE") or "").strip(),
                inn=(found.get("RQ_INN") or "").strip(),
                kpp=(found.get("RQ_KPP") or "").strip(),
                kind=kind_of_preset(
                    int(found.get("PRESET_ID") or 0), self.settings.presets.model_dump()
                ),
                full_name=(found.get("RQ_COMPANY_FULL_NAME") or "").strip(),
            )
            await self._one(ctx, company)
        return waiting

    async def _one(self, ctx: RunContext, company: CrmCompany) -> None:
        problem = _invalid(company)
        if problem is not None:
            await ctx.fail_record(
                company.record_key,
                InvalidRecord(
                    f"company {company.title!r} (Bitrix24 {company.id}): {problem}",
                    hint="Correct the requisite of this company in Bitrix24; it is looked at "
                    "again on the next run. Nothing is written to 1C until then.",
                    field="RQ_INN" if "INN" in problem else "RQ_KPP",
                ),
                payload={"ID": company.id, "TITLE": company.title, "RQ_INN": company.inn},
            )
            return
        found = await self._in_onec(company)
        if len(found) > 1:
            refs = ", ".join(f"{row.get('Description')!r} {row['Ref_Key']}" for row in found)
            await ctx.fail_record(
                company.record_key,
                InvalidRecord(
                    f"company {company.title!r} (Bitrix24 {company.id}): {len(found)} "
                    f"counterparties in 1C carry INN {company.inn}"
                    + (f"/KPP {company.kpp}" if company.kpp else "")
                    + f": {refs}",
                    hint="Duplicates inside 1C: mark the extra ones for deletion in 1C (or give "
                    "branches their own KPP). Nothing is linked or created until one is left.",
                    field="RQ_INN",
                ),
                payload={"ID": company.id, "TITLE": company.title, "RQ_INN": company.inn},
            )
            return
        if found:
            owner = (await self.store.links_for(ENTITY, self.base, [found[0]["Ref_Key"]])).get(
                found[0]["Ref_Key"]
            )
            if owner is not None and owner.b24_id != company.id:
                await ctx.fail_record(
                    company.record_key,
                    InvalidRecord(
                        f"company {company.title!r} (Bitrix24 {company.id}) duplicates company "
                        f"{owner.b24_id}: both carry INN {company.inn}, which is 1C counterparty "
                        f"{found[0].get('Description')!r} ({found[0]['Ref_Key']})",
                        hint="A duplicate inside Bitrix24: merge the two companies in the CRM "
                        f"(keep {owner.b24_id}, the one linked to 1C). Nothing is written to 1C.",
                        field="RQ_INN",
                    ),
                    payload={"ID": company.id, "TITLE": company.title, "RQ_INN": company.inn},
                )
                return
        if ctx.dry_run:
            ctx.count("updated" if found else "created")
            return
        if found:
            ref, match_key, op = found[0]["Ref_Key"], "inn_kpp" if company.kpp else "inn", "link"
        else:
            ref, match_key, op = await self._create(company), "created", "create"
        await self.b24.call(
            "crm.company.update",
            {"id": company.id, "fields": {"ORIGINATOR_ID": self.base, "ORIGIN_ID": ref}},
        )
        async with self.store.transaction() as conn:
            await Store.save_link(
                conn,
                Link(
                    entity=ENTITY,
                    onec_base=self.base,
                    onec_ref=ref,
                    b24_entity="company",
                    b24_id=company.id,
                    b24_requisite_id=None,
                    match_key=match_key,
                    onec_version=None,
                    to_b24_hash=None,  # the 1C → Bitrix24 direction writes it in full next
                ),
            )
            await Store.audit_writes(
                conn,
                run_id=ctx.run_id,
                system=f"1c:{self.base}",
                entity=self.concept.entity_set,
                writes=[(ref, op, None, {"company": company.id, "INN": company.inn})],
            )
        ctx.count("created" if op == "create" else "updated")
        log.info("company.to_1c", flow=FLOW, company=company.id, ref=ref, op=op)

    async def _in_onec(self, company: CrmCompany) -> list[dict[str, Any]]:
        """Counterparties of the base with the company's INN (+KPP), not deletion-marked."""
        condition = f"{self.concept['inn']} eq {string(company.inn)} and DeletionMark eq false"
        rows = await self.onec.query(
            self.concept.entity_set,
            Query(
                select=("Ref_Key", "Description", self.concept["kpp"]),
                filter=condition,
                top=20,
            ),
        )
        if company.kind == "legal" and company.kpp:
            exact = [r for r in rows if (r.get(self.concept["kpp"]) or "") == company.kpp]
            without = [r for r in rows if not (r.get(self.concept["kpp"]) or "")]
            return exact or without
        return rows

    async def _create(self, company: CrmCompany) -> str:
        """Create the counterparty (and its УТ partner); its Ref_Key."""
        concept = self.concept
        fields: dict[str, Any] = {
            "Description": company.title[:100],
            concept["full_name"]: company.full_name or company.title,
            concept["inn"]: company.inn,
            concept["kpp"]: company.kpp if company.kind == "legal" else "",
            **onec_kind_fields(self.profile, company.kind),
        }
        partner_role = concept.get("partner")
        if partner_role and "partner" in self.profile.concepts:
            partner = self.profile.concept("partner")
            created = await self.onec.create(
                partner.entity_set,
                {
                    "Description": company.title[:100],
                    partner["full_name"]: company.full_name or company.title,
                    partner["is_customer"]: True,
                    partner["kind"]: "Компания" if company.kind != "individual" else "ЧастноеЛицо",
                },
            )
            fields[partner_role] = created["Ref_Key"]
        created = await self.onec.create(concept.entity_set, fields)
        return str(created["Ref_Key"])


def younger_than_a_day(created: str) -> bool:
    """Whether a Bitrix24 ``DATE_CREATE`` is less than a day old (a record a manager may
    still be completing)."""
    try:
        stamp = datetime.fromisoformat(created)
    except ValueError:
        return False
    if stamp.tzinfo is None:
        return False
    return datetime.now(UTC) - stamp < timedelta(days=1)


def _invalid(company: CrmCompany) -> str | None:
    try:
        validate_inn(company.inn)
        if company.kind == "legal" and len(company.inn) != 10:
            return f"INN {company.inn!r} has 12 digits, but the requisite is a legal entity's"
        if company.kind != "legal" and len(company.inn) != 12:
            return f"INN {company.inn!r} has 10 digits, but the requisite is a person's"
        if company.kind == "legal" and company.kpp:
            validate_kpp(company.kpp)
    except InvalidKey as exc:
        return f"{exc.key_type.upper()} {exc.value!r} is invalid: {exc.reason}"
    return None
