"""Bitrix24 contacts created in the CRM → 1C contact persons of every linked counterparty.

Off by default, like :mod:`companies_to_onec`. A contact a manager creates in Bitrix24
(no ``ORIGINATOR_ID``: it did not come from 1C) and links to companies that are linked
to 1C counterparties becomes a contact person of each *owner* in 1C: in УТ 11 the owner
is the counterparty's partner (``Catalog_КонтактныеЛицаПартнеров``, ``Owner_Key``), so two
companies of one partner give one person; in БП 3.0 it is the counterparty itself
(``Catalog_КонтактныеЛица``, composite ``ОбъектВладелец`` + ``_Type``).

Dedup on the 1C side first: a person of that owner with one of the contact's phones,
else e-mails, else the same full name is linked, never duplicated. One Bitrix24 contact
then stands for several 1C persons, so nothing is written back to it (no ``ORIGIN_ID``):
the store keeps one link per 1C person (entity ``contact_person`` → ``contact``), which
is how the 1C → Bitrix24 contact-persons step finds the contact instead of creating one.

New contacts are found by id (a cursor over ids already looked at). The companies of a
contact are read from the company side (``crm.company.contact.items.get`` of every
company synced from this base), once per run and only when there is a new contact with
a company. A contact without a company linked to 1C yet — or with a record error — is
looked at again on later runs until a day has passed since its creation; looking again
writes nothing, because the dedup finds the persons created before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers
import structlog

from bitrix1c.bitrix24.client import Bitrix24Client, Commands
from bitrix1c.domain.phones import normalize_email, to_e164
from bitrix1c.errors import InvalidRecord, OneCRecordError, RecordError
from bitrix1c.onec.odata import ODataClient
from bitrix1c.onec.profiles import Profile
from bitrix1c.onec.query import EMPTY_REF, Query, cast, guid
from bitrix1c.settings import CounterpartiesFlow
from bitrix1c.state.store import Link, Store
from bitrix1c.sync.engine import RunContext
from bitrix1c.sync.flows.companies_to_onec import younger_than_a_day
from bitrix1c.sync.flows.contact_persons import (
    B24_ENTITY,
    CRM_MATCH,
    ENTITY,
    NAMESPACE,
    ContactPerson,
    ContactPersonFields,
)
from bitrix1c.sync.flows.counterparties import ENTITY as COUNTERPARTY

log = structlog.get_logger(__name__)

FLOW = "contacts_to_1c"
#: Match keys of the links this direction saves; the prefix tells them from the links
#: the 1C → Bitrix24 step made (those own the contact's ORIGIN_ID, these do not).
REFS_PER_QUERY = 20  # Ref_Key conditions joined with ``or`` in one 1C $filter
CONTACT_SELECT = (
    *("ID", "NAME", "LAST_NAME", "SECOND_NAME", "POST", "PHONE", "EMAIL"),
    *("ORIGINATOR_ID", "COMPANY_ID", "DATE_CREATE"),
)


@dataclass(frozen=True)
class CrmContact:
    """A contact as created in Bitrix24 (phones in E.164, e-mails normalized)."""

    id: int
    last_name: str
    first_name: str
    middle_name: str
    post: str
    phones: tuple[str, ...]
    emails: tuple[str, ...]

    @property
    def record_key(self) -> str:
        """How errors and logs name this record: ``bitrix24:contact:<id>``."""
        return f"bitrix24:contact:{self.id}"

    @property
    def full_name(self) -> str:
        """«Фамилия Имя Отчество», as 1C writes a person's Description."""
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)

    @property
    def label(self) -> str:
        """How people recognize it in a message."""
        return f"contact {self.full_name!r} (Bitrix24 {self.id})"

    def payload(self) -> dict[str, Any]:
        """What the error page shows of the contact."""
        return {
            "ID": self.id,
            "NAME": self.first_name,
            "LAST_NAME": self.last_name,
            "SECOND_NAME": self.middle_name,
            "POST": self.post,
            "PHONE": list(self.phones),
            "EMAIL": list(self.emails),
        }


def crm_contact(row: Mapping[str, Any]) -> CrmContact:
    """A ``crm.contact.list`` row as a :class:`CrmContact`."""

    def values(key: str) -> list[str]:
        return [str(item.get("VALUE") or "") for item in row.get(key) or []]

    phones = (to_e164(v) for v in values("PHONE"))
    emails = (normalize_email(v) for v in values("EMAIL"))
    return CrmContact(
        id=int(row["ID"]),
        last_name=str(row.get("LAST_NAME") or "").strip(),
        first_name=str(row.get("NAME") or "").strip(),
        middle_name=str(row.get("SECOND_NAME") or "").strip(),
        post=str(row.get("POST") or "").strip(),
        phones=tuple(dict.fromkeys(p for p in phones if p)),
        emails=tuple(dict.fromkeys(e for e in emails if e)),
    )


