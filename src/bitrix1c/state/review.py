"""The review queue: matches a person decides, and the decisions the flows obey.

A record lands here when its keys point at several Bitrix24 companies (*ambiguous*) or
when a company only looks like it (*suggested*: name, or a phone of a record that has
an INN). It is not written until someone decides: link it to company X, create a new
company, or ignore it. The decision stays; later runs follow it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from bitrix1c.state.store import Store, aware, utcnow
from bitrix1c.state.tables import review

Decision = Literal["link", "create", "ignore"]
DECISIONS: tuple[Decision, ...] = ("link", "create", "ignore")
STATUSES = ("open", "link", "create", "ignore", "resolved")


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
        async with self.store.transaction() as conn:
            result = await conn.execute(
                sa.update(review)
                .where(review.c.id == item_id)
                .values(status=decision, company_id=company_id, decided_at=now, updated_at=now)
            )
            if result.rowcount == 0:
                raise ReviewError(f"no review item {item_id}")
        item = await self.get(item_id)
        assert item is not None
        return item


def _key(entity: str, onec_base: str, onec_ref: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        review.c.entity == entity, review.c.onec_base == onec_base, review.c.onec_ref == onec_ref
    )
