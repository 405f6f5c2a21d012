"""Change notifications pushed by 1C, and their place in the inbox.

A 1C base tells bitrix1c that an object changed by POSTing JSON to ``/hooks/1c/<base>``
(see ``docs/1c-push.md`` for the 1C side)::

    {"changes": [{"type": "Document_ЗаказКлиента",
                  "Ref_Key": "8f2c5a7e-0b1d-11ef-9c3a-00155d010203",
                  "DataVersion": "AAAAAgAAAAA=",
                  "event": "posted",
                  "changed_at": "2025-02-04T12:29:54"}]}

A bare JSON array of changes, or a single change object, is accepted too. Each change becomes one
``inbox`` row (source ``1c:<base>``, event, object type, Ref_Key, the change as payload,
status ``new``) before the answer is sent. The same Ref_Key + DataVersion + event is stored
once: 1C retries until it gets a 2xx, so a notification may arrive twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bitrix1c.state.store import Store, utcnow
from bitrix1c.state.tables import inbox

PushEvent = Literal["written", "posted", "unposted", "deletion-marked"]

# Objects with a Ref_Key; registers have none and are read through OData instead.
_OBJECT_TYPE = (
    r"^(Catalog|Document|ChartOfCharacteristicTypes|ChartOfAccounts|ChartOfCalculationTypes|"
    r"ExchangePlan|BusinessProcess|Task)_\w+$"
)
MAX_CHANGES = 1000


class Change(BaseModel):
    """One changed 1C object. Unknown keys are kept in the payload as they came."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, str_strip_whitespace=True)

    object_type: str = Field(
        alias="type",
        pattern=_OBJECT_TYPE,
        max_length=100,
        description="OData name of the object: Document_ЗаказКлиента, Catalog_Контрагенты …",
    )
    ref_key: UUID = Field(alias="Ref_Key", description="The object's reference (GUID).")
    data_version: str = Field(
        alias="DataVersion",
        min_length=1,
        max_length=64,
        description="ВерсияДанных of the object after the change.",
    )
    event: PushEvent = Field(description="written | posted | unposted | deletion-marked")
    changed_at: datetime | None = Field(
        None, description="When 1C saw the change (the base's local time, no zone)."
    )

    def payload(self, base: str) -> dict[str, Any]:
        """The change as stored in the inbox."""
        data: dict[str, Any] = {
            "base": base,
            "type": self.object_type,
            "Ref_Key": str(self.ref_key),
            "DataVersion": self.data_version,
            "event": self.event,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
        }
        for key, value in (self.model_extra or {}).items():
            data.setdefault(key, value)
        return data


class Notification(BaseModel):
    """A POSTed body: ``{"changes": [...]}``, a bare list of changes, or one change."""

    model_config = ConfigDict(extra="forbid")

    changes: list[Change] = Field(min_length=1, max_length=MAX_CHANGES)

    @model_validator(mode="before")
    @classmethod
    def _single(cls, data: Any) -> Any:
        if isinstance(data, dict) and "changes" not in data:
            return {"changes": [data]}
        if isinstance(data, list):
            return {"changes": data}
        return data


def describe(error: ValidationError) -> tuple[str, str]:
    """The first problem of a rejected body as (field path, message), for the 400 answer."""
    item = error.errors()[0]
    parts: list[str] = []
    for part in item["loc"]:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
        else:
            parts.append(str(part))
    field = ".".join(parts) or "(body)"
    message = "required field is missing" if item["type"] == "missing" else item["msg"]
    return field, message


@dataclass(frozen=True)
class PushResult:
    """How many changes were stored, and how many had been stored already."""

    accepted: int
    duplicates: int


def _key(object_type: str, ref: str, event: str, version: str) -> tuple[str, str, str, str]:
    return (object_type, ref.lower(), event, version)


async def save_changes(store: Store, base: str, changes: Iterable[Change]) -> PushResult:
    """Store the changes in the inbox in one transaction, skipping ones already there."""
    source = f"1c:{base}"
    wanted: dict[tuple[str, str, str, str], Change] = {}
    total = 0
    for change in changes:
        total += 1
        key = _key(change.object_type, str(change.ref_key), change.event, change.data_version)
        wanted.setdefault(key, change)
    now = utcnow()
    accepted = 0
    # The unique (source, dedup_key) index makes a resend a no-op, even when two service
    # processes receive the same notification at the same moment.
    async with store.transaction() as conn:
        insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
        for key, change in wanted.items():
            result = await conn.execute(
                insert(inbox)
                .values(
                    source=source,
                    event=change.event,
                    object_type=change.object_type,
                    object_id=str(change.ref_key),
                    payload=change.payload(base),
                    status="new",
                    attempts=0,
                    received_at=now,
                    dedup_key=":".join(key),
                )
                .on_conflict_do_nothing(index_elements=["source", "dedup_key"])
            )
            accepted += result.rowcount
    return PushResult(accepted=accepted, duplicates=total - accepted)