def name_key(*parts: str) -> str:
    """A full name compared the way people read it: case, ё/е and spacing aside."""
    return " ".join(" ".join(parts).casefold().replace("ё", "е").split())


def phone_row(phone: str, kind: str | None) -> dict[str, Any]:
    """A ``КонтактнаяИнформация`` row for an E.164 phone (the shape 1C writes)."""
    number = phonenumbers.parse(phone)
    country, national = str(number.country_code), str(number.national_number)
    value = {
        "value": phone,
        "comment": "",
        "type": "Телефон",
        "countryCode": country,
        "areaCode": "",
        "number": national,
        "extNumber": "",
    }
    row = {
        "Тип": "Телефон",
        "Представление": phone,
        "НомерТелефона": country + national,
        "НомерТелефонаБезКодов": national,
        "Значение": json.dumps(value, ensure_ascii=False),
    }
    return _with_kind(row, kind)


def email_row(email: str, kind: str | None) -> dict[str, Any]:
    """A ``КонтактнаяИнформация`` row for an e-mail address."""
    value = {"value": email, "comment": "", "type": "АдресЭлектроннойПочты"}
    row = {
        "Тип": "АдресЭлектроннойПочты",
        "Представление": email,
        "АдресЭП": email,
        "ДоменноеИмяСервера": email.rpartition("@")[2],
        "Значение": json.dumps(value, ensure_ascii=False),
    }
    return _with_kind(row, kind)


def _with_kind(row: dict[str, Any], kind: str | None) -> dict[str, Any]:
    if kind:
        return {**row, "Вид_Key": kind, "ВидДляСписка_Key": kind}
    return row


