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
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from bitrix1c.bitrix24.client import BATCH_LIMIT, Bitrix24Client
from bitrix1c.domain.counterparty import Counterparty
from bitrix1c.domain.phones import normalize_email, to_e164
from bitrix1c.domain.requisites import (
    InvalidKey,
    validate_inn,
    validate_kpp,
    validate_ogrn,
    validate_ogrnip,
    validate_snils,
)
from bitrix1c.errors import Bitrix24RecordError, InvalidRecord, RecordError
from bitrix1c.onec.odata import ODataClient
from bitrix1c.onec.profiles import Profile
from bitrix1c.settings import REQUISITE_FIELDS, CounterpartiesFlow
from bitrix1c.state.review import ReviewItem, ReviewQueue
from bitrix1c.state.store import Link, Store
from bitrix1c.sync.engine import RunContext
from bitrix1c.sync.lookups import find_by_comm
from bitrix1c.sync.matching import (
    Candidate,
    Directory,
    Match,
    RequisiteRow,
    match_counterparty,
    taken_by_others,
)
from bitrix1c.sync.plan import InitialLoadPlan

log = structlog.get_logger(__name__)

FLOW = "counterparties"
ENTITY = "counterparty"
COMPANY_SELECT = ["ID", "TITLE", "ORIGINATOR_ID", "ORIGIN_ID", "PHONE", "EMAIL"]
REQUISITE_SELECT = ["ID", "ENTITY_ID", "RQ_INN", "RQ_KPP", "XML_ID", "PRESET_ID"]
# Requisite fields fed by an optional 1C role: left alone while that role is skipped.
OMITTED_REQUISITE_FIELDS = {
    "okpo": "RQ_OKPO",
    "full_name": "RQ_COMPANY_FULL_NAME",
    "ogrn": "RQ_OGRN",
}


# --- mapping --------------------------------------------------------------------------------


def _person_name(name: str) -> dict[str, str]:
    words = name.replace("ИП ", "", 1).split() if name.startswith("ИП ") else name.split()
    keys = ("RQ_LAST_NAME", "RQ_FIRST_NAME", "RQ_SECOND_NAME")
    return {key: word for key, word in zip(keys, words, strict=False)}


