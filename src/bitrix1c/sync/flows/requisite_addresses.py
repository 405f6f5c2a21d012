"""1C counterparty addresses → addresses of the company's requisite in Bitrix24.

Runs after the counterparties flow, which created the requisite (its id is on the
counterparty's link). 1C keeps addresses as rows of the counterparty's contact
information (``Тип`` = ``Адрес``); the row's kind (``Вид_Key``: legal, actual, postal …)
decides the Bitrix24 address type (``crm.enum.addresstype``: 6 legal, 1 actual, 8 for
correspondence …) through the configured ``kinds`` map, because kind GUIDs differ from
base to base. A Bitrix24 address has no id of its own: it is the address of one type of
one requisite, so the flow looks up what the requisite has and updates that type instead
of adding a second one. Types 1C does not fill are left alone: a person may have typed
them in the CRM.

What 1C gives: the one-line ``Представление`` goes to ``ADDRESS_1``; the row's own
``Город``, ``Регион`` and ``Страна`` columns (reference/onec/objects, ``КонтактнаяИнформация``)
go to ``CITY``, ``PROVINCE`` and ``COUNTRY`` when filled. The structured ``Значение`` /
``ЗначенияПолей`` payloads are not described in the reference and are not parsed, so no
postal code is written.

One link per counterparty keeps the hash of all its addresses: an unchanged counterparty
costs no Bitrix24 call on a rerun.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import structlog

from bitrix1c.bitrix24.client import Bitrix24Client, Commands, in_batches
from bitrix1c.errors import Bitrix24RecordError, RecordError
from bitrix1c.onec.odata import ODataClient
from bitrix1c.onec.profiles import Profile
from bitrix1c.state.store import Link, Store
from bitrix1c.sync.engine import RunContext
from bitrix1c.sync.flows.counterparties import ENTITY as COUNTERPARTY

log = structlog.get_logger(__name__)

ENTITY = "requisite_address"
B24_ENTITY = "requisite"
REQUISITE_OWNER = 8  # crm.address ENTITY_TYPE_ID of a requisite (bitrix24.md §6.1)
SLICE = 250
LOOKUP_REQUISITES = 8  # per list command: ≤ 6 address types each fit one 50-row page
ADDRESS_ROW_TYPE = "Адрес"  # Тип of an address row (ТипыКонтактнойИнформации)

#: Bitrix24 address types (reference crm.enum.addresstype.json) by ID, for messages.
ADDRESS_TYPE_NAMES: dict[int, str] = {
    11: "Адрес доставки",
    1: "Фактический адрес",
    6: "Юридический адрес",
    4: "Адрес регистрации",
    8: "Адрес для корреспонденции",
    9: "Адрес бенефициара",
}


@dataclass(frozen=True)
class Address:
    """One 1C address row as the Bitrix24 address of one type."""

    type_id: int
    text: str  # Представление
    city: str
    province: str
    country: str
    row: Mapping[str, Any] = field(hash=False, compare=False)  # the 1C row, for errors

    def fields(self) -> dict[str, str]:
        """The Bitrix24 fields 1C owns (empty ones are written empty so stale values go)."""
        return {
            "ADDRESS_1": self.text,
            "CITY": self.city,
            "PROVINCE": self.province,
            "COUNTRY": self.country,
        }


@dataclass(frozen=True)
class CounterpartyAddresses:
    """The addresses of one counterparty, one per Bitrix24 type."""

    base: str
    ref_key: str
    version: str
    addresses: tuple[Address, ...]

    @property
    def record_key(self) -> str:
        """How logs name the counterparty: ``<base>:<Ref_Key>``."""
        return f"{self.base}:{self.ref_key}"

    def address_key(self, address: Address) -> str:
        """How errors name one of its addresses: ``<base>:<Ref_Key>:address:<TYPE_ID>``."""
        return f"{self.record_key}:address:{address.type_id}"


def read_addresses(
    base: str,
    row: Mapping[str, Any],
    contact_info: str,
    kinds: Mapping[str, int],
    today: date | None = None,
) -> CounterpartyAddresses:
    """The current address of each mapped kind of a 1C counterparty row.

    A kind whose changes 1C keeps as history has one row per version, each valid from its
    ``ДействуетС`` (УТ 11): the latest one that is already valid wins; rows without the
    column (БП 3.0) count as valid since ever, and the first of equals wins.
    """
    cutoff = (today or date.today()).isoformat()
    found: dict[int, tuple[str, Address]] = {}
    for line in row.get(contact_info) or []:
        if line.get("Тип") != ADDRESS_ROW_TYPE:
            continue
        type_id = kinds.get(str(line.get("Вид_Key") or "").lower())
        text = " ".join(str(line.get("Представление") or "").split())
        valid_from = str(line.get("ДействуетС") or "")[:10]
        if type_id is None or not text or valid_from > cutoff:
            continue
        if type_id in found and found[type_id][0] >= valid_from:
            continue
        found[type_id] = (
            valid_from,
            Address(
                type_id=type_id,
                text=text,
                city=str(line.get("Город") or "").strip(),
                province=str(line.get("Регион") or "").strip(),
                country=str(line.get("Страна") or "").strip(),
                row=line,
            ),
        )
    return CounterpartyAddresses(
        base=base,
        ref_key=str(row["Ref_Key"]),
        version=str(row.get("DataVersion") or ""),
        addresses=tuple(found[t][1] for t in sorted(found)),
    )


def payload_hash(requisite_id: int, addresses: Sequence[Address]) -> str:
    """Stable hash of what a counterparty's addresses should be on its requisite."""
    blob = json.dumps(
        {"requisite": requisite_id, "addresses": {str(a.type_id): a.fields() for a in addresses}},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class Planned:
    """What to do with one counterparty's addresses."""

    item: CounterpartyAddresses
    requisite_id: int
    hash: str
    writes: list[tuple[Address, str]] = field(default_factory=list)  # (address, add|update)


class RequisiteAddressSync:
    """The addresses of one 1C base's counterparties → addresses of their requisites."""

    def __init__(
        self,
        *,
        store: Store,
        bitrix24: Bitrix24Client,
        onec: ODataClient,
        profile: Profile,
        base: str,
        kinds: Mapping[str, int],
    ) -> None:
        """Build the step.

        Args:
            store: the state store (counterparty links, this step's links).
            bitrix24: the portal client.
            onec: the 1C base's OData client.
            profile: the base's configuration profile (where counterparties live).
            base: the 1C base's name.
            kinds: ``Вид_Key`` of a 1C address kind → Bitrix24 address ``TYPE_ID``;
                address rows of other kinds are not synced.
        """
        unknown = sorted(set(kinds.values()) - set(ADDRESS_TYPE_NAMES))
        if unknown:
            raise ValueError(f"not Bitrix24 address types: {unknown}")
        self.store = store
        self.b24 = bitrix24
        self.onec = onec
        self.counterparty = profile.counterparty
        self.base = base
        self.kinds = {key.lower(): type_id for key, type_id in kinds.items()}
        self.page_size = 500

    async def __call__(self, ctx: RunContext) -> None:
        contact_info = self.counterparty.contact_info
        if not self.kinds or "contact_info" in self.counterparty.omitted:
            return  # nothing mapped, or the base does not publish contact information
        async for page in self.onec.pages(
            self.counterparty.entity_set,
            select=["Ref_Key", "DataVersion", "DeletionMark", contact_info],
            page_size=self.page_size,
        ):
            for start in range(0, len(page), SLICE):
                await self.sync_rows(ctx, page[start : start + SLICE])

    async def sync_rows(self, ctx: RunContext, rows: Sequence[Mapping[str, Any]]) -> None:
        """Synchronize the addresses of one slice of 1C counterparties."""
        ctx.count("read", len(rows))
        items = [
            read_addresses(self.base, row, self.counterparty.contact_info, self.kinds)
            for row in rows
            if not row.get("DeletionMark")  # a marked counterparty's company is left as is
        ]
        ctx.count("skipped", len(rows) - len(items))
        refs = {item.ref_key for item in items}
        owners = await self.store.links_for(COUNTERPARTY, self.base, refs)
        links = await self.store.links_for(ENTITY, self.base, refs)
        todo: list[Planned] = []
        for item in items:
            owner = owners.get(item.ref_key)
            if not item.addresses or owner is None or owner.b24_requisite_id is None:
                # No address to sync, or no requisite yet (new, in review, invalid).
                ctx.count("skipped")
                continue
            digest = payload_hash(owner.b24_requisite_id, item.addresses)
            link = links.get(item.ref_key)
            if link is not None and link.to_b24_hash == digest:
                ctx.count("skipped")
                continue
            todo.append(Planned(item, owner.b24_requisite_id, digest))
        if not todo:
            return
        await self._plan(todo)
        if ctx.dry_run:
            for plan in todo:
                for _address, action in plan.writes:
                    ctx.count("created" if action == "add" else "updated")
            return
        await self._write(ctx, todo)

    async def _plan(self, todo: list[Planned]) -> None:
        """Compare with the requisites' addresses: add a missing type, update a changed one."""
        requisites = sorted({plan.requisite_id for plan in todo})
        commands: Commands = {}
        for n, start in enumerate(range(0, len(requisites), LOOKUP_REQUISITES)):
            commands[f"a{n}"] = (
                "crm.address.list",
                {
                    "filter": {
                        "ENTITY_TYPE_ID": REQUISITE_OWNER,
                        "@ENTITY_ID": requisites[start : start + LOOKUP_REQUISITES],
                    },
                    "select": ["TYPE_ID", "ENTITY_ID", "ADDRESS_1", "CITY", "PROVINCE", "COUNTRY"],
                },
            )
        rows: list[Mapping[str, Any]] = []
        for found in (await self.b24.read_batched(commands)).values():
            rows.extend(found or [])
        current = {(int(row["ENTITY_ID"]), int(row["TYPE_ID"])): row for row in rows}
        for plan in todo:
            for address in plan.item.addresses:
                existing = current.get((plan.requisite_id, address.type_id))
                if existing is None:
                    plan.writes.append((address, "add"))
                elif any((existing.get(k) or "") != v for k, v in address.fields().items()):
                    plan.writes.append((address, "update"))
                # else: Bitrix24 already shows what 1C has (a lost state store, say).

    async def _write(self, ctx: RunContext, todo: list[Planned]) -> None:
        commands: Commands = {}
        owner_of: dict[str, tuple[Planned, Address]] = {}
        for plan in todo:
            for address, action in plan.writes:
                key = f"w{len(commands)}"
                fields = {
                    "TYPE_ID": address.type_id,
                    "ENTITY_TYPE_ID": REQUISITE_OWNER,
                    "ENTITY_ID": plan.requisite_id,
                    **address.fields(),
                }
                commands[key] = (f"crm.address.{action}", {"fields": fields})
                owner_of[key] = (plan, address)
        failed: set[str] = set()
        audit: list[tuple[str, str, Any, Any]] = []
        synced: list[str] = []
        for batch in in_batches(commands):
            reply = await self.b24.batch(batch)
            for key, (method, params) in batch.items():
                plan, address = owner_of[key]
                if key in reply.errors:
                    failed.add(plan.item.ref_key)
                    await ctx.fail_record(
                        plan.item.address_key(address),
                        self._record_error(reply.errors[key], plan.item, address),
                        payload=dict(address.row),
                        b24_key=f"requisite:{plan.requisite_id}",
                    )
                    continue
                creates = method.endswith(".add")
                ctx.count("created" if creates else "updated")
                fields = (params or {})["fields"]
                audit.append(
                    (
                        f"{plan.requisite_id}:{address.type_id}",
                        "create" if creates else "update",
                        None,
                        fields,
                    )
                )
                synced.append(plan.item.address_key(address))
        saved = [
            Link(
                entity=ENTITY,
                onec_base=self.base,
                onec_ref=plan.item.ref_key,
                b24_entity=B24_ENTITY,
                b24_id=plan.requisite_id,
                b24_requisite_id=plan.requisite_id,
                match_key="requisite",
                onec_version=plan.item.version,
                to_b24_hash=plan.hash,
            )
            for plan in todo
            if plan.item.ref_key not in failed  # a failed address is retried next run
        ]
        async with self.store.transaction() as conn:
            for link in saved:
                await Store.save_link(conn, link)
            await Store.audit_writes(
                conn, run_id=ctx.run_id, system="bitrix24", entity="address", writes=audit
            )
            await Store.resolve_errors(conn, ctx.flow, synced)

    def _record_error(
        self, error: Exception, item: CounterpartyAddresses, address: Address
    ) -> RecordError:
        if isinstance(error, RecordError):
            kind = ADDRESS_TYPE_NAMES[address.type_id]
            return Bitrix24RecordError(
                f"Bitrix24 refused the {kind!r} (TYPE_ID {address.type_id}) of counterparty "
                f"{item.record_key}, {self.counterparty.contact_info}/Представление "
                f"{address.text!r}: {error.message}",
                hint="Check the address in 1C against the value Bitrix24 names in the "
                "message; the address is retried on the next run.",
                field=f"{self.counterparty.contact_info}/Представление",
            )
        raise error
