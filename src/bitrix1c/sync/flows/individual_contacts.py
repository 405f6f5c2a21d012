"""1C individuals → Bitrix24 contacts (``flows.counterparties.individuals_as: contact``).

A B2C portal keeps its private buyers as contacts, not companies. With that setting the
counterparties flow skips individuals (kind ``individual``: УТ/Розница ``ЮрФизЛицо`` =
``ФизЛицо``, БП ``ФизическоеЛицо`` that is not a sole proprietor) and this step makes
each one a contact: names from the 1C name, phones and e-mails as multi-fields and, when
the person has an INN (or a SNILS the portal keeps), a requisite of the individual preset
on the contact.

Never create before looking: link in the store (entity ``counterparty``, Bitrix24 entity
``contact``) → the 1C id on the contact (ORIGINATOR_ID/ORIGIN_ID) → INN on contact
requisites → SNILS (when ``snils_field`` is set) → phone → e-mail
(``crm.duplicate.findbycomm``). One free contact links; several are never merged — the
record is reported with their ids. A payload hash in the link makes a rerun write nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from bitrix1c.bitrix24.client import BATCH_LIMIT, Bitrix24Client, Commands
from bitrix1c.domain.counterparty import Counterparty
from bitrix1c.domain.phones import normalize_email, to_e164
from bitrix1c.errors import Bitrix24RecordError, InvalidRecord, RecordError
from bitrix1c.onec.odata import ODataClient
from bitrix1c.onec.profiles import Profile
from bitrix1c.settings import CounterpartiesFlow
from bitrix1c.state.store import Link, Store
from bitrix1c.sync.engine import RunContext
from bitrix1c.sync.flows.contact_persons import split_full_name
from bitrix1c.sync.flows.counterparties import (
    ENTITY,
    REQUISITE_SELECT,
    CounterpartySync,
    new_multifields,
    requisite_fields,
)
from bitrix1c.sync.lookups import find_by_comm
from bitrix1c.sync.matching import RequisiteRow, match_counterparty, taken_by_others

log = structlog.get_logger(__name__)

B24_ENTITY = "contact"
CONTACT_TYPE_ID = 3  # ENTITY_TYPE_ID of a contact's requisites (bitrix24.md)
SLICE = 250


def contact_fields(cp: Counterparty) -> dict[str, Any]:
    """The contact fields 1C owns for an individual (multi-fields are merged separately)."""
    last, first, middle = split_full_name(cp.name)
    return {
        "NAME": first,
        "LAST_NAME": last,
        "SECOND_NAME": middle,
        "ORIGINATOR_ID": cp.base,
        "ORIGIN_ID": cp.ref_key,
    }


def contact_requisite(
    cp: Counterparty, presets: Mapping[str, int], snils_field: str | None
) -> dict[str, Any] | None:
    """The individual's requisite on its contact; None when it has no key to carry."""
    if not cp.inn and not (snils_field and cp.snils):
        return None
    requisite = requisite_fields(cp, presets, snils_field)
    # The same split as the contact's own name fields, so both read alike.
    last, first, middle = split_full_name(cp.name)
    requisite.update(RQ_LAST_NAME=last, RQ_FIRST_NAME=first, RQ_SECOND_NAME=middle)
    return requisite