class ContactToOneC:
    """New Bitrix24 contacts → 1C contact persons, for one portal and one 1C base."""

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
        self.concept = self.fields.concept
        self.base = base
        self.settings = settings
        self.cursor_name = f"{FLOW}:{base}:after-id"
        # Per run: what was read once and is asked for again by the next contact.
        self._companies_of: dict[int, list[int]] = {}  # contact → its companies
        self._counterparty_of: dict[int, str] = {}  # company → its counterparty Ref_Key
        self._owner_of: dict[str, str] = {}  # counterparty → partner (УТ 11)
        self._people: dict[str, list[ContactPerson]] = {}  # owner → its persons
        self._kinds: dict[str, str] | None = None  # Тип → Вид_Key

    async def __call__(self, ctx: RunContext) -> None:
        after = int(await self.store.get_cursor(self.cursor_name) or 0)
        self._companies_of, self._counterparty_of, self._owner_of = {}, {}, {}
        self._people, self._kinds = {}, None
        bindings_read = False
        newest = after
        waiting: list[int] = []  # young contacts to look at again next run
        async for page in self.b24.list_fast(
            "crm.contact.list", select=CONTACT_SELECT, after=after
        ):
            ctx.count("read", len(page))
            fresh = [row for row in page if not row.get("ORIGINATOR_ID")]
            ctx.count("skipped", len(page) - len(fresh))  # came from 1C (or another system)
            if not bindings_read and any(row.get("COMPANY_ID") for row in fresh):
                await self._read_bindings(after)
                bindings_read = True
            for row in fresh:
                done = await self._one(ctx, crm_contact(row))
                if not done and younger_than_a_day(str(row.get("DATE_CREATE") or "")):
                    waiting.append(int(row["ID"]))
            newest = int(page[-1]["ID"])
        if waiting:
            newest = min(waiting) - 1
        if newest != after and not ctx.dry_run:
            async with self.store.transaction() as conn:
                await Store.set_cursor(conn, self.cursor_name, str(newest))

    # --- reading ----------------------------------------------------------------------------

    async def _read_bindings(self, after: int) -> None:
        """Contacts newer than ``after`` → the companies synced from this base they belong to."""
        async for page in self.b24.list_fast(
            "crm.company.list", filter={"ORIGINATOR_ID": self.base}, select=("ID",)
        ):
            links = await self.store.links_to_b24("company", (int(r["ID"]) for r in page))
            for company_id, link in links.items():
                if link.entity == COUNTERPARTY and link.onec_base == self.base:
                    self._counterparty_of[company_id] = link.onec_ref
            commands: Commands = {
                f"g{cid}": ("crm.company.contact.items.get", {"id": cid})
                for cid in (int(r["ID"]) for r in page)
                if cid in self._counterparty_of
            }
            for key, items in (await self.b24.read_batched(commands)).items():
                for item in items or []:
                    contact_id = int(item["CONTACT_ID"])
                    if contact_id > after:
                        self._companies_of.setdefault(contact_id, []).append(int(key[1:]))

    async def _owners(self, refs: Sequence[str]) -> list[str]:
        """The distinct owners of contact persons for these counterparties, in order."""
        partner = self.fields.partner_of_counterparty
        if partner is None:  # БП 3.0: the counterparty owns its people
            return list(dict.fromkeys(refs))
        unknown = [ref for ref in refs if ref not in self._owner_of]
        for start in range(0, len(unknown), REFS_PER_QUERY):
            chunk = unknown[start : start + REFS_PER_QUERY]
            rows = await self.onec.query(
                self.fields.counterparty_set,
                Query(
                    select=("Ref_Key", partner),
                    filter=" or ".join(f"Ref_Key eq {guid(ref)}" for ref in chunk),
                ),
            )
            for row in rows:
                self._owner_of[str(row["Ref_Key"])] = str(row.get(partner) or EMPTY_REF)
        owners = (self._owner_of.get(ref, EMPTY_REF) for ref in refs)
        return list(dict.fromkeys(o for o in owners if o != EMPTY_REF))

    async def _people_of(self, owner: str) -> list[ContactPerson]:
        """The owner's contact persons in 1C that are not marked for deletion."""
        if owner not in self._people:
            if self.concept.get("owner_type"):
                condition = f"{self.concept['owner']} eq {cast(owner, self.fields.client_type)}"
            else:
                condition = f"{self.concept['owner']} eq {guid(owner)}"
            people: list[ContactPerson] = []
            async for page in self.onec.pages(
                self.concept.entity_set,
                select=self.fields.select(),
                filter=f"{condition} and DeletionMark eq false",
            ):
                people += [self.fields.to_domain(self.base, row) for row in page]
            self._people[owner] = people
        return self._people[owner]

    async def _contact_info_kinds(self) -> dict[str, str]:
        """``Вид_Key`` the base gives its contact persons' phones and e-mails, by ``Тип``.

        The kinds are predefined items of ``Catalog_ВидыКонтактнойИнформации``, which a
        base need not publish over OData: they are taken from persons already in the base.
        """
        if self._kinds is None:
            self._kinds = {}
            info = self.concept["contact_info"]
            rows = await self.onec.query(
                self.concept.entity_set, Query(select=(info,), top=50, orderby=("Ref_Key",))
            )
            for row in rows:
                for line in row.get(info) or []:
                    kind = str(line.get("Вид_Key") or "")
                    if kind and kind != EMPTY_REF:
                        self._kinds.setdefault(str(line.get("Тип") or ""), kind)
        return self._kinds

    # --- one contact ------------------------------------------------------------------------

    async def _one(self, ctx: RunContext, contact: CrmContact) -> bool:
        """Sync one contact; False when it waits (no company in 1C yet) or failed."""
        companies = [
            c for c in self._companies_of.get(contact.id, []) if c in self._counterparty_of
        ]
        if not companies:
            ctx.count("skipped")
            log.info("contact.to_1c.waits", flow=FLOW, contact=contact.id)
            return False
        if not (contact.last_name or contact.first_name):
            await ctx.fail_record(
                contact.record_key,
                InvalidRecord(
                    f"{contact.label}: the name is empty",
                    hint="Fill in the contact's name in Bitrix24; it is looked at again on "
                    "the next run. Nothing is written to 1C until then.",
                    field="NAME",
                ),
                payload=contact.payload(),
            )
            return False
        owners = await self._owners([self._counterparty_of[c] for c in companies])
        done = True
        for owner in owners:
            done = await self._for_owner(ctx, contact, owner) and done
        if done and not ctx.dry_run:
            # Only a contact done for every owner leaves the error page.
            async with self.store.transaction() as conn:
                await Store.resolve_errors(conn, ctx.flow, [contact.record_key])
        return done

    async def _for_owner(self, ctx: RunContext, contact: CrmContact, owner: str) -> bool:
        """Link or create the contact person of ``owner``; False on a record error."""
        people = await self._people_of(owner)
        key, found = _match(contact, people)
        if len(found) > 1:
            names = ", ".join(f"{p.label}" for p in found)
            await ctx.fail_record(
                contact.record_key,
                InvalidRecord(
                    f"{contact.label}: its {key} is on {len(found)} contact persons of 1C "
                    f"owner {owner}: {names}",
                    hint="Duplicates inside 1C: mark the extra contact persons for deletion "
                    "in 1C. Nothing is linked or created until one is left.",
                    field=_FIELD_OF[key],
                ),
                payload=contact.payload(),
            )
            return False
        if found:
            person = found[0]
            linked = (await self.store.links_for(ENTITY, self.base, [person.ref_key])).get(
                person.ref_key
            )
            if linked is not None and linked.b24_id == contact.id:
                ctx.count("skipped")
                return True
            if linked is not None:
                await ctx.fail_record(
                    contact.record_key,
                    InvalidRecord(
                        f"{contact.label} duplicates contact {linked.b24_id}: its {key} is "
                        f"that of 1C {person.label}, already synced with contact "
                        f"{linked.b24_id}",
                        hint=f"A duplicate inside Bitrix24: merge the two contacts in the CRM "
                        f"(keep {linked.b24_id}). Nothing is written to 1C.",
                        field=_FIELD_OF[key],
                    ),
                    payload=contact.payload(),
                )
                return False
            if ctx.dry_run:
                ctx.count("updated")
                return True
            await self._save(ctx, contact, person.ref_key, f"{CRM_MATCH}{key}", "link")
            ctx.count("updated")
            return True
        if ctx.dry_run:
            ctx.count("created")
            return True
        fields = await self._person_fields(contact, owner)
        try:
            created = await self.onec.create(self.concept.entity_set, fields)
        except OneCRecordError as exc:
            await ctx.fail_record(
                contact.record_key,
                _refused(exc, contact),
                payload=fields,
            )
            return False
        ref = str(created["Ref_Key"])
        people.append(self.fields.to_domain(self.base, created))
        await self._save(ctx, contact, ref, f"{CRM_MATCH}created", "create")
        ctx.count("created")
        return True

    async def _person_fields(self, contact: CrmContact, owner: str) -> dict[str, Any]:
        """The new contact person's fields in this configuration."""
        concept = self.concept
        kinds = await self._contact_info_kinds()
        rows = [phone_row(p, kinds.get("Телефон")) for p in contact.phones]
        rows += [email_row(e, kinds.get("АдресЭлектроннойПочты")) for e in contact.emails]
        fields: dict[str, Any] = {
            "Description": contact.full_name[:100],
            concept["owner"]: owner,
            concept["contact_info"]: rows,
        }
        if concept.get("owner_type"):
            fields[concept["owner_type"]] = f"{NAMESPACE}.{self.fields.counterparty_set}"
        names = (
            ("last_name", contact.last_name),
            ("first_name", contact.first_name),
            ("middle_name", contact.middle_name),
            ("position", contact.post),
        )
        for role, value in names:
            if concept.get(role):
                fields[concept[role]] = value
        return fields

    async def _save(
        self, ctx: RunContext, contact: CrmContact, ref: str, match_key: str, op: str
    ) -> None:
        async with self.store.transaction() as conn:
            await Store.save_link(
                conn,
                Link(
                    entity=ENTITY,
                    onec_base=self.base,
                    onec_ref=ref,
                    b24_entity=B24_ENTITY,
                    b24_id=contact.id,
                    match_key=match_key,
                    onec_version=None,
                    to_b24_hash=None,  # the 1C → Bitrix24 step writes it in full next
                ),
            )
            await Store.audit_writes(
                conn,
                run_id=ctx.run_id,
                system=f"1c:{self.base}",
                entity=self.concept.entity_set,
                writes=[(ref, op, None, {"contact": contact.id, "name": contact.full_name})],
            )
        log.info("contact.to_1c", flow=FLOW, contact=contact.id, ref=ref, op=op)


_FIELD_OF = {"phone": "PHONE", "email": "EMAIL", "name": "NAME"}


def _match(contact: CrmContact, people: Sequence[ContactPerson]) -> tuple[str, list[ContactPerson]]:
    """The owner's persons that are this contact: by phone, else e-mail, else full name."""
    by_phone = [p for p in people if set(p.phones) & set(contact.phones)]
    if by_phone:
        return "phone", by_phone
    by_email = [p for p in people if set(p.emails) & set(contact.emails)]
    if by_email:
        return "email", by_email
    wanted = name_key(contact.last_name, contact.first_name, contact.middle_name)
    return "name", [
        p for p in people if name_key(p.last_name, p.first_name, p.middle_name) == wanted
    ]


def _refused(error: OneCRecordError, contact: CrmContact) -> RecordError:
    return OneCRecordError(
        f"1C refused the contact person for {contact.label}: {error.message}",
        hint="Check the attribute 1C names in the message (a required one, a phone or "
        "e-mail it cannot read) and correct it on the contact in Bitrix24; the contact is "
        "looked at again on the next run.",
        base=error.base,
        url=error.url,
        status=error.status,
    )
