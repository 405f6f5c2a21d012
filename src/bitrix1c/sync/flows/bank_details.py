"""1C bank accounts of counterparties → bank details of the company's requisite in Bitrix24.

Runs after the counterparties flow, which created the requisite (its id is on the
counterparty's link). Each account becomes one ``crm.requisite.bankdetail`` keyed by
``XML_ID`` = the account's Ref_Key, so a rerun (or a lost state store) updates instead of
adding a second one. The account number, BIK and correspondent account are validated
(lengths, control key against the BIK) before anything is written; bank details a person
entered in the CRM are left alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from bitrix1c.bitrix24.client import BATCH_LIMIT, Bitrix24Client, Commands
from bitrix1c.domain.requisites import (
    InvalidBankKey,
    validate_account,
    validate_account_number,
    validate_bik,
)
from bitrix1c.errors import Bitrix24RecordError, InvalidRecord, RecordError
from bitrix1c.onec.odata import ODataClient
from bitrix1c.onec.profiles import Concept, Profile
from bitrix1c.settings import CounterpartiesFlow
from bitrix1c.state.store import Link, Store
from bitrix1c.sync.engine import RunContext
from bitrix1c.sync.flows.contact_persons import NAMESPACE
from bitrix1c.sync.flows.counterparties import ENTITY as COUNTERPARTY

log = structlog.get_logger(__name__)

ENTITY = "bank_account"
B24_ENTITY = "bankdetail"
SLICE = 250
LOOKUP_REQUISITES = 20  # per list command: ≤ 50 bank details come back in one page


@dataclass(frozen=True)
class BankAccount:
    """A counterparty's bank account as the flow sees it."""

    base: str
    ref_key: str
    version: str
    owner: str  # the counterparty's Ref_Key
    client_owned: bool  # False for an organization's own account (БП) or a person's
    name: str
    number: str
    bik: str
    bank_name: str
    corr_account: str
    deletion_mark: bool
    closed: bool

    @property
    def record_key(self) -> str:
        """How errors and logs name this record: ``<base>:<Ref_Key>``."""
        return f"{self.base}:{self.ref_key}"

    @property
    def label(self) -> str:
        """How people recognize it: the number and the bank."""
        bank = f" in {self.bank_name}" if self.bank_name else ""
        return f"bank account {self.number or self.name!r}{bank} ({self.record_key})"


class BankAccountFields:
    """Where one configuration keeps counterparties' bank accounts (``bank_account``)."""

    def __init__(self, profile: Profile) -> None:
        self.concept: Concept = profile.concept("bank_account")
        self.client_type = f"{NAMESPACE}.{profile.concept('counterparty').entity_set}"

    def select(self) -> list[str]:
        """``$select`` list for reading bank accounts."""
        roles = ("owner", "owner_type", "number", "bik", "bank_name", "corr_account", "closed")
        names = [self.concept[r] for r in roles if self.concept.get(r)]
        return ["Ref_Key", "DataVersion", "DeletionMark", "Description", *names]

    def _text(self, row: Mapping[str, Any], role: str) -> str:
        name = self.concept.get(role)
        return "".join(str(row.get(name) or "").split()) if name else ""

    def to_domain(self, base: str, row: Mapping[str, Any]) -> BankAccount:
        """A 1C row as a :class:`BankAccount` (spaces removed from the numbers)."""
        owner_type = self.concept.get("owner_type")
        bank_name = self.concept.get("bank_name")
        closed = self.concept.get("closed")
        return BankAccount(
            base=base,
            ref_key=str(row["Ref_Key"]),
            version=str(row.get("DataVersion") or ""),
            owner=self._text(row, "owner"),
            client_owned=owner_type is None or row.get(owner_type) == self.client_type,
            name=str(row.get("Description") or "").strip(),
            number=self._text(row, "number"),
            bik=self._text(row, "bik"),
            bank_name=str(row.get(bank_name) or "").strip() if bank_name else "",
            corr_account=self._text(row, "corr_account"),
            deletion_mark=bool(row.get("DeletionMark")),
            closed=bool(row.get(closed)) if closed else False,
        )

    def invalid(self, account: BankAccount) -> RecordError | None:
        """The record error for a malformed number, BIK or correspondent account."""
        try:
            if self.concept.get("bik"):
                validate_bik(account.bik)
                validate_account(account.number, account.bik)
                if account.corr_account:
                    validate_account(account.corr_account, account.bik, correspondent=True)
            else:
                # БП keeps the BIK in Catalog_Банки: only the account's own form is checked.
                validate_account_number(account.number)
        except InvalidBankKey as exc:
            role = {"bik": "bik", "account": "number", "corr_account": "corr_account"}
            field = self.concept.get(role[exc.key_type]) or exc.key_type
            return InvalidRecord(
                f"{account.label}: {field} {exc.value!r} is invalid: {exc.reason}",
                hint="Correct the bank account in 1C (number, BIK, correspondent account); "
                "it syncs on the next run. Nothing is written to Bitrix24 until then.",
                field=field,
            )
        return None