def payload_hash(
    contact: Mapping[str, Any], requisite: Mapping[str, Any] | None, cp: Counterparty
) -> str:
    """Stable hash of everything written for an individual."""
    blob = json.dumps(
        {"contact": contact, "requisite": requisite, "phones": cp.phones, "emails": cp.emails},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class Planned:
    """What to do with one individual."""

    cp: Counterparty
    contact: dict[str, Any]
    requisite: dict[str, Any] | None
    hash: str
    source: Mapping[str, Any]  # the 1C row: what a record error carries
    contact_id: int | None = None  # None: create
    match_key: str = "created"
    requisite_id: int | None = None  # the contact's existing requisite to update
    extra: dict[str, Any] = field(default_factory=dict)  # PHONE/EMAIL additions


class IndividualContactSync:
    """The individuals of one 1C base → Bitrix24 contacts (when configured so)."""

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
        self.fields = profile.counterparty
        self.base = base
        self.settings = settings
        self.presets = settings.presets.model_dump()
        self.crm_owned = frozenset(k for k, v in settings.owners.items() if v == "crm")
        self.page_size = 500
        # Keys and contacts taken by earlier records of this run: two 1C individuals
        # never end up on one contact.
        self._inns_this_run: dict[str, str] = {}
        self._claimed: dict[int, str] = {}

    async def __call__(self, ctx: RunContext) -> None:
        if self.settings.individuals_as != "contact":
            # Individuals are companies (the counterparties flow makes them).
            return
        self._inns_this_run, self._claimed = {}, {}
        async for page in self.onec.pages(
            self.fields.entity_set, select=self.fields.select(), page_size=self.page_size
        ):
            for start in range(0, len(page), SLICE):
                await self.sync_rows(ctx, page[start : start + SLICE])

    async def sync_rows(self, ctx: RunContext, rows: Sequence[Mapping[str, Any]]) -> None:
        """Synchronize the individuals among one slice of 1C counterparties."""
        people: list[tuple[Counterparty, Mapping[str, Any]]] = []
        for row in rows:
            cp = self.fields.to_domain(self.base, row)
            if cp.kind != "individual":
                continue  # the counterparties flow's
            ctx.count("read")
            if cp.deletion_mark or cp.predefined:
                # Deletion-marked ones and УТ's "Розничный покупатель" are not clients.
                ctx.count("skipped")
                continue
            problem = CounterpartySync._invalid_keys(cp)
            if problem is None and not cp.name.split():
                problem = InvalidRecord(
                    f"counterparty {cp.record_key}: the name is empty",
                    hint="Fill in the individual's name in 1C; it syncs on the next run.",
                    field="name",
                )
            if problem is not None:
                await ctx.fail_record(cp.record_key, problem, payload=dict(row))
                continue
            people.append((cp, row))
        if not people:
            return
        links = await self.store.links_for(ENTITY, self.base, (cp.ref_key for cp, _ in people))
        todo: list[Planned] = []
        for cp, row in people:
            contact = contact_fields(cp)
            requisite = contact_requisite(cp, self.presets, self.settings.snils_field)
            digest = payload_hash(contact, requisite, cp)
            planned = Planned(cp, contact, requisite, digest, row)
            link = links.get(cp.ref_key)
            if link is not None and link.b24_entity == B24_ENTITY:
                if link.to_b24_hash == digest:
                    ctx.count("skipped")
                    continue
                planned.contact_id, planned.match_key = link.b24_id, link.match_key
            elif link is not None:
                # Synced as a company before the setting changed: the company stays as it
                # is; the person is looked up (and linked) as a contact from now on.
                log.info("individual.was_company", record=cp.record_key, company=link.b24_id)
            todo.append(planned)
        if not todo:
            return
        ready = await self._match(ctx, todo)
        ready = await self._load_current(ready)
        if ctx.dry_run:
            for item in ready:
                ctx.count("created" if item.contact_id is None else "updated")
            return
        per_batch = BATCH_LIMIT // 2  # a contact and its requisite share one batch
        for start in range(0, len(ready), per_batch):
            await self._write(ctx, ready[start : start + per_batch])

    # --- matching -------------------------------------------------------------------------

    async def _match(self, ctx: RunContext, todo: list[Planned]) -> list[Planned]:
        """ORIGIN_ID → INN → SNILS → phone → e-mail for the records without a link."""
        unlinked = [item for item in todo if item.contact_id is None]
        by_origin, requisites, by_snils = await self._key_lookups([i.cp for i in unlinked])
        taken = await self._taken(
            {r.company_id for r in requisites} | {c for ids in by_snils.values() for c in ids}
        )
        ready = [item for item in todo if item.contact_id is not None]
        pending: list[Planned] = []
        for item in unlinked:
            cp = item.cp
            if cp.ref_key in by_origin:
                item.contact_id, item.match_key = by_origin[cp.ref_key], "origin"
                ready.append(item)
                continue
            # The counterparties' key cascade run on contact requisites (its company ids
            # are contact ids here): without phone/e-mail hits or a directory it answers
            # a key match, ambiguous, or none.
            match = match_counterparty(
                cp,
                requisites=requisites,
                taken=taken_by_others(taken, cp.ref_key),
                snils_hits=by_snils.get(cp.snils, set()) if cp.snils else (),
            )
            if match.kind == "ambiguous":
                key = "inn" if any(r.inn == cp.inn for r in requisites if cp.inn) else "snils"
                await self._fail_ambiguous(ctx, item, key, match.candidates)
            elif match.company_id is not None:
                item.contact_id, item.match_key = match.company_id, match.kind
                ready.append(item)
            else:
                pending.append(item)
        ready += await self._match_by_comm(ctx, pending)
        return await self._one_record_per_contact(ctx, ready)

    async def _key_lookups(
        self, people: Sequence[Counterparty]
    ) -> tuple[dict[str, int], list[RequisiteRow], dict[str, set[int]]]:
        """Contacts by 1C id, contact requisites by INN, contacts by SNILS (one batch)."""
        snils_field = self.settings.snils_field
        commands: Commands = {}
        for n, start in enumerate(range(0, len(people), 50)):
            part = people[start : start + 50]
            commands[f"origin{n}"] = (
                "crm.contact.list",
                {
                    "filter": {"ORIGINATOR_ID": self.base, "@ORIGIN_ID": [p.ref_key for p in part]},
                    "select": ["ID", "ORIGIN_ID"],
                },
            )
            inns = sorted({p.inn for p in part if p.inn})
            if inns:
                commands[f"inn{n}"] = (
                    "crm.requisite.list",
                    {
                        "filter": {"ENTITY_TYPE_ID": CONTACT_TYPE_ID, "@RQ_INN": inns},
                        "select": REQUISITE_SELECT,
                    },
                )
            snils = sorted({p.snils for p in part if p.snils})
            if snils and snils_field:
                commands[f"snils{n}"] = (
                    "crm.requisite.list",
                    {
                        "filter": {"ENTITY_TYPE_ID": CONTACT_TYPE_ID, f"@{snils_field}": snils},
                        "select": ["ID", "ENTITY_ID", snils_field],
                    },
                )
        by_origin: dict[str, int] = {}
        requisites: list[RequisiteRow] = []
        by_snils: dict[str, set[int]] = {}
        for key, rows in (await self.b24.read_batched(commands)).items():
            if key.startswith("origin"):
                for row in rows:
                    by_origin.setdefault(str(row["ORIGIN_ID"]), int(row["ID"]))
            elif key.startswith("snils"):
                for row in rows:
                    number = "".join(ch for ch in str(row.get(snils_field or "")) if ch.isdigit())
                    by_snils.setdefault(number, set()).add(int(row["ENTITY_ID"]))
            else:
                requisites += [RequisiteRow.from_api(row) for row in rows]
        return by_origin, requisites, by_snils

    async def _match_by_comm(self, ctx: RunContext, pending: list[Planned]) -> list[Planned]:
        """Phone, then e-mail: one free contact links, several are reported, none creates.

        A contact is not free when it is linked to another 1C record (an individual or a
        contact person), claimed by an earlier record of this run, or carries a requisite
        with another INN than the individual's (someone else sharing a phone).
        """
        hits = await find_by_comm(
            self.b24, {i.cp.ref_key: (i.cp.phones, i.cp.emails) for i in pending}, "CONTACT"
        )
        ids = {cid for phones, emails in hits.values() for cid in (*phones, *emails)}
        taken = await self._taken(ids)
        inns_of = await self._inns_of(ids)
        ready: list[Planned] = []
        for item in pending:
            cp = item.cp
            phones, emails = hits.get(cp.ref_key, (set(), set()))
            failed = False
            for key, found in (("phone", phones), ("email", emails)):
                free = {
                    cid
                    for cid in found
                    if taken.get(cid, cp.ref_key) == cp.ref_key
                    and self._claimed.get(cid, cp.ref_key) == cp.ref_key
                    and not (cp.inn and inns_of.get(cid, {cp.inn}) - {cp.inn})
                }
                if len(free) > 1:
                    await self._fail_ambiguous(ctx, item, key, tuple(sorted(free)))
                    failed = True
                    break
                if free:
                    (item.contact_id,) = free
                    item.match_key = key
                    break
            if not failed:
                ready.append(item)
        return ready

    async def _one_record_per_contact(self, ctx: RunContext, ready: list[Planned]) -> list[Planned]:
        """Drop (and report) a record whose INN or contact an earlier one of this run has."""
        kept: list[Planned] = []
        for item in ready:
            cp = item.cp
            earlier = self._inns_this_run.get(cp.inn) if cp.inn else None
            if earlier is None and item.contact_id is not None:
                earlier = self._claimed.get(item.contact_id)
            if earlier is not None and earlier != cp.ref_key:
                await ctx.fail_record(
                    cp.record_key,
                    InvalidRecord(
                        f"counterparty {cp.label} ({cp.record_key}) is the same person as 1C "
                        f"record {earlier} (same INN or the same Bitrix24 contact)",
                        hint="Two 1C individuals describe one person: mark the duplicate for "
                        "deletion in 1C or correct its INN/phone.",
                        field="inn" if cp.inn else "phone",
                    ),
                    payload=dict(item.source),
                )
                continue
            if cp.inn:
                self._inns_this_run[cp.inn] = cp.ref_key
            if item.contact_id is not None:
                self._claimed[item.contact_id] = cp.ref_key
            kept.append(item)
        return kept

    async def _fail_ambiguous(
        self, ctx: RunContext, item: Planned, key: str, contacts: Sequence[int]
    ) -> None:
        await ctx.fail_record(
            item.cp.record_key,
            InvalidRecord(
                f"counterparty {item.cp.label} ({item.cp.record_key}): its {key} matches "
                f"Bitrix24 contacts {', '.join(str(c) for c in contacts)} (several, or one "
                "linked to another 1C record); not merged",
                hint="Merge the duplicate contacts in Bitrix24 (or correct the key in 1C); "
                "the individual is linked on the next run.",
                field=key,
            ),
            payload=dict(item.source),
        )

    async def _inns_of(self, contact_ids: set[int]) -> dict[int, set[str]]:
        """INNs on the requisites of these contacts."""
        ids = sorted(contact_ids)
        commands: Commands = {
            f"rq{n}": (
                "crm.requisite.list",
                {
                    "filter": {"ENTITY_TYPE_ID": CONTACT_TYPE_ID, "@ENTITY_ID": ids[s : s + 50]},
                    "select": ["ID", "ENTITY_ID", "RQ_INN"],
                },
            )
            for n, s in enumerate(range(0, len(ids), 50))
        }
        inns: dict[int, set[str]] = {}
        for rows in (await self.b24.read_batched(commands)).values():
            for row in rows:
                inn = str(row.get("RQ_INN") or "").strip()
                if inn:
                    inns.setdefault(int(row["ENTITY_ID"]), set()).add(inn)
        return inns

    async def _taken(self, contact_ids: set[int]) -> dict[int, str]:
        """Contacts among ``contact_ids`` linked to a 1C record → that record's Ref_Key."""
        links = await self.store.links_to_b24(B24_ENTITY, contact_ids)
        return {cid: link.onec_ref for cid, link in links.items()}

    async def _load_current(self, ready: list[Planned]) -> list[Planned]:
        """Phones/e-mails and requisites of the contacts to update; a contact deleted in
        the CRM is created again."""
        updates = [item for item in ready if item.contact_id is not None]
        commands: Commands = {}
        for n, start in enumerate(range(0, len(updates), 50)):
            ids = [item.contact_id for item in updates[start : start + 50]]
            commands[f"ct{n}"] = (
                "crm.contact.list",
                {"filter": {"@ID": ids}, "select": ["ID", "PHONE", "EMAIL"]},
            )
            commands[f"rq{n}"] = (
                "crm.requisite.list",
                {
                    "filter": {"ENTITY_TYPE_ID": CONTACT_TYPE_ID, "@ENTITY_ID": ids},
                    "select": REQUISITE_SELECT,
                },
            )
        current: dict[int, Mapping[str, Any]] = {}
        requisites: dict[int, list[RequisiteRow]] = {}
        for key, rows in (await self.b24.read_batched(commands)).items():
            for row in rows:
                if key.startswith("ct"):
                    current[int(row["ID"])] = row
                else:
                    req = RequisiteRow.from_api(row)
                    requisites.setdefault(req.company_id, []).append(req)
        for item in updates:
            assert item.contact_id is not None
            found = current.get(item.contact_id)
            if found is None:
                item.contact_id, item.match_key = None, "created"
                continue
            phones = new_multifields(
                item.cp.phones, found.get("PHONE") or [], lambda v: to_e164(v) or v
            )
            emails = new_multifields(
                item.cp.emails, found.get("EMAIL") or [], lambda v: normalize_email(v) or v
            )
            item.extra = {k: v for k, v in (("PHONE", phones), ("EMAIL", emails)) if v}
            own = requisites.get(item.contact_id, [])
            item.requisite_id = next(
                (r.id for r in own if r.xml_id == item.cp.ref_key),
                next((r.id for r in own if item.cp.inn and r.inn == item.cp.inn), None),
            )
        return ready

    # --- writes ---------------------------------------------------------------------------

    async def _write(self, ctx: RunContext, chunk: list[Planned]) -> None:
        commands: Commands = {}
        for n, item in enumerate(chunk):
            if item.contact_id is None:
                fields: dict[str, Any] = {**item.contact, "ORIGIN_VERSION": item.cp.version}
                if self.settings.assigned_by_id is not None:
                    fields["ASSIGNED_BY_ID"] = self.settings.assigned_by_id
                for name, values in (("PHONE", item.cp.phones), ("EMAIL", item.cp.emails)):
                    if values:
                        fields[name] = [{"VALUE": v, "VALUE_TYPE": "WORK"} for v in values]
                commands[f"c{n}"] = ("crm.contact.add", {"fields": fields})
                owner: int | str = f"$result[c{n}]"
            else:
                # The responsible manager is left to the CRM after creation.
                fields = {**item.contact, "ORIGIN_VERSION": item.cp.version, **item.extra}
                commands[f"c{n}"] = (
                    "crm.contact.update",
                    {"id": item.contact_id, "fields": fields},
                )
                owner = item.contact_id
            if item.requisite is None:
                continue
            if item.requisite_id is None:
                requisite = {
                    **item.requisite,
                    "ENTITY_TYPE_ID": CONTACT_TYPE_ID,
                    "ENTITY_ID": owner,
                }
                commands[f"r{n}"] = ("crm.requisite.add", {"fields": requisite})
            else:
                owned = {k: v for k, v in item.requisite.items() if k not in self.crm_owned}
                commands[f"r{n}"] = (
                    "crm.requisite.update",
                    {"id": item.requisite_id, "fields": owned},
                )
        reply = await self.b24.batch(commands)
        saved: list[Link] = []
        writes: list[tuple[str, str, Any, Any]] = []
        synced: list[str] = []
        for n, item in enumerate(chunk):
            contact_key, requisite_key = f"c{n}", f"r{n}"
            if contact_key in reply.errors:
                await ctx.fail_record(
                    item.cp.record_key,
                    _record_error(reply.errors[contact_key], item.cp, commands[contact_key]),
                    payload=dict(item.source),
                )
                continue
            creates = item.contact_id is None
            contact_id = int(reply.results[contact_key]) if creates else item.contact_id
            assert contact_id is not None
            requisite_id = item.requisite_id
            requisite_ok = requisite_key not in reply.errors
            if requisite_key in commands and commands[requisite_key][0] == "crm.requisite.add":
                requisite_id = int(reply.results[requisite_key]) if requisite_ok else None
            saved.append(
                Link(
                    entity=ENTITY,
                    onec_base=self.base,
                    onec_ref=item.cp.ref_key,
                    b24_entity=B24_ENTITY,
                    b24_id=contact_id,
                    b24_requisite_id=requisite_id,
                    match_key=item.match_key,
                    onec_version=item.cp.version,
                    # A failed requisite leaves the hash empty, so the next run retries it.
                    to_b24_hash=item.hash if requisite_ok else None,
                )
            )
            writes.append(
                (str(contact_id), "create" if creates else "update", None, commands[contact_key][1])
            )
            if requisite_ok:
                ctx.count("created" if creates else "updated")
                synced.append(item.cp.record_key)
            else:
                await ctx.fail_record(
                    item.cp.record_key,
                    _record_error(reply.errors[requisite_key], item.cp, commands[requisite_key]),
                    payload=dict(item.source),
                    b24_key=f"contact:{contact_id}",
                )
        async with self.store.transaction() as conn:
            for link in saved:
                await Store.save_link(conn, link)
            await Store.audit_writes(
                conn, run_id=ctx.run_id, system="bitrix24", entity=B24_ENTITY, writes=writes
            )
            await Store.resolve_errors(conn, ctx.flow, synced)


def _record_error(
    error: Exception, cp: Counterparty, command: tuple[str, Mapping[str, Any] | None]
) -> RecordError:
    if isinstance(error, RecordError):
        method, params = command
        return Bitrix24RecordError(
            f"Bitrix24 refused the contact of counterparty {cp.label} ({cp.record_key}): "
            f"{error.message}",
            hint="Check the value Bitrix24 names in the message (a required field, a user "
            "field, a permission); the record is retried on the next run.",
            method=method,
            code=getattr(error, "code", None),
            sent=json.dumps(params, ensure_ascii=False, default=str),
        )
    raise error