def requisite_fields(
    cp: Counterparty, presets: Mapping[str, int], snils_field: str | None = None
) -> dict[str, Any]:
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
        if cp.ogrn:
            fields["RQ_OGRN"] = cp.ogrn
    else:
        fields.update(_person_name(cp.name))
        if cp.kind == "ip" and cp.ogrn:
            fields["RQ_OGRNIP"] = cp.ogrn
        if snils_field and cp.snils:
            fields[snils_field] = cp.snils
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
    source: Mapping[str, Any]  # the 1C row: what a record error carries and a person edits
    link: Link | None = None
    review: ReviewItem | None = None  # a person's decision on an earlier ambiguous match
    requisite_id: int | None = None  # existing requisite to update
    extra_company: dict[str, Any] = field(default_factory=dict)  # PHONE/EMAIL additions
    # Unchanged in 1C, but its company was edited in Bitrix24: compare before writing.
    verify: bool = False
    # 1C-owned values someone changed in Bitrix24: field → (value found, value restored).
    restored: dict[str, tuple[Any, Any]] = field(default_factory=dict)

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
        self.review = ReviewQueue(store)
        self.plan: InitialLoadPlan | None = None  # set by `bitrix1c plan counterparties`
        self._directory: Directory | None = None
        self.crm_owned = frozenset(k for k, v in settings.owners.items() if v == "crm")
        self._edited_in_crm: set[int] = set()

    async def __call__(self, ctx: RunContext) -> None:
        self._directory = None  # companies change between runs
        self._edited_in_crm = await self._companies_edited_in_crm(ctx)
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
        if self.plan is not None:
            directory = await self._load_directory()
            self.plan.set_crm_duplicates(directory.duplicates_by_inn(), directory.titles)

    async def sync_rows(self, ctx: RunContext, rows: Sequence[Mapping[str, Any]]) -> None:
        """Synchronize one slice of 1C rows."""
        ctx.count("read", len(rows))
        rows = await self._corrected(ctx, rows)
        rows = await self._due(ctx, rows)
        valid: list[Counterparty] = []
        deleted: list[Counterparty] = []
        source: dict[str, Mapping[str, Any]] = {}
        for row in rows:
            cp = self.fields.to_domain(self.base, row)
            source[cp.ref_key] = row
            if (
                cp.kind == "individual"
                and not cp.predefined
                and self.settings.individuals_as == ("contact")
            ):
                # The individuals' own step makes it a contact (its link points there).
                ctx.count("skipped")
                self._note(cp, "as_contact")
                continue
            if cp.deletion_mark and not cp.predefined and self.settings.on_deletion_mark == "mark":
                deleted.append(cp)
                continue
            if cp.deletion_mark or cp.predefined:
                # Deletion-marked and predefined items (УТ's "Розничный покупатель") are
                # not clients to put into the CRM.
                ctx.count("skipped")
                self._note(cp, "excluded")
                continue
            problem = self._invalid_keys(cp)
            if problem is not None:
                await ctx.fail_record(cp.record_key, problem, payload=dict(row))
                self._note(
                    cp,
                    "invalid",
                    key=str(problem.context.get("field") or ""),
                    detail=problem.message,
                )
                continue
            valid.append(cp)
        if deleted:
            await self._mark_deleted(ctx, deleted, source)
        if not valid:
            return
        refs = [cp.ref_key for cp in valid]
        links = await self.store.links_for(ENTITY, self.base, refs)
        reviews = await self.review.for_records(
            ENTITY, self.base, [ref for ref in refs if ref not in links]
        )
        todo: list[Planned] = []
        for cp in valid:
            company = company_fields(cp, self.settings.assigned_by_id)
            if self.settings.on_deletion_mark == "mark":
                company[self.settings.deletion_field] = "N"  # unmarked again in 1C
            requisite = requisite_fields(cp, self.presets, self.settings.snils_field)
            for role in self.fields.omitted:  # skipped by the drift policy: keep CRM's value
                requisite.pop(OMITTED_REQUISITE_FIELDS.get(role, ""), None)
            digest = payload_hash(company, requisite, cp)
            link = links.get(cp.ref_key)
            verify = False
            if link is not None and link.to_b24_hash == digest:
                if link.b24_id not in self._edited_in_crm:
                    ctx.count("skipped")
                    self._note(cp, "unchanged", key=link.match_key, company_id=link.b24_id)
                    continue
                verify = True  # 1C did not change, Bitrix24 did: restore what 1C owns
            match = Match("link", company_id=link.b24_id) if link else Match("none")
            review = reviews.get(cp.ref_key) if link is None else None
            if review is not None:
                if review.status == "ignore":
                    ctx.count("skipped")
                    self._note(cp, "ignored", detail=f"review item {review.id}")
                    continue
                if review.status == "open" and review.payload_hash == digest:
                    # Still waiting for a person; nothing changed in 1C since it was asked.
                    ctx.count("skipped")
                    self._note(
                        cp,
                        "review",
                        key=review.reason,
                        candidates=_candidates(review),
                        detail=f"waiting in the review queue (item {review.id})",
                    )
                    continue
                if review.status == "link" and review.company_id is not None:
                    match = Match("review", company_id=review.company_id)
            todo.append(
                Planned(
                    cp,
                    match,
                    company,
                    requisite,
                    digest,
                    source[cp.ref_key],
                    link,
                    review,
                    verify=verify,
                )
            )
        if not todo:
            return
        await self._match(todo)
        ready: list[Planned] = []
        resolved: list[str] = []
        for item in todo:
            if item.match.needs_review:
                await self._hold_for_review(ctx, item)
                continue
            if item.review is not None and item.review.status == "open":
                resolved.append(item.cp.ref_key)
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
                    payload=dict(item.source),
                )
                self._note(
                    item.cp, "duplicate_1c", key="inn_kpp", detail=f"same {key} as {earlier}"
                )
                continue
            if key:
                self._keys_this_run[key] = item.cp.ref_key
            ready.append(item)
        await self._load_current(ready)
        for item in [i for i in ready if i.verify and not i.restored and not i.creates]:
            ready.remove(item)
            ctx.count("skipped")
            assert item.link is not None
            self._note(item.cp, "unchanged", key=item.link.match_key, company_id=item.link.b24_id)
        for item in ready:
            if item.creates:
                self._note(item.cp, "create")
            elif item.link is not None:
                self._note(item.cp, "update", key=item.link.match_key, company_id=item.link.b24_id)
            else:
                self._note(item.cp, "link", key=item.match.kind, company_id=item.match.company_id)
        if ctx.dry_run:
            for item in ready:
                ctx.count("created" if item.creates else "updated")
            return
        await self.review.resolve(ENTITY, self.base, resolved)
        for chunk in _chunks_by_commands(ready):
            await self._write(ctx, chunk)

    async def _companies_edited_in_crm(self, ctx: RunContext) -> set[int]:
        """Companies whose company or requisite changed in Bitrix24 since the last run (by
        anyone, this service included: comparing with 1C's values tells them apart).

        The cursor is Bitrix24's own ``DATE_MODIFY`` (no clock of ours is compared with the
        portal's) plus the rows seen at that very second, so a row changed later in the
        same second is not missed and one seen is not read again. The first run only sets
        it, as it writes everything anyway.
        """
        name = f"{FLOW}:{self.base}:crm-edits"
        saved = json.loads(await self.store.get_cursor(name) or "null")
        edited: set[int] = set()
        seen: list[tuple[str, int, str]] = []  # (method, row id, DATE_MODIFY)
        if saved is None:
            latest = {"order": {"DATE_MODIFY": "DESC"}, "select": ["ID", "DATE_MODIFY"]}
            reply = await self.b24.batch(
                {"co": ("crm.company.list", latest), "rq": ("crm.requisite.list", latest)}
            )
            for key, rows in reply.results.items():
                seen += [(key, int(r["ID"]), _text(r.get("DATE_MODIFY"))) for r in rows or []]
        else:
            since = str(saved["at"])
            known = {(str(k), int(i)) for k, i in saved.get("rows", [])}
            scans: dict[str, tuple[str, dict[str, Any], str]] = {
                "co": ("crm.company.list", {"ORIGINATOR_ID": self.base}, "ID"),
                "rq": ("crm.requisite.list", {"ENTITY_TYPE_ID": 4}, "ENTITY_ID"),
            }
            # Per entity: rows changed after the cursor's second, and rows of that second
            # the last run has not seen — one request in the usual case (few edits).
            commands: dict[str, tuple[str, Mapping[str, Any] | None]] = {}
            for key, (method, scope, owner) in scans.items():
                select = ["ID", owner, "DATE_MODIFY"]
                seen_ids = sorted(i for k, i in known if k == key)
                at_second = {**scope, "DATE_MODIFY": since}
                if seen_ids:
                    at_second["!@ID"] = seen_ids
                commands[f"{key}:after"] = (
                    method,
                    {
                        "order": {"ID": "ASC"},
                        "filter": {**scope, ">DATE_MODIFY": since},
                        "select": select,
                        "start": -1,
                    },
                )
                commands[f"{key}:at"] = (
                    method,
                    {"order": {"ID": "ASC"}, "filter": at_second, "select": select, "start": -1},
                )
            reply = await self.b24.batch(commands)
            for command, (method, params) in commands.items():
                key = command.split(":")[0]
                owner = scans[key][2]
                rows = list(reply.results.get(command) or [])
                if len(rows) >= 50:  # a full page: read them all with the fast method
                    rows = []
                    async for page in self.b24.list_fast(
                        method,
                        filter=dict((params or {})["filter"]),
                        select=("ID", owner, "DATE_MODIFY"),
                    ):
                        rows += page
                for row in rows:
                    edited.add(int(row[owner]))
                    seen.append((key, int(row["ID"]), _text(row.get("DATE_MODIFY"))))
            seen += [(k, i, since) for k, i in known]
        newest = max((stamp for _k, _i, stamp in seen), default="")
        if newest and not ctx.dry_run:
            cursor = {"at": newest, "rows": sorted({(k, i) for k, i, t in seen if t == newest})}
            async with self.store.transaction() as conn:
                await Store.set_cursor(conn, name, json.dumps(cursor))
        return edited

    async def _due(
        self, ctx: RunContext, rows: Sequence[Mapping[str, Any]]
    ) -> Sequence[Mapping[str, Any]]:
        """Rows without a failure waiting for its next try (backoff, ``sync/retry.py``).

        A record that failed stays out until its next try is due — unless 1C changed it
        since (another ``DataVersion``: someone may have fixed it). It still counts as
        failed: it is not in Bitrix24, and the error rate must say so.
        """
        keys = {f"{self.base}:{row.get('Ref_Key')}": row for row in rows}
        waits = await self.store.retry_waits(FLOW, keys)
        if not waits:
            return rows
        waiting = {
            key
            for key, (_due, version) in waits.items()
            if version is not None and version == str(keys[key].get("DataVersion") or "")
        }
        for key in waiting:
            ctx.count("failed")
            due, _version = waits[key]
            cp = self.fields.to_domain(self.base, keys[key])
            self._note(cp, "waiting", detail=f"failed before; next try at {due:%Y-%m-%d %H:%M} UTC")
        return [row for key, row in keys.items() if key not in waiting]

    async def _corrected(
        self, ctx: RunContext, rows: Sequence[Mapping[str, Any]]
    ) -> Sequence[Mapping[str, Any]]:
        """Rows with a person's corrections (an edited record-error payload) applied.

        A correction holds while 1C's ``DataVersion`` of the record is the one it was made
        for; once the record changes in 1C, the live record wins and the correction is
        dropped.
        """
        keys = {f"{self.base}:{row.get('Ref_Key')}": n for n, row in enumerate(rows)}
        overrides = await self.store.payload_overrides(FLOW, keys)
        if not overrides:
            return rows
        out = list(rows)
        stale: list[str] = []
        for key, edited in overrides.items():
            live = out[keys[key]]
            if edited.get("DataVersion") == live.get("DataVersion"):
                out[keys[key]] = edited
                log.info("record.corrected", flow=FLOW, record=key)
            else:
                stale.append(key)
        if stale and not ctx.dry_run:
            await self.store.drop_payload_overrides(FLOW, stale)
            log.info("record.correction_dropped", flow=FLOW, records=stale)
        return out

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
            if cp.ogrn:
                if cp.kind == "individual":
                    raise InvalidKey("ogrn", cp.ogrn, "a person without a business has none")
                (validate_ogrn if cp.kind == "legal" else validate_ogrnip)(cp.ogrn)
            if cp.snils:
                validate_snils(cp.snils)
        except InvalidKey as exc:
            return InvalidRecord(
                f"counterparty {cp.name!r} ({cp.record_key}): {exc.key_type.upper()} "
                f"{exc.value!r} is invalid: {exc.reason}",
                hint="Correct this key of the counterparty in 1C; it syncs on the next run. "
                "It is not matched or created until then, so no duplicate appears.",
                field=exc.key_type,
            )
        return None

    @staticmethod
    def _identity(cp: Counterparty) -> str | None:
        if not cp.inn:
            return None
        return f"INN {cp.inn}/KPP {cp.kpp}" if cp.kind == "legal" else f"INN {cp.inn}"

    async def _mark_deleted(
        self,
        ctx: RunContext,
        deleted: list[Counterparty],
        source: Mapping[str, Mapping[str, Any]],
    ) -> None:
        """Set the deletion field on the companies of deletion-marked counterparties.

        Never a delete: the company, its deals and history stay; a counterparty without a
        company is not created. The link keeps a hash of the mark, so it is written once.
        """
        field_name = self.settings.deletion_field
        digest = hashlib.sha256(f"deletion-mark:{field_name}".encode()).hexdigest()
        links = await self.store.links_for(ENTITY, self.base, (cp.ref_key for cp in deleted))
        todo = [
            (cp, links[cp.ref_key])
            for cp in deleted
            if cp.ref_key in links and links[cp.ref_key].to_b24_hash != digest
        ]
        marking = {cp.ref_key for cp, _link in todo}
        for cp in deleted:
            if cp.ref_key not in marking:
                ctx.count("skipped")
                self._note(cp, "excluded", detail="marked for deletion in 1C")
        for cp, link in todo:
            self._note(cp, "update", key="deletion_mark", company_id=link.b24_id)
        if ctx.dry_run:
            ctx.count("updated", len(todo))
            return
        for start in range(0, len(todo), BATCH_LIMIT):
            part = todo[start : start + BATCH_LIMIT]
            commands: dict[str, tuple[str, Mapping[str, Any] | None]] = {
                f"d{n}": (
                    "crm.company.update",
                    {"id": link.b24_id, "fields": {field_name: "Y"}},
                )
                for n, (_cp, link) in enumerate(part)
            }
            reply = await self.b24.batch(commands)
            saved: list[Link] = []
            writes: list[tuple[str, str, Any, Any]] = []
            for n, (cp, link) in enumerate(part):
                if f"d{n}" in reply.errors:
                    await ctx.fail_record(
                        cp.record_key,
                        _record_error(reply.errors[f"d{n}"], cp, commands[f"d{n}"]),
                        payload=dict(source[cp.ref_key]),
                    )
                    continue
                ctx.count("updated")
                saved.append(replace(link, onec_version=cp.version, to_b24_hash=digest))
                writes.append((str(link.b24_id), "delete-mark", None, commands[f"d{n}"][1]))
            async with self.store.transaction() as conn:
                for saved_link in saved:
                    await Store.save_link(conn, saved_link)
                await Store.audit_writes(
                    conn, run_id=ctx.run_id, system="bitrix24", entity="company", writes=writes
                )

    async def _hold_for_review(self, ctx: RunContext, item: Planned) -> None:
        """Put a record a person has to decide on into the review queue; write nothing."""
        match = item.match
        reason = "ambiguous" if match.kind == "ambiguous" else "suggested"
        if any(not c.title for c in match.suggestions):
            # Key matches come without titles; the reviewer needs to recognize the companies.
            titles = (await self._load_directory()).titles
            match = replace(
                match,
                suggestions=tuple(
                    replace(c, title=c.title or titles.get(c.company_id, ""))
                    for c in match.suggestions
                ),
            )
        ctx.count("skipped")
        log.info(
            "record.review",
            flow=FLOW,
            record=item.cp.record_key,
            reason=reason,
            candidates=[c.company_id for c in match.suggestions],
        )
        self._note(
            item.cp,
            "review",
            key=reason,
            candidates=match.suggestions,
            detail="several companies carry its keys"
            if reason == "ambiguous"
            else "no key matches; companies that look alike",
        )
        if ctx.dry_run:
            return
        await self.review.propose(
            entity=ENTITY,
            onec_base=self.base,
            onec_ref=item.cp.ref_key,
            label=item.cp.label,
            reason=reason,
            candidates=[c.as_dict() for c in match.suggestions],
            payload_hash=item.hash,
        )

    def _note(
        self,
        cp: Counterparty,
        outcome: str,
        *,
        key: str = "",
        company_id: int | None = None,
        candidates: Sequence[Candidate] = (),
        detail: str = "",
    ) -> None:
        if self.plan is not None:
            self.plan.add(
                cp, outcome, key=key, company_id=company_id, candidates=candidates, detail=detail
            )

    # --- lookups --------------------------------------------------------------------------

    async def _match(self, todo: list[Planned]) -> None:
        unlinked = [item for item in todo if item.link is None and item.match.kind != "review"]
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
            snils = sorted({item.cp.snils for item in part if item.cp.snils})
            if snils and self.settings.snils_field:
                commands[f"snils{n}"] = (
                    "crm.requisite.list",
                    {
                        "filter": {"ENTITY_TYPE_ID": 4, f"@{self.settings.snils_field}": snils},
                        "select": ["ID", "ENTITY_ID", self.settings.snils_field],
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
        by_snils: dict[str, set[int]] = {}
        for key, rows in (await self.b24.read_batched(commands)).items():
            if key.startswith("origin"):
                for row in rows or []:
                    by_origin.setdefault(str(row["ORIGIN_ID"]), int(row["ID"]))
            elif key.startswith("snils"):
                field_name = self.settings.snils_field or ""
                for row in rows or []:
                    number = _digits(str(row.get(field_name) or ""))
                    by_snils.setdefault(number, set()).add(int(row["ENTITY_ID"]))
            else:
                requisites.extend(RequisiteRow.from_api(r) for r in rows or [])
        taken = await self._taken(
            {r.company_id for r in requisites} | {c for ids in by_snils.values() for c in ids}
        )
        pending: list[Planned] = []
        for item in unlinked:
            if item.cp.ref_key in by_origin:
                item.match = Match("origin", company_id=by_origin[item.cp.ref_key])
            elif item.review is not None and item.review.status == "create":
                item.match = Match("none")  # a person decided: a new company
            else:
                others = taken_by_others(taken, item.cp.ref_key)
                snils_hits = by_snils.get(_digits(item.cp.snils), set()) if item.cp.snils else ()
                item.match = match_counterparty(
                    item.cp, requisites=requisites, taken=others, snils_hits=snils_hits
                )
                if item.match.kind == "none":
                    pending.append(item)
        if pending:
            await self._match_beyond_keys(pending)

    async def _match_beyond_keys(self, pending: list[Planned]) -> None:
        """Phone and e-mail (``crm.duplicate.findbycomm``), then look-alikes by name."""
        hits = await find_by_comm(
            self.b24, {i.cp.ref_key: (i.cp.phones, i.cp.emails) for i in pending}, "COMPANY"
        )
        directory = await self._load_directory() if self.settings.review_lookalikes else None
        hit_ids = {cid for phones, emails in hits.values() for cid in (*phones, *emails)}
        taken = await self._taken(hit_ids)
        for item in pending:
            phones, emails = hits.get(item.cp.ref_key, (set(), set()))
            others = taken_by_others(taken, item.cp.ref_key)
            item.match = match_counterparty(
                item.cp,
                taken=others,
                phone_hits=phones,
                email_hits=emails,
                directory=directory,
                threshold=self.settings.review_threshold,
            )
        suggested = [item for item in pending if item.match.kind == "suggested"]
        if not suggested:
            return
        # A look-alike already linked to another 1C record is that record's company.
        linked = await self._taken(
            {c.company_id for item in suggested for c in item.match.suggestions}
        )
        for item in suggested:
            keep = tuple(
                c
                for c in item.match.suggestions
                if linked.get(c.company_id, item.cp.ref_key) == item.cp.ref_key
            )
            allowed = self.settings.review_lookalikes or any(
                c.reason in ("phone", "email") for c in keep
            )
            item.match = Match("suggested", suggestions=keep) if keep and allowed else Match("none")

    async def _taken(self, company_ids: set[int]) -> dict[int, str]:
        """Companies among ``company_ids`` linked to a 1C record → that record's Ref_Key."""
        links = await self.store.links_to_b24("company", company_ids)
        return {cid: link.onec_ref for cid, link in links.items()}

    async def _load_directory(self) -> Directory:
        """Every Bitrix24 company's title and INNs, read once per run (fast lists)."""
        if self._directory is not None:
            return self._directory
        directory = Directory()
        async for page in self.b24.list_fast("crm.company.list", select=("ID", "TITLE")):
            for row in page:
                directory.add_company(int(row["ID"]), str(row.get("TITLE") or ""))
        async for page in self.b24.list_fast(
            "crm.requisite.list",
            filter={"ENTITY_TYPE_ID": 4},
            select=("ID", "ENTITY_ID", "RQ_INN"),
        ):
            for row in page:
                directory.add_requisite(int(row["ENTITY_ID"]), (row.get("RQ_INN") or "").strip())
        self._directory = directory
        return directory

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
                {
                    "filter": {"ENTITY_TYPE_ID": 4, "@ENTITY_ID": ids},
                    "select": [*REQUISITE_SELECT, *REQUISITE_FIELDS],
                },
            )
        companies: dict[int, Mapping[str, Any]] = {}
        requisites: dict[int, list[RequisiteRow]] = {}
        requisite_rows: dict[int, Mapping[str, Any]] = {}
        for key, rows in (await self.b24.read_batched(commands)).items():
            if key.startswith("co"):
                companies.update({int(row["ID"]): row for row in rows or []})
                continue
            for row in rows or []:
                req = RequisiteRow.from_api(row)
                requisites.setdefault(req.company_id, []).append(req)
                requisite_rows[req.id] = row
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
            if item.verify:
                # Unchanged in 1C: what differs in fields 1C owns was edited in the CRM.
                found = requisite_rows.get(item.requisite_id or 0, {})
                item.restored = self._edited_owned(item, current, found)
                if item.requisite_id is None:
                    item.restored["requisite"] = ("deleted", "created again")
                for name in item.extra_company:
                    item.restored[name] = ("removed", "added again")

    def _edited_owned(
        self, item: Planned, company: Mapping[str, Any], requisite: Mapping[str, Any]
    ) -> dict[str, tuple[Any, Any]]:
        """1C-owned values that differ in Bitrix24: field → (found, wanted)."""
        edited: dict[str, tuple[Any, Any]] = {}
        for fields, current in ((item.company, company), (item.requisite, requisite)):
            if not current:
                continue
            for name, wanted in fields.items():
                if name in self.crm_owned or name not in current:
                    continue
                if _text(current.get(name)) != _text(wanted):
                    edited[name] = (current.get(name), wanted)
        return edited

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
                # The responsible manager is set on creation; afterwards the CRM owns it
                # (managers reassign clients), so an update never resets it.
                owned = {k: v for k, v in item.company.items() if k not in self.crm_owned}
                fields = {**owned, "ORIGIN_VERSION": item.cp.version, **item.extra_company}
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
                        {
                            "id": item.requisite_id,
                            "fields": {
                                k: v for k, v in item.requisite.items() if k not in self.crm_owned
                            },
                        },
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
                    _record_error(reply.errors[company_key], item.cp, commands[company_key]),
                    payload=dict(item.source),
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
            before: dict[str, Any] | None = None
            if item.restored and not item.creates:
                op = "restore"
                before = {name: found for name, (found, _wanted) in item.restored.items()}
                log.warning(
                    "field.restored",
                    flow=FLOW,
                    record=item.cp.record_key,
                    company=company_id,
                    fields={n: {"crm": f, "1c": w} for n, (f, w) in item.restored.items()},
                )
            writes.append((str(company_id), op, before, commands[company_key][1]))
            if requisite_ok:
                ctx.count("created" if item.creates else "updated")
                synced.append(item.cp.record_key)
            else:
                # The company is written; only its requisite failed: reported, retried next run.
                await ctx.fail_record(
                    item.cp.record_key,
                    _record_error(reply.errors[requisite_key], item.cp, commands[requisite_key]),
                    payload=dict(item.source),
                    b24_key=f"company:{company_id}",
                )
        async with self.store.transaction() as conn:
            for link in saved:
                await Store.save_link(conn, link)
            await Store.audit_writes(
                conn, run_id=ctx.run_id, system="bitrix24", entity="company", writes=writes
            )
            await Store.resolve_errors(conn, FLOW, synced)


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _text(value: Any) -> str:
    """A field value as Bitrix24 prints it (None and "" are the same empty value)."""
    return "" if value is None else str(value).strip()


def _candidates(review: ReviewItem) -> tuple[Candidate, ...]:
    return tuple(
        Candidate(
            int(c.get("company_id") or 0),
            float(c.get("score") or 0),
            str(c.get("reason") or ""),
            str(c.get("title") or ""),
        )
        for c in review.candidates
    )


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


def _record_error(
    error: Exception, cp: Counterparty, command: tuple[str, Mapping[str, Any] | None]
) -> RecordError:
    if isinstance(error, RecordError):
        method, params = command
        return Bitrix24RecordError(
            f"Bitrix24 refused counterparty {cp.label}: {error.message}",
            hint="Check the value Bitrix24 names in the message (a required field, a user "
            "field, a permission); the record is retried on the next run. The payload is "
            "the 1C record: a corrected copy can be saved and retried.",
            method=method,
            code=getattr(error, "code", None),
            sent=json.dumps(params, ensure_ascii=False, default=str),
        )
    raise error


def _slices(items: Sequence[Planned], size: int) -> Iterable[Sequence[Planned]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _chunks_by_commands(items: list[Planned]) -> Iterable[list[Planned]]:
    # Two commands per counterparty (company + requisite) must share one batch.
    per_batch = BATCH_LIMIT // 2
    for start in range(0, len(items), per_batch):
        yield items[start : start + per_batch]