def bankdetail_fields(account: BankAccount, requisite_id: int) -> dict[str, Any]:
    """The bank detail an account should have (empty bank attributes are left out)."""
    fields: dict[str, Any] = {
        "ENTITY_ID": requisite_id,
        "NAME": (account.name or account.number)[:255],
        "XML_ID": account.ref_key,
        "ACTIVE": "Y",
        "RQ_ACC_NUM": account.number,
    }
    optional = {
        "RQ_BIK": account.bik,
        "RQ_BANK_NAME": account.bank_name,
        "RQ_COR_ACC_NUM": account.corr_account,
    }
    fields.update({k: v for k, v in optional.items() if v})
    return fields


def payload_hash(fields: Mapping[str, Any]) -> str:
    """Stable hash of a bank detail's fields."""
    blob = json.dumps(fields, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class Planned:
    """What to do with one bank account."""

    account: BankAccount
    requisite_id: int
    fields: dict[str, Any]
    hash: str
    link: Link | None = None
    bankdetail_id: int | None = None  # None: add
    match_key: str = "created"


class BankDetailSync:
    """The bank accounts of one 1C base's counterparties → requisite bank details."""

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
        self.fields = BankAccountFields(profile)
        self.base = base
        self.settings = settings
        self.page_size = 500

    async def __call__(self, ctx: RunContext) -> None:
        async for page in self.onec.pages(
            self.fields.concept.entity_set, select=self.fields.select(), page_size=self.page_size
        ):
            for start in range(0, len(page), SLICE):
                await self.sync_rows(ctx, page[start : start + SLICE])

    async def sync_rows(self, ctx: RunContext, rows: Sequence[Mapping[str, Any]]) -> None:
        """Synchronize one slice of 1C bank accounts."""
        ctx.count("read", len(rows))
        accounts: list[BankAccount] = []
        for row in rows:
            account = self.fields.to_domain(self.base, row)
            if not account.client_owned or account.deletion_mark or account.closed:
                # An organization's own account is not a client's; a deletion-marked or
                # closed account is not written.
                ctx.count("skipped")
                continue
            problem = self.fields.invalid(account)
            if problem is not None:
                await ctx.fail_record(account.record_key, problem, payload=dict(row))
                continue
            accounts.append(account)
        if not accounts:
            return
        owners = await self.store.links_for(COUNTERPARTY, self.base, {a.owner for a in accounts})
        links = await self.store.links_for(ENTITY, self.base, (a.ref_key for a in accounts))
        todo: list[Planned] = []
        for account in accounts:
            owner = owners.get(account.owner)
            if owner is None or owner.b24_requisite_id is None:
                # The counterparty has no company/requisite yet (new, in review, invalid).
                ctx.count("skipped")
                log.info("bank_account.waits", record=account.record_key, owner=account.owner)
                continue
            fields = bankdetail_fields(account, owner.b24_requisite_id)
            digest = payload_hash(fields)
            link = links.get(account.ref_key)
            if link is not None and link.to_b24_hash == digest:
                ctx.count("skipped")
                continue
            todo.append(Planned(account, owner.b24_requisite_id, fields, digest, link=link))
        if not todo:
            return
        await self._match(todo)
        if ctx.dry_run:
            for item in todo:
                ctx.count("created" if item.bankdetail_id is None else "updated")
            return
        for start in range(0, len(todo), BATCH_LIMIT):
            await self._write(ctx, todo[start : start + BATCH_LIMIT])

    async def _match(self, todo: list[Planned]) -> None:
        """Find each account's bank detail: the linked id, else ``XML_ID`` on the requisite."""
        requisites = sorted({item.requisite_id for item in todo})
        commands: Commands = {}
        for n, start in enumerate(range(0, len(requisites), LOOKUP_REQUISITES)):
            commands[f"bd{n}"] = (
                "crm.requisite.bankdetail.list",
                {
                    "filter": {"@ENTITY_ID": requisites[start : start + LOOKUP_REQUISITES]},
                    "select": ["ID", "ENTITY_ID", "XML_ID"],
                },
            )
        rows: list[Mapping[str, Any]] = []
        for found in (await self.b24.read_batched(commands)).values():
            rows.extend(found or [])
        ids = {int(row["ID"]) for row in rows}
        by_xml = {
            (int(row["ENTITY_ID"]), str(row.get("XML_ID") or "")): int(row["ID"]) for row in rows
        }
        for item in todo:
            if item.link is not None and item.link.b24_id in ids:
                item.bankdetail_id, item.match_key = item.link.b24_id, item.link.match_key
            elif (item.requisite_id, item.account.ref_key) in by_xml:
                item.bankdetail_id = by_xml[(item.requisite_id, item.account.ref_key)]
                item.match_key = "xml_id"
            # else: never written, or deleted in the CRM since: added (again).

    async def _write(self, ctx: RunContext, chunk: list[Planned]) -> None:
        commands: Commands = {}
        for n, item in enumerate(chunk):
            if item.bankdetail_id is None:
                commands[f"b{n}"] = ("crm.requisite.bankdetail.add", {"fields": item.fields})
            else:
                # The requisite a detail belongs to is not moved by an update.
                fields = {k: v for k, v in item.fields.items() if k != "ENTITY_ID"}
                commands[f"b{n}"] = (
                    "crm.requisite.bankdetail.update",
                    {"id": item.bankdetail_id, "fields": fields},
                )
        reply = await self.b24.batch(commands)
        saved: list[Link] = []
        audit: list[tuple[str, str, Any, Any]] = []
        synced: list[str] = []
        for n, item in enumerate(chunk):
            key = f"b{n}"
            if key in reply.errors:
                await ctx.fail_record(
                    item.account.record_key,
                    _record_error(reply.errors[key], item.account),
                    payload=commands[key][1],
                    b24_key=f"requisite:{item.requisite_id}",
                )
                continue
            creates = item.bankdetail_id is None
            bankdetail_id = int(reply.results[key]) if creates else item.bankdetail_id
            assert bankdetail_id is not None
            saved.append(
                Link(
                    entity=ENTITY,
                    onec_base=self.base,
                    onec_ref=item.account.ref_key,
                    b24_entity=B24_ENTITY,
                    b24_id=bankdetail_id,
                    b24_requisite_id=item.requisite_id,
                    match_key=item.match_key,
                    onec_version=item.account.version,
                    to_b24_hash=item.hash,
                )
            )
            audit.append((str(bankdetail_id), "create" if creates else "update", None, item.fields))
            ctx.count("created" if creates else "updated")
            synced.append(item.account.record_key)
        async with self.store.transaction() as conn:
            for link in saved:
                await Store.save_link(conn, link)
            await Store.audit_writes(
                conn, run_id=ctx.run_id, system="bitrix24", entity=B24_ENTITY, writes=audit
            )
            await Store.resolve_errors(conn, ctx.flow, synced)


def _record_error(error: Exception, account: BankAccount) -> RecordError:
    if isinstance(error, RecordError):
        return Bitrix24RecordError(
            f"Bitrix24 refused {account.label}: {error.message}",
            hint="Check the value Bitrix24 names in the message; the record is retried on "
            "the next run.",
        )
    raise error
