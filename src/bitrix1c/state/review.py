"""The review queue: matches a person decides, and the decisions the flows obey.

A record lands here when its keys point at several Bitrix24 companies (*ambiguous*) or
when a company only looks like it (*suggested*: name, or a phone of a record that has
an INN). It is not written until someone decides: link it to company X, create a new
company, or ignore it. The decision stays; later runs follow it.

A company is one client: once a person links it to one 1C record, it is no longer a
candidate of the other records it was proposed for. Those whose every candidate is now
taken are decided "create" (their candidates keep ``taken_by``, so the reason shows);
the others stay open with what is left. :meth:`ReviewQueue.by_company` groups the open
items by the company they look like, so one decision settles a whole group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from bitrix1c.state.store import Store, aware, utcnow
from bitrix1c.state.tables import review

Decision = Literal["link", "create", "ignore"]
DECISIONS: tuple[Decision, ...] = ("link", "create", "ignore")
STATUSES = ("open", "link", "create", "ignore", "resolved")

log = structlog.get_logger(__name__)


class ReviewError(ValueError):
    """A decision that cannot be taken (unknown item, link without a company)."""


@dataclass(frozen=True)
class ReviewItem:
    """One record waiting for (or carrying) a person's decision."""

    id: int
    entity: str
    onec_base: str
    onec_ref: str
    label: str
    reason: str
    candidates: tuple[dict[str, Any], ...]
    status: str
    company_id: int | None
    payload_hash: str | None
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    released: tuple[int, ...] = ()  # items this decision settled (set by ``decide`` only)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> ReviewItem:
        created = aware(row["created_at"])
        updated = aware(row["updated_at"])
        assert created is not None and updated is not None
        return cls(
            id=row["id"],
            entity=row["entity"],
            onec_base=row["onec_base"],
            onec_ref=row["onec_ref"],
            label=row["label"],
            reason=row["reason"],
            candidates=tuple(row["candidates"] or ()),
            status=row["status"],
            company_id=row["company_id"],
            payload_hash=row["payload_hash"],
            created_at=created,
            updated_at=updated,
            decided_at=aware(row["decided_at"]),
        )

    @property
    def record_key(self) -> str:
        return f"{self.onec_base}:{self.onec_ref}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entity": self.entity,
            "record": self.record_key,
            "label": self.label,
            "reason": self.reason,
            "candidates": list(self.candidates),
            "status": self.status,
            "company_id": self.company_id,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            **({"released": list(self.released)} if self.released else {}),
        }

    def open_candidates(self) -> list[dict[str, Any]]:
        """Candidates not taken by another record's decision."""
        return [c for c in self.candidates if not c.get("taken_by")]


@dataclass(frozen=True)
class CompanyGroup:
    """Open items proposed against one Bitrix24 company: one decision settles them."""

    company_id: int
    title: str
    items: tuple[ReviewItem, ...]

    def candidate(self, item: ReviewItem) -> dict[str, Any]:
        """What ``item`` says of this group's company (reason, score)."""
        for candidate in item.candidates:
            if int(candidate.get("company_id") or 0) == self.company_id:
                return dict(candidate)
        return {}

    def as_dict(self) -> dict[str, Any]:
        return {
            "company_id": self.company_id,
            "title": self.title,
            "items": [
                {
                    "id": item.id,
                    "record": item.record_key,
                    "label": item.label,
                    "reason": item.reason,
                    "score": _score_for(item, self.company_id),
                }
                for item in self.items
            ],
        }


