"""1C counterparties → Bitrix24 companies with a requisite, phones and e-mails.

Per page of 1C records: validate keys, skip what has not changed since the last write
(payload hash in the link table), look the rest up in Bitrix24 in one batch (1C id on the
company, then INN(+KPP) on requisites), then write creates and updates in batches of 50
commands (a company and its requisite always travel in the same batch, the requisite
pointing at ``$result[…]`` of its company) and commit links, hashes and audit together.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from bitrix1c.bitrix24.client import BATCH_LIMIT, Bitrix24Client
from bitrix1c.domain.counterparty import Counterparty
from bitrix1c.domain.phones import normalize_email, to_e164
from bitrix1c.domain.requisites import InvalidKey, validate_inn, validate_kpp
from bitrix1c.errors import Bitrix24RecordError, InvalidRecord, RecordError
from bitrix1c.onec.odata import ODataClient
from bitrix1c.onec.profiles import Profile
from bitrix1c.settings import CounterpartiesFlow
from bitrix1c.state.store import Link, Store
from bitrix1c.sync.engine import RunContext
from bitrix1c.sync.matching import Match, RequisiteRow, match_by_inn

log = structlog.get_logger(__name__)

FLOW = "counterparties"
ENTITY = "counterparty"
COMPANY_SELECT = ["ID", "TITLE", "ORIGINATOR_ID", "ORIGIN_ID", "PHONE", "EMAIL"]
REQUISITE_SELECT = ["ID", "ENTITY_ID", "RQ_INN", "RQ_KPP", "XML_ID", "PRESET_ID"]


# --- mapping --------------------------------------------------------------------------------


def _person_name(name: str) -> dict[str, str]:
    words = name.replace("ИП ", "", 1).split() if name.startswith("ИП ") else name.split()
    keys = ("RQ_LAST_NAME", "RQ_FIRST_NAME", "RQ_SECOND_NAME")
    return {key: word for key, word in zip(keys, words, strict=False)}


def requisite_fields(cp: Counterparty, presets: Mapping[str, int]) -> dict[str, Any]:
    """The requisite a counterparty should have in Bitrix24."""
    fields: dict[str, Any] = {
        "PRESET_ID": presets[cp.kind],
        "NAME": cp.name[:255],
        "XML_ID": cp.ref_key,
        "ACTIVE": "Y",
        "RQ_INN": cp.inn,
    }
    if cp.kind == "legal":
        fields.update(
            RQ_KPP=cp.kpp,
            RQ_COMPANY_NAME=cp.name,
            RQ_COMPANY_FULL_NAME=cp.full_name,
            RQ_OKPO=cp.okpo,
        )
    else:
        fields.update(_person_name(cp.name))
    return fields


def company_fields(cp: Counterparty, assigned_by_id: int | None) -> dict[str, Any]:
    """The company fields 1C owns (multi-fields are merged separately)."""
    fields: dict[str, Any] = {
        "TITLE": cp.name,
        "ORIGINATOR_ID": cp.base,
        "ORIGIN_ID": cp.ref_key,
    }
    if assigned_by_id is not None:
        fields["ASSIGNED_BY_ID"] = assigned_by_id
    return fields


def payload_hash(company: Mapping[str, Any], requisite: Mapping[str, Any], cp: Counterparty) -> str:
    """Stable hash of everything we write for a counterparty."""
    blob = json.dumps(
        {"company": company, "requisite": requisite, "phones": cp.phones, "emails": cp.emails},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def new_multifields(
    wanted: Sequence[str], current: Iterable[Mapping[str, Any]], normalize: Any
) -> list[dict[str, str]]:
    """Values of ``wanted`` not yet on the record (existing CRM values are kept)."""
    have = {normalize(item.get("VALUE") or "") for item in current}
    return [{"VALUE": value, "VALUE_TYPE": "WORK"} for value in wanted if value not in have]


# --- planning ---------------------------------------------------------------------------------


@dataclass
class Planned:
    """What to do with one counterparty."""

    cp: Counterparty
    match: Match
    company: dict[str, Any]
    requisite: dict[str, Any]
    hash: str
    link: Link | None = None
    requisite_id: int | None = None  # existing requisite to update
    extra_company: dict[str, Any] = field(default_factory=dict)  # PHONE/EMAIL additions

    @property
    def creates(self) -> bool:
        return self.match.company_id is None


class CounterpartySync:
    """The counterparties flow for one 1C base and one portal."""

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
        self.page_size = 500
        self._keys_this_run: dict[str, str] = {}

    async def __call__(self, ctx: RunContext) -> None:
        total = await self.onec.count(self.fields.entity_set)
        ctx.progress(0, total)
        done = 0
        async for page in self.onec.pages(
            self.fields.entity_set, select=self.fields.select(), page_size=self.page_size
        ):
            for start in range(0, len(page), 250):
                rows = page[start : start + 250]
                await self.sync_rows(ctx, rows)
                done += len(rows)
                ctx.progress(done, total)

    async def sync_rows(self, ctx: RunContext, rows: Sequence[Mapping[str, Any]]) -> None:
        """Synchronize one slice of 1C rows."""
        ctx.count("read", len(rows))
        valid: list[Counterparty] = []
        for row in rows:
            cp = self.fields.to_domain(self.base, row)
            if cp.deletion_mark or cp.predefined:
                # Deletion-marked and predefined items (УТ's "Розничный покупатель") are
                # not clients to put into the CRM.
                ctx.count("skipped")
                continue
            problem = self._invalid_keys(cp)
            if problem is not None:
                await ctx.fail_record(cp.record_key, problem, payload=dict(row))
                continue
            valid.append(cp)
        if not valid:
            return
        links = await self.store.links_for(ENTITY, self.base, (cp.ref_key for cp in valid))
        todo: list[Planned] = []
        for cp in valid:
            company = company_fields(cp, self.settings.assigned_by_id)
            requisite = requisite_fields(cp, self.presets)
            digest = payload_hash(company, requisite, cp)
            link = links.get(cp.ref_key)
            if link is not None and link.to_b24_hash == digest:
                ctx.count("skipped")
                continue
            match = Match("link", company_id=link.b24_id) if link else Match("none")
            todo.append(Planned(cp, match, company, requisite, digest, link=link))
        if not todo:
            return
        await self._match(todo)
        ready: list[Planned] = []
        for item in todo:
            if item.match.kind == "ambiguous":
                await ctx.fail_record(
                    item.cp.record_key, self._ambiguous(item), payload=item.requisite
                )
                continue
            key = self._identity(item.cp)
            earlier = self._keys_this_run.get(key) if key else None
            if earlier and earlier != item.cp.ref_key:
                await ctx.fail_record(
                    item.cp.record_key,
                    InvalidRecord(
                        f"counterparty {item.cp.label} has the same {key} as 1C record {earlier}",
                        hint="Two 1C counterparties carry the same INN/KPP: mark the duplicate "
                        "for deletion in 1C or correct its KPP.",
                    ),
                    payload=item.requisite,
                )
                continue
            if key:
                self._keys_this_run[key] = item.cp.ref_key
            ready.append(item)
        await self._load_current(ready)
        if ctx.dry_run:
            for item in ready:
                ctx.count("created" if item.creates else "updated")
            return
        for chunk in _chunks_by_commands(ready):
            await self._write(ctx, chunk)

    # --- validation -----------------------------------------------------------------------

    @staticmethod
    def _invalid_keys(cp: Counterparty) -> RecordError | None:
        try:
            if cp.inn:
                validate_inn(cp.inn)
                if cp.kind == "legal" and len(cp.inn) != 10:
                    raise InvalidKey("inn", cp.inn, "a legal entity's INN has 10 digits")
                if cp.kind != "legal" and len(cp.inn) != 12:
                    raise InvalidKey(
                        "inn", cp.inn, "a sole proprietor's or person's INN has 12 digits"
                    )
            elif cp.kind != "individual":
                raise InvalidKey("inn", cp.inn, "INN is empty")
            if cp.kind == "legal" and cp.kpp:
                validate_kpp(cp.kpp)
        except InvalidKey as exc:
            return InvalidRecord(
                f"counterparty {cp.name!r} ({cp.record_key}): {exc.key_type.upper()} "
                f"{exc.value!r} is invalid: {exc.reason}",
                hint="Correct the INN/KPP of this counterparty in 1C; it syncs on the next run. "
                "It is not matched or created until then, so no duplicate appears.",
                field=exc.key_type,
            )
        return None

    @staticmethod
    def _identity(cp: Counterparty) -> str | None:
        if not cp.inn:
            return None
        return f"INN {cp.inn}/KPP {cp.kpp}" if cp.kind == "legal" else f"INN {cp.inn}"

    def _ambiguous(self, item: Planned) -> RecordError:
        ids = ", ".join(str(i) for i in item.match.candidates)
        return InvalidRecord(
            f"counterparty {item.cp.label}: several Bitrix24 companies match or the match is "
            f"already linked to another 1C record (companies {ids})",
            hint="Merge the duplicate companies in Bitrix24 or remove the duplicate counterparty "
            "in 1C; bitrix1c never merges them on its own.",
            candidates=item.match.candidates,
        )

    # --- lookups --------------------------------------------------------------------------

    async def _match(self, todo: list[Planned]) -> None:
        unlinked = [item for item in todo if item.link is None]
        if not unlinked:
            return
        commands: dict[str, tuple[str, Mapping[str, Any] | None]] = {}
        for n, part in enumerate(_slices(unlinked, 50)):
            commands[f"origin{n}"] = (
                "crm.company.list",
                {
                    "filter": {
                        "ORIGINATOR_ID": self.base,
                        "@ORIGIN_ID": [item.cp.ref_key for item in part],
                    },
                    "select": ["ID", "ORIGIN_ID"],
                },
            )
            inns = sorted({item.cp.inn for item in part if item.cp.inn})
            if inns:
                commands[f"inn{n}"] = (
                    "crm.requisite.list",
                    {"filter": {"ENTITY_TYPE_ID": 4, "@RQ_INN": inns}, "select": REQUISITE_SELECT},
                )
        by_origin: dict[str, int] = {}
        requisites: list[RequisiteRow] = []
        for batch in _batches(commands):
            reply = await self.b24.batch(batch)
            if reply.errors:
                raise next(iter(reply.errors.values()))
            for key, result in reply.results.items():
                if key.startswith("origin"):
                    for row in result or []:
                        by_origin.setdefault(str(row["ORIGIN_ID"]), int(row["ID"]))
                else:
                    requisites.extend(RequisiteRow.from_api(r) for r in result or [])
                    if key in reply.nexts:  # more than one page for these INNs
                        requisites.extend(
                            await self._more_requisites(batch[key][1], reply.nexts[key])
                        )
        taken_ids = {r.company_id for r in requisites}
        taken = {
            company_id: link.onec_ref
            for company_id, link in (await self.store.links_to_b24("company", taken_ids)).items()
        }
        for item in unlinked:
            if item.cp.ref_key in by_origin:
                item.match = Match("origin", company_id=by_origin[item.cp.ref_key])
            elif item.cp.inn:
                others = {cid: ref for cid, ref in taken.items() if ref != item.cp.ref_key}
                item.match = match_by_inn(item.cp, requisites, others)

    async def _more_requisites(
        self, params: Mapping[str, Any] | None, start: int
    ) -> list[RequisiteRow]:
        rows = await self.b24.list_all("crm.requisite.list", {**(params or {}), "start": start})
        return [RequisiteRow.from_api(r) for r in rows]

    async def _load_current(self, ready: list[Planned]) -> None:
        """Read current phones/e-mails and requisites of the companies we will update."""
        updates = [item for item in ready if not item.creates]
        if not updates:
            return
        commands: dict[str, tuple[str, Mapping[str, Any] | None]] = {}
        for n, part in enumerate(_slices(updates, 50)):
            ids = [item.match.company_id for item in part]
            commands[f"co{n}"] = (
                "crm.company.list",
                {"filter": {"@ID": ids}, "select": COMPANY_SELECT},
            )
            commands[f"rq{n}"] = (
                "crm.requisite.list",
                {"filter": {"ENTITY_TYPE_ID": 4, "@ENTITY_ID": ids}, "select": REQUISITE_SELECT},
            )
        companies: dict[int, Mapping[str, Any]] = {}
        requisites: dict[int, list[RequisiteRow]] = {}
        for batch in _batches(commands):
            reply = await self.b24.batch(batch)
            if reply.errors:
                raise next(iter(reply.errors.values()))
            for key, result in reply.results.items():
                if key.startswith("co"):
                    companies.update({int(row["ID"]): row for row in result or []})
                else:
                    rows = [RequisiteRow.from_api(r) for r in result or []]
                    if key in reply.nexts:
                        rows.extend(await self._more_requisites(batch[key][1], reply.nexts[key]))
                    for req in rows:
                        requisites.setdefault(req.company_id, []).append(req)
        for item in updates:
            company_id = item.match.company_id
            assert company_id is not None
            current = companies.get(company_id)
            if current is None:
                # The linked company was deleted in Bitrix24: create it again.
                item.match = Match("none")
                continue
            item.extra_company = self._multifield_additions(item.cp, current)
            own = requisites.get(company_id, [])
            item.requisite_id = _pick_requisite(item.cp, own)

    @staticmethod
    def _multifield_additions(cp: Counterparty, current: Mapping[str, Any]) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        phones = new_multifields(cp.phones, current.get("PHONE") or [], lambda v: to_e164(v) or v)
        emails = new_multifields(
            cp.emails, current.get("EMAIL") or [], lambda v: normalize_email(v) or v
        )
        if phones:
            extra["PHONE"] = phones
        if emails:
            extra["EMAIL"] = emails
        return extra

    # --- writes ---------------------------------------------------------------------------

    async def _write(self, ctx: RunContext, chunk: list[Planned]) -> None:
        commands: dict[str, tuple[str, Mapping[str, Any] | None]] = {}
        for n, item in enumerate(chunk):
            if item.creates:
                fields = {
                    **item.company,
                    "COMPANY_TYPE": "CUSTOMER",
                    "ORIGIN_VERSION": item.cp.version,
                }
                multi = {
                    "PHONE": [{"VALUE": p, "VALUE_TYPE": "WORK"} for p in item.cp.phones],
                    "EMAIL": [{"VALUE": e, "VALUE_TYPE": "WORK"} for e in item.cp.emails],
                }
                fields.update({k: v for k, v in multi.items() if v})
                commands[f"c{n}"] = ("crm.company.add", {"fields": fields})
                req = {**item.requisite, "ENTITY_TYPE_ID": 4, "ENTITY_ID": f"$result[c{n}]"}
                commands[f"r{n}"] = ("crm.requisite.add", {"fields": req})
            else:
                fields = {**item.company, "ORIGIN_VERSION": item.cp.version, **item.extra_company}
                commands[f"c{n}"] = (
                    "crm.company.update",
                    {"id": item.match.company_id, "fields": fields},
                )
                if item.requisite_id is None:
                    req = {
                        **item.requisite,
                        "ENTITY_TYPE_ID": 4,
                        "ENTITY_ID": item.match.company_id,
                    }
                    commands[f"r{n}"] = ("crm.requisite.add", {"fields": req})
                else:
                    commands[f"r{n}"] = (
                        "crm.requisite.update",
                        {"id": item.requisite_id, "fields": item.requisite},
                    )
        reply = await self.b24.batch(commands)
        saved: list[Link] = []
        writes: list[tuple[str, str, Any, Any]] = []
        synced: list[str] = []
        for n, item in enumerate(chunk):
            company_key, requisite_key = f"c{n}", f"r{n}"
            if company_key in reply.errors:
                await ctx.fail_record(
                    item.cp.record_key,
                    _record_error(reply.errors[company_key], item.cp),
                    payload=commands[company_key][1],
                )
                continue
            company_id = int(reply.results[company_key]) if item.creates else item.match.company_id
            assert company_id is not None
            requisite_id = item.requisite_id
            requisite_ok = requisite_key not in reply.errors
            if requisite_ok and commands[requisite_key][0] == "crm.requisite.add":
                requisite_id = int(reply.results[requisite_key])
            saved.append(
                Link(
                    entity=ENTITY,
                    onec_base=self.base,
                    onec_ref=item.cp.ref_key,
                    b24_entity="company",
                    b24_id=company_id,
                    b24_requisite_id=requisite_id,
                    match_key=item.match.key if not item.creates else "created",
                    onec_version=item.cp.version,
                    # A failed requisite leaves the hash empty, so the next run retries it.
                    to_b24_hash=item.hash if requisite_ok else None,
                )
            )
            op = "create" if item.creates else "update"
            writes.append((str(company_id), op, None, commands[company_key][1]))
            if requisite_ok:
                ctx.count("created" if item.creates else "updated")
                synced.append(item.cp.record_key)
            else:
                # The company is written; only its requisite failed: reported, retried next run.
                await ctx.fail_record(
                    item.cp.record_key,
                    _record_error(reply.errors[requisite_key], item.cp),
                    payload=commands[requisite_key][1],
                    b24_key=f"company:{company_id}",
                )
        async with self.store.transaction() as conn:
            for link in saved:
                await Store.save_link(conn, link)
            await Store.audit_writes(
                conn, run_id=ctx.run_id, system="bitrix24", entity="company", writes=writes
            )
            await Store.resolve_errors(conn, FLOW, synced)


def _pick_requisite(cp: Counterparty, own: list[RequisiteRow]) -> int | None:
    """The requisite of the company that represents this counterparty, if any."""
    rules: list[Callable[[RequisiteRow], bool]] = [
        lambda r: r.xml_id == cp.ref_key,
        lambda r: r.inn == cp.inn and r.kpp == cp.kpp,
        lambda r: r.inn == cp.inn and not r.kpp,
    ]
    for rule in rules:
        found = [r.id for r in own if rule(r)]
        if found:
            return found[0]
    return None


def _record_error(error: Exception, cp: Counterparty) -> RecordError:
    if isinstance(error, RecordError):
        return Bitrix24RecordError(
            f"Bitrix24 refused counterparty {cp.label}: {error.message}",
            hint="Check the value Bitrix24 names in the message (a required field, a user "
            "field, a permission); the record is retried on the next run.",
        )
    raise error


def _slices(items: Sequence[Planned], size: int) -> Iterable[Sequence[Planned]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _batches(
    commands: Mapping[str, tuple[str, Mapping[str, Any] | None]],
) -> Iterable[dict[str, tuple[str, Mapping[str, Any] | None]]]:
    keys = list(commands)
    for start in range(0, len(keys), BATCH_LIMIT):
        yield {k: commands[k] for k in keys[start : start + BATCH_LIMIT]}


def _chunks_by_commands(items: list[Planned]) -> Iterable[list[Planned]]:
    # Two commands per counterparty (company + requisite) must share one batch.
    per_batch = BATCH_LIMIT // 2
    for start in range(0, len(items), per_batch):
        yield items[start : start + per_batch]
