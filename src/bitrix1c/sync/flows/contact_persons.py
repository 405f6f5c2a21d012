"""1C contact persons → Bitrix24 contacts linked to the companies of their counterparties.

УТ 11 keeps contact persons per partner (``Owner_Key`` → ``Catalog_Партнеры``) and a partner
has several counterparties, each synced to its own company: one contact person becomes one
contact linked to all those companies. БП 3.0 keeps them with a composite owner
(``ОбъектВладелец`` + ``_Type``); only those owned by a counterparty are clients' people.

Runs after the counterparties flow: a person whose counterparties have no company yet
waits. Per slice: skip what has not changed (payload hash in the link), look the rest up
(``ORIGIN_ID``, then phone/e-mail with ``crm.duplicate.findbycomm``), then write through
``batch``. Company links a person added in the CRM are kept: ours are added to each
company's contact list, nothing is removed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from bitrix1c.bitrix24.client import BATCH_LIMIT, Bitrix24Client, Commands, in_batches
from bitrix1c.domain.phones import normalize_email, to_e164
from bitrix1c.errors import Bitrix24RecordError, InvalidRecord, RecordError
from bitrix1c.onec.odata import ODataClient
from bitrix1c.onec.profiles import Concept, CounterpartyFields, Profile
from bitrix1c.settings import CounterpartiesFlow
from bitrix1c.state.store import Link, Store
from bitrix1c.sync.engine import RunContext
from bitrix1c.sync.flows.counterparties import ENTITY as COUNTERPARTY
from bitrix1c.sync.flows.counterparties import new_multifields
from bitrix1c.sync.lookups import find_by_comm

log = structlog.get_logger(__name__)

# Match keys of links made by the CRM → 1C direction (contacts_to_onec): "crm_phone" …
CRM_MATCH = "crm_"

ENTITY = "contact_person"
B24_ENTITY = "contact"
NAMESPACE = "StandardODATA"  # the type prefix of composite references (onec.md §1.4)
EMPTY_REF = "00000000-0000-0000-0000-000000000000"  # an empty reference (onec.md §1.3)
SLICE = 250


@dataclass(frozen=True)
class ContactPerson:
    """A 1C contact person as the flow sees it."""

    base: str
    ref_key: str
    version: str
    owner: str  # a partner (УТ) or a counterparty (БП) Ref_Key
    client_owned: bool  # False for БП people owned by a user
    last_name: str
    first_name: str
    middle_name: str
    post: str
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    deletion_mark: bool

    @property
    def record_key(self) -> str:
        """How errors and logs name this record: ``<base>:<Ref_Key>``."""
        return f"{self.base}:{self.ref_key}"

    @property
    def label(self) -> str:
        """How people recognize it: the full name."""
        name = " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)
        return f"contact person {name!r} ({self.record_key})"


def split_full_name(full: str) -> tuple[str, str, str]:
    """Split «Фамилия Имя Отчество» into (last, first, middle); one word is a first name."""
    words = full.split()
    if len(words) < 2:
        return "", " ".join(words), ""
    return words[0], words[1], " ".join(words[2:])


class ContactPersonFields:
    """Where one configuration keeps contact persons (the profile's ``contact_person``)."""

    def __init__(self, profile: Profile) -> None:
        self.concept: Concept = profile.concept("contact_person")
        counterparty = profile.concept("counterparty")
        self.counterparty_set = counterparty.entity_set
        # УТ: the owner is a partner and counterparties point at it (Партнер_Key).
        self.partner_of_counterparty = (
            counterparty.get("partner") if "partner" in profile.concepts else None
        )
        self.client_type = f"{NAMESPACE}.{counterparty.entity_set}"
        # The contact-information section reads like a counterparty's: reuse that code.
        self._channels = CounterpartyFields(
            entity_set=self.concept.entity_set,
            inn="",
            kpp="",
            full_name="",
            okpo="",
            contact_info=self.concept["contact_info"],
            kind_of=lambda _row: "individual",
            kind_fields=(),
        )

    def select(self) -> list[str]:
        """``$select`` list for reading contact persons."""
        roles = ("last_name", "first_name", "middle_name", "position", "owner", "owner_type")
        names = [self.concept[r] for r in roles if self.concept.get(r)]
        return [
            "Ref_Key",
            "DataVersion",
            "DeletionMark",
            "Description",
            *names,
            self.concept["contact_info"],
        ]

    def _text(self, row: Mapping[str, Any], role: str) -> str:
        name = self.concept.get(role)
        return str(row.get(name) or "").strip() if name else ""

    def to_domain(self, base: str, row: Mapping[str, Any]) -> ContactPerson:
        """A 1C row as a :class:`ContactPerson` (phones in E.164, e-mails lowercased)."""
        last, first, middle = (
            self._text(row, "last_name"),
            self._text(row, "first_name"),
            self._text(row, "middle_name"),
        )
        if not (last or first or middle):
            last, first, middle = split_full_name(str(row.get("Description") or ""))
        owner_type = self.concept.get("owner_type")
        channels = self._channels.to_domain(base, row)
        return ContactPerson(
            base=base,
            ref_key=str(row["Ref_Key"]),
            version=str(row.get("DataVersion") or ""),
            owner=self._text(row, "owner"),
            client_owned=owner_type is None or row.get(owner_type) == self.client_type,
            last_name=last,
            first_name=first,
            middle_name=middle,
            post=self._text(row, "position"),
            phones=channels.phones,
            emails=channels.emails,
            deletion_mark=bool(row.get("DeletionMark")),
        )


def contact_fields(person: ContactPerson) -> dict[str, Any]:
    """The contact fields 1C owns (multi-fields and company links are merged separately)."""
    return {
        "NAME": person.first_name,
        "LAST_NAME": person.last_name,
        "SECOND_NAME": person.middle_name,
        "POST": person.post,
        "ORIGINATOR_ID": person.base,
        "ORIGIN_ID": person.ref_key,
    }


def payload_hash(person: ContactPerson, fields: Mapping[str, Any], companies: Sequence[int]) -> str:
    """Stable hash of everything written for a person (a new company link changes it)."""
    blob = json.dumps(
        {
            "contact": fields,
            "phones": person.phones,
            "emails": person.emails,
            "companies": sorted(companies),
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class Planned:
    """What to do with one contact person."""

    person: ContactPerson
    fields: dict[str, Any]
    companies: list[int]
    hash: str
    link: Link | None = None
    contact_id: int | None = None  # None: create
    match_key: str = "created"
    extra: dict[str, Any] = field(default_factory=dict)  # PHONE/EMAIL additions


class ContactPersonSync:
    """The contact persons of one 1C base's counterparties → Bitrix24 contacts."""

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
        self.fields = ContactPersonFields(profile)
        self.base = base
        self.settings = settings
        self.page_size = 500
        self._counterparties_of: dict[str, list[str]] = {}

    async def __call__(self, ctx: RunContext) -> None:
        if self.fields.partner_of_counterparty:
            await self._load_partners()
        async for page in self.onec.pages(
            self.fields.concept.entity_set, select=self.fields.select(), page_size=self.page_size
        ):
            for start in range(0, len(page), SLICE):
                await self.sync_rows(ctx, page[start : start + SLICE])

    async def _load_partners(self) -> None:
        """Partner → its counterparties (two GUIDs per counterparty, read once per run)."""
        partner = self.fields.partner_of_counterparty
        assert partner is not None
        self._counterparties_of = {}
        async for page in self.onec.pages(
            self.fields.counterparty_set, select=["Ref_Key", partner], page_size=self.page_size
        ):
            for row in page:
                if row.get(partner) and row[partner] != EMPTY_REF:
                    self._counterparties_of.setdefault(str(row[partner]), []).append(
                        str(row["Ref_Key"])
                    )

    async def _companies(self, people: Sequence[ContactPerson]) -> dict[str, list[int]]:
        """Owner → ids of the companies its counterparties are synced to (in 1C order)."""
        owners = {p.owner for p in people}
        refs_of = {
            owner: self._counterparties_of.get(owner, [])
            if self.fields.partner_of_counterparty
            else [owner]
            for owner in owners
        }
        links = await self.store.links_for(
            COUNTERPARTY, self.base, {ref for refs in refs_of.values() for ref in refs}
        )
        return {
            # An individual synced as a contact (individuals_as) has no company to link to.
            owner: list(
                dict.fromkeys(
                    links[r].b24_id for r in refs if r in links and links[r].b24_entity == "company"
                )
            )
            for owner, refs in refs_of.items()
        }

    async def sync_rows(self, ctx: RunContext, rows: Sequence[Mapping[str, Any]]) -> None:
        """Synchronize one slice of 1C contact persons."""
        ctx.count("read", len(rows))
        people: list[ContactPerson] = []
        for row in rows:
            person = self.fields.to_domain(self.base, row)
            if not person.client_owned or person.deletion_mark:
                # A user's personal contact (БП) is not a client's; a deletion-marked
                # person is not created.
                ctx.count("skipped")
                continue
            if not (person.first_name or person.last_name):
                await ctx.fail_record(
                    person.record_key,
                    InvalidRecord(
                        f"{person.label}: the name is empty",
                        hint="Fill in the contact person's name in 1C; it syncs on the next run.",
                        field="name",
                    ),
                    payload=dict(row),
                )
                continue
            people.append(person)
        if not people:
            return
        companies = await self._companies(people)
        links = await self.store.links_for(ENTITY, self.base, (p.ref_key for p in people))
        todo: list[Planned] = []
        for person in people:
            ids = companies.get(person.owner, [])
            if not ids:
                # Its counterparties are not in the CRM yet (new, in review, invalid).
                ctx.count("skipped")
                log.info("contact_person.waits", record=person.record_key, owner=person.owner)
                continue
            fields = contact_fields(person)
            digest = payload_hash(person, fields, ids)
            link = links.get(person.ref_key)
            if link is not None and link.to_b24_hash == digest:
                ctx.count("skipped")
                continue
            planned = Planned(person, fields, ids, digest, link=link)
            if link is not None:
                planned.contact_id, planned.match_key = link.b24_id, link.match_key
            todo.append(planned)
        if not todo:
            return
        ready = await self._match(ctx, todo)
        ready = await self._load_current(ready)
        if ctx.dry_run:
            for item in ready:
                ctx.count("created" if item.contact_id is None else "updated")
            return
        await self._write(ctx, ready)

    # --- matching -------------------------------------------------------------------------

    async def _match(self, ctx: RunContext, todo: list[Planned]) -> list[Planned]:
        """Link → ORIGIN_ID → one phone/e-mail hit not linked elsewhere; else create."""
        unlinked = [item for item in todo if item.link is None]
        if not unlinked:
            return todo
        commands: Commands = {}
        for n, start in enumerate(range(0, len(unlinked), 50)):
            refs = [item.person.ref_key for item in unlinked[start : start + 50]]
            commands[f"origin{n}"] = (
                "crm.contact.list",
                {
                    "filter": {"ORIGINATOR_ID": self.base, "@ORIGIN_ID": refs},
                    "select": ["ID", "ORIGIN_ID"],
                },
            )
        by_origin: dict[str, int] = {}
        for rows in (await self.b24.read_batched(commands)).values():
            for row in rows or []:
                by_origin.setdefault(str(row["ORIGIN_ID"]), int(row["ID"]))
        pending = []
        for item in unlinked:
            if item.person.ref_key in by_origin:
                item.contact_id, item.match_key = by_origin[item.person.ref_key], "origin"
            else:
                pending.append(item)
        hits = await find_by_comm(
            self.b24,
            {i.person.ref_key: (i.person.phones, i.person.emails) for i in pending},
            "CONTACT",
        )
        taken = await self.store.links_to_b24(
            B24_ENTITY, {cid for phones, emails in hits.values() for cid in (*phones, *emails)}
        )
        claimed: set[int] = set()
        ready = [item for item in todo if item.contact_id is not None]
        for item in pending:
            phones, emails = hits.get(item.person.ref_key, (set(), set()))
            # A contact linked to another 1C person (or claimed by one earlier in this
            # run) is that person's: a shared office phone does not merge two people.
            free = {
                cid
                for cid in phones | emails
                if (cid not in taken or taken[cid].onec_ref == item.person.ref_key)
                and cid not in claimed
            }
            if len(free) > 1:
                key = "phone" if phones & free else "email"
                await ctx.fail_record(
                    item.person.record_key,
                    InvalidRecord(
                        f"{item.person.label}: its {key} is on several Bitrix24 contacts "
                        f"({', '.join(str(c) for c in sorted(free))}); not merged",
                        hint="Merge the duplicate contacts in Bitrix24 (or correct the phone/"
                        "e-mail in 1C); the person is linked on the next run.",
                        field=key,
                    ),
                    payload=item.fields,
                )
                continue
            if free:
                (contact_id,) = free
                claimed.add(contact_id)
                item.contact_id = contact_id
                item.match_key = "phone" if contact_id in phones else "email"
            ready.append(item)
        return ready

    async def _load_current(self, ready: list[Planned]) -> list[Planned]:
        """Phones/e-mails of the contacts to update; a contact deleted in the CRM is re-created."""
        updates = [item for item in ready if item.contact_id is not None]
        commands: Commands = {}
        for n, start in enumerate(range(0, len(updates), 50)):
            ids = [item.contact_id for item in updates[start : start + 50]]
            commands[f"ct{n}"] = (
                "crm.contact.list",
                {"filter": {"@ID": ids}, "select": ["ID", "PHONE", "EMAIL"]},
            )
        current: dict[int, Mapping[str, Any]] = {}
        for rows in (await self.b24.read_batched(commands)).values():
            current.update({int(row["ID"]): row for row in rows or []})
        for item in updates:
            assert item.contact_id is not None
            row = current.get(item.contact_id)
            if row is None:
                item.contact_id, item.match_key = None, "created"
                continue
            phones = new_multifields(
                item.person.phones, row.get("PHONE") or [], lambda v: to_e164(v) or v
            )
            emails = new_multifields(
                item.person.emails, row.get("EMAIL") or [], lambda v: normalize_email(v) or v
            )
            item.extra = {k: v for k, v in (("PHONE", phones), ("EMAIL", emails)) if v}
        return ready

    # --- writes ---------------------------------------------------------------------------

    async def _write(self, ctx: RunContext, ready: list[Planned]) -> None:
        for start in range(0, len(ready), BATCH_LIMIT):
            await self._write_chunk(ctx, ready[start : start + BATCH_LIMIT])

    async def _write_chunk(self, ctx: RunContext, chunk: list[Planned]) -> None:
        commands: Commands = {}
        for n, item in enumerate(chunk):
            if item.contact_id is None:
                fields: dict[str, Any] = {
                    **item.fields,
                    "ORIGIN_VERSION": item.person.version,
                    "COMPANY_IDS": item.companies,
                }
                if self.settings.assigned_by_id is not None:
                    fields["ASSIGNED_BY_ID"] = self.settings.assigned_by_id
                for key, values in (("PHONE", item.person.phones), ("EMAIL", item.person.emails)):
                    if values:
                        fields[key] = [{"VALUE": v, "VALUE_TYPE": "WORK"} for v in values]
                commands[f"c{n}"] = ("crm.contact.add", {"fields": fields})
            else:
                fields = {**item.fields, "ORIGIN_VERSION": item.person.version, **item.extra}
                if item.match_key.startswith(CRM_MATCH):
                    # A contact created in the CRM may stand for several 1C persons (one per
                    # owner): it carries no single 1C id, its links live in the store.
                    for key in ("ORIGINATOR_ID", "ORIGIN_ID", "ORIGIN_VERSION"):
                        fields.pop(key, None)
                commands[f"c{n}"] = (
                    "crm.contact.update",
                    {"id": item.contact_id, "fields": fields},
                )
        reply = await self.b24.batch(commands)
        written: list[tuple[Planned, int]] = []
        for n, item in enumerate(chunk):
            key = f"c{n}"
            if key in reply.errors:
                await ctx.fail_record(
                    item.person.record_key,
                    _record_error(reply.errors[key], item.person),
                    payload=commands[key][1],
                )
                continue
            contact_id = int(reply.results[key]) if item.contact_id is None else item.contact_id
            written.append((item, contact_id))
        # A new contact got its companies with COMPANY_IDS; an existing one is added to
        # each company that does not list it yet.
        failed = await self._add_to_companies(
            ctx, [(item, cid) for item, cid in written if item.contact_id is not None]
        )
        saved: list[Link] = []
        audit: list[tuple[str, str, Any, Any]] = []
        synced: list[str] = []
        for item, contact_id in written:
            complete = item.person.ref_key not in failed
            saved.append(
                Link(
                    entity=ENTITY,
                    onec_base=self.base,
                    onec_ref=item.person.ref_key,
                    b24_entity=B24_ENTITY,
                    b24_id=contact_id,
                    match_key=item.match_key,
                    onec_version=item.person.version,
                    # A failed company link leaves the hash empty: retried next run.
                    to_b24_hash=item.hash if complete else None,
                )
            )
            creates = item.contact_id is None
            audit.append((str(contact_id), "create" if creates else "update", None, item.fields))
            if complete:
                ctx.count("created" if creates else "updated")
                synced.append(item.person.record_key)
        async with self.store.transaction() as conn:
            for link in saved:
                await Store.save_link(conn, link)
            await Store.audit_writes(
                conn, run_id=ctx.run_id, system="bitrix24", entity=B24_ENTITY, writes=audit
            )
            await Store.resolve_errors(conn, ctx.flow, synced)

    async def _add_to_companies(
        self, ctx: RunContext, existing: list[tuple[Planned, int]]
    ) -> set[str]:
        """Add contacts to the contact lists of their companies; return failed Ref_Keys.

        Each company's list is read and written back with our contacts appended, so the
        contacts (and a contact's other companies) a person added in the CRM stay.
        """
        wanted: dict[int, list[tuple[Planned, int]]] = {}
        for item, contact_id in existing:
            for company_id in item.companies:
                wanted.setdefault(company_id, []).append((item, contact_id))
        if not wanted:
            return set()
        current: dict[int, list[dict[str, Any]]] = {}
        reads: Commands = {
            f"g{cid}": ("crm.company.contact.items.get", {"id": cid}) for cid in wanted
        }
        for key, rows in (await self.b24.read_batched(reads)).items():
            current[int(key[1:])] = [dict(row) for row in rows or []]
        writes: Commands = {}
        for company_id, members in wanted.items():
            items = current.get(company_id, [])
            have = {int(row["CONTACT_ID"]) for row in items}
            new = [cid for _item, cid in members if cid not in have]
            if new:
                keep = [
                    {k: row[k] for k in ("CONTACT_ID", "SORT", "IS_PRIMARY") if k in row}
                    for row in items
                ]
                writes[f"s{company_id}"] = (
                    "crm.company.contact.items.set",
                    {"id": company_id, "items": keep + [{"CONTACT_ID": c} for c in new]},
                )
        failed: set[str] = set()
        for batch in in_batches(writes):
            reply = await self.b24.batch(batch)
            for key, error in reply.errors.items():
                for item, _cid in wanted[int(key[1:])]:
                    if item.person.ref_key not in failed:
                        failed.add(item.person.ref_key)
                        await ctx.fail_record(
                            item.person.record_key,
                            _record_error(error, item.person),
                            payload=batch[key][1],
                            b24_key=f"company:{key[1:]}",
                        )
        return failed


def _record_error(error: Exception, person: ContactPerson) -> RecordError:
    if isinstance(error, RecordError):
        return Bitrix24RecordError(
            f"Bitrix24 refused {person.label}: {error.message}",
            hint="Check the value Bitrix24 names in the message (a required field, a user "
            "field, a permission); the record is retried on the next run.",
        )
    raise error