class ReviewQueue:
    """Read and write the review queue of one state store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def propose(
        self,
        *,
        entity: str,
        onec_base: str,
        onec_ref: str,
        label: str,
        reason: str,
        candidates: Sequence[Mapping[str, Any]],
        payload_hash: str | None,
    ) -> None:
        """Open (or refresh) the item of a record; a decided item keeps its decision."""
        now = utcnow()
        key = _key(entity, onec_base, onec_ref)
        values = {
            "label": label,
            "reason": reason,
            "candidates": [dict(c) for c in candidates],
            "payload_hash": payload_hash,
            "updated_at": now,
        }
        async with self.store.transaction() as conn:
            row = (await conn.execute(sa.select(review.c.status).where(key))).first()
            if row is None:
                await conn.execute(
                    sa.insert(review).values(
                        entity=entity,
                        onec_base=onec_base,
                        onec_ref=onec_ref,
                        status="open",
                        created_at=now,
                        **values,
                    )
                )
            elif row.status in ("open", "resolved"):
                await conn.execute(sa.update(review).where(key).values(status="open", **values))

    async def for_records(
        self, entity: str, onec_base: str, refs: Iterable[str]
    ) -> dict[str, ReviewItem]:
        """Items of these 1C records (any status), by Ref_Key."""
        refs = list(refs)
        if not refs:
            return {}
        query = sa.select(review).where(
            review.c.entity == entity, review.c.onec_base == onec_base, review.c.onec_ref.in_(refs)
        )
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return {row["onec_ref"]: ReviewItem.from_row(row) for row in rows}

    async def resolve(self, entity: str, onec_base: str, refs: Iterable[str]) -> None:
        """Close open items whose records have since matched by a key."""
        refs = list(refs)
        if not refs:
            return
        async with self.store.transaction() as conn:
            await conn.execute(
                sa.update(review)
                .where(
                    review.c.entity == entity,
                    review.c.onec_base == onec_base,
                    review.c.onec_ref.in_(refs),
                    review.c.status == "open",
                )
                .values(status="resolved", updated_at=utcnow())
            )

    async def items(self, status: str | None = "open", limit: int = 100) -> list[ReviewItem]:
        """Items with ``status`` (all when None), oldest first."""
        query = sa.select(review).order_by(review.c.id).limit(limit)
        if status is not None:
            query = query.where(review.c.status == status)
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [ReviewItem.from_row(row) for row in rows]

    async def counts(self) -> dict[str, int]:
        """How many items are in each status."""
        query = sa.select(review.c.status, sa.func.count()).group_by(review.c.status)
        async with self.store.engine.connect() as conn:
            return {status: int(n) for status, n in (await conn.execute(query)).all()}

    async def get(self, item_id: int) -> ReviewItem | None:
        async with self.store.engine.connect() as conn:
            row = (
                (await conn.execute(sa.select(review).where(review.c.id == item_id)))
                .mappings()
                .first()
            )
        return ReviewItem.from_row(row) if row else None

    async def decide(
        self, item_id: int, decision: str, company_id: int | None = None
    ) -> ReviewItem:
        """Record a decision: ``link`` (to ``company_id``), ``create`` or ``ignore``.

        Raises:
            ReviewError: Unknown item or decision, or ``link`` without a company.
        """
        if decision not in DECISIONS:
            raise ReviewError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
        if decision == "link" and company_id is None:
            raise ReviewError("linking needs the Bitrix24 company id")
        if decision != "link":
            company_id = None
        now = utcnow()
        released: list[int] = []
        async with self.store.transaction() as conn:
            result = await conn.execute(
                sa.update(review)
                .where(review.c.id == item_id)
                .values(status=decision, company_id=company_id, decided_at=now, updated_at=now)
            )
            if result.rowcount == 0:
                raise ReviewError(f"no review item {item_id}")
            if company_id is not None:
                released = await self._release(conn, item_id, company_id)
        item = await self.get(item_id)
        assert item is not None
        if released:
            log.info("review.released", item=item_id, company=company_id, settled=released)
        return replace(item, released=tuple(released))

    async def _release(self, conn: AsyncConnection, item_id: int, company_id: int) -> list[int]:
        """Take ``company_id`` out of the other open items of the same entity.

        Returns the ids of items left without a candidate, now decided ``create``.
        """
        row = (
            await conn.execute(
                sa.select(review.c.entity, review.c.onec_base, review.c.onec_ref).where(
                    review.c.id == item_id
                )
            )
        ).one()
        taken_by = f"{row.onec_base}:{row.onec_ref}"
        others = (
            (
                await conn.execute(
                    sa.select(review.c.id, review.c.candidates).where(
                        review.c.entity == row.entity,
                        review.c.status == "open",
                        review.c.id != item_id,
                    )
                )
            )
            .mappings()
            .all()
        )
        now = utcnow()
        settled: list[int] = []
        for other in others:
            candidates = [dict(c) for c in other["candidates"] or ()]
            hit = False
            for candidate in candidates:
                if int(candidate.get("company_id") or 0) == company_id:
                    candidate["taken_by"] = taken_by
                    hit = True
            if not hit:
                continue
            values: dict[str, Any] = {"candidates": candidates, "updated_at": now}
            if all(c.get("taken_by") for c in candidates):
                # Every company it looked like belongs to someone else: a new client.
                values.update(status="create", decided_at=now)
                settled.append(int(other["id"]))
            await conn.execute(sa.update(review).where(review.c.id == other["id"]).values(**values))
        return settled

    async def by_company(self, limit: int = 1000) -> list[CompanyGroup]:
        """Open items grouped by the companies proposed for them, biggest group first.

        An item with several candidates appears in each of their groups.
        """
        items = await self.items("open", limit=100_000)
        groups: dict[int, list[ReviewItem]] = {}
        titles: dict[int, str] = {}
        for item in items:
            for candidate in item.open_candidates():
                cid = int(candidate.get("company_id") or 0)
                groups.setdefault(cid, []).append(item)
                titles.setdefault(cid, str(candidate.get("title") or ""))
        ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        return [
            CompanyGroup(
                company_id=cid,
                title=titles[cid],
                items=tuple(sorted(members, key=lambda i: -_score_for(i, cid))),
            )
            for cid, members in ordered[:limit]
        ]


def _score_for(item: ReviewItem, company_id: int) -> float:
    for candidate in item.candidates:
        if int(candidate.get("company_id") or 0) == company_id:
            return float(candidate.get("score") or 0)
    return 0.0


def _key(entity: str, onec_base: str, onec_ref: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        review.c.entity == entity, review.c.onec_base == onec_base, review.c.onec_ref == onec_ref
    )
