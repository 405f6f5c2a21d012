"""Deal pipelines (categories), stages and other CRM reference lists.

Facts (bitrix24.md §6.3): ``crm.category.list {entityTypeId}`` →
``{"result": {"categories": [...]}, "total": N}`` with the default pipeline ``id 0``;
stages come from ``crm.status.list {filter: {ENTITY_ID: "DEAL_STAGE"}}`` for pipeline 0
and ``DEAL_STAGE_<id>`` for the others, whose stage ids carry a ``C<id>:`` prefix;
``STAGE_SEMANTIC_ID`` is ``P`` (in progress), ``S`` (won) or ``F`` (lost).
The seed follows ``reference/bitrix24/dataset.json`` (three deal pipelines).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import RestError
from .params import get_ci, php_int
from .records import Context


@dataclass(frozen=True)
class Category:
    """One pipeline of an entity type."""

    id: int
    name: str
    sort: int
    entity_type_id: int = 2

    def describe(self) -> dict[str, Any]:
        """``crm.category.list`` entry."""
        return {
            "id": self.id,
            "name": self.name,
            "sort": self.sort,
            "entityTypeId": self.entity_type_id,
            "isDefault": "Y" if self.id == 0 or self.entity_type_id != 2 else "N",
            "originId": "",
            "originatorId": "",
        }


@dataclass(frozen=True)
class Status:
    """One row of a CRM reference list (a stage, a source, a deal type …)."""

    id: int
    entity_id: str
    status_id: str
    name: str
    sort: int
    system: bool = False
    category_id: int | None = None
    color: str | None = None
    semantics: str | None = None  # None = in progress, "S" won, "F" lost

    @property
    def semantic_id(self) -> str:
        """``STAGE_SEMANTIC_ID`` of a deal in this stage."""
        return self.semantics or "P"

    def describe(self) -> dict[str, Any]:
        """``crm.status.list`` row."""
        row: dict[str, Any] = {
            "ID": str(self.id),
            "ENTITY_ID": self.entity_id,
            "STATUS_ID": self.status_id,
            "NAME": self.name,
            "NAME_INIT": self.name if self.system else "",
            "SORT": str(self.sort),
            "SYSTEM": "Y" if self.system else "N",
            "CATEGORY_ID": str(self.category_id) if self.category_id else None,
            "COLOR": self.color,
            "SEMANTICS": self.semantics,
        }
        if self.entity_id.startswith(("DEAL_STAGE", "SMART_INVOICE_STAGE")):
            meaning = {"S": "success", "F": "failure"}.get(self.semantics or "", "process")
            row["EXTRA"] = {"SEMANTICS": meaning, "COLOR": self.color}
        return row


DEAL_CATEGORIES: tuple[Category, ...] = (
    Category(0, "Общая", 10),
    Category(1, "Продажа оборудования", 20),
    Category(2, "Сервисное обслуживание", 30),
)
# Pipeline ids are shared by all entity types on a portal: the invoices' default one
# comes after the deal pipelines.
INVOICE_CATEGORY = Category(3, "Общая", 500, entity_type_id=31)


def _invoice_stage(row_id: int, code: str, name: str, sort: int, color: str) -> Status:
    sem = {"P": "S", "D": "F"}.get(code)
    cat = INVOICE_CATEGORY.id
    return Status(
        row_id, f"SMART_INVOICE_STAGE_{cat}", f"DT31_{cat}:{code}", name, sort, sem is not None,
        cat, color, sem,
    )  # fmt: skip


def _stage(
    row_id: int, category: int, code: str, name: str, sort: int, color: str, sem: str | None = None
) -> Status:
    entity = "DEAL_STAGE" if category == 0 else f"DEAL_STAGE_{category}"
    status_id = code if category == 0 else f"C{category}:{code}"
    return Status(row_id, entity, status_id, name, sort, sem is not None, category, color, sem)


STATUSES: tuple[Status, ...] = (
    _stage(100, 0, "NEW", "Новая", 10, "#39A8EF"),
    _stage(101, 0, "PREPARATION", "Подготовка документов", 20, "#2FC6F6"),
    _stage(102, 0, "PREPAYMENT_INVOICE", "Счёт на предоплату", 30, "#55D0E0"),
    _stage(103, 0, "WON", "Сделка успешна", 40, "#7BD500", "S"),
    _stage(104, 0, "LOSE", "Сделка провалена", 50, "#FF5752", "F"),
    _stage(105, 1, "NEW", "Заявка", 60, "#39A8EF"),
    _stage(106, 1, "PREPARATION", "Согласование", 70, "#2FC6F6"),
    _stage(107, 1, "WON", "Отгружено", 80, "#7BD500", "S"),
    _stage(108, 2, "NEW", "Обращение", 90, "#39A8EF"),
    _stage(109, 2, "WON", "Закрыто", 100, "#7BD500", "S"),
    _invoice_stage(130, "N", "Новый", 10, "#22B9FF"),
    _invoice_stage(131, "S", "Отправлен клиенту", 20, "#47E4C2"),
    _invoice_stage(132, "P", "Оплачен", 30, "#7BD500"),
    _invoice_stage(133, "D", "Не оплачен", 40, "#FF5752"),
    Status(110, "STATUS", "NEW", "Не обработан", 10),
    Status(111, "STATUS", "IN_PROCESS", "В работе", 20),
    Status(112, "STATUS", "PROCESSED", "Обработан", 30),
    Status(113, "STATUS", "CONVERTED", "Качественный лид", 40, True, semantics="S"),
    Status(114, "STATUS", "JUNK", "Некачественный лид", 50, True, semantics="F"),
    Status(115, "SOURCE", "CALL", "Звонок", 10),
    Status(116, "SOURCE", "EMAIL", "Электронная почта", 20),
    Status(117, "SOURCE", "WEB", "Веб-сайт", 30),
    Status(118, "SOURCE", "ADVERTISING", "Реклама", 40),
    Status(119, "SOURCE", "PARTNER", "Существующий клиент", 50),
    Status(120, "DEAL_TYPE", "SALE", "Продажа", 10),
    Status(121, "DEAL_TYPE", "COMPLEX", "Комплексная продажа", 20),
    Status(122, "DEAL_TYPE", "GOODS", "Товары", 30),
)


def deal_category(category_id: int) -> Category | None:
    """The deal pipeline with this id."""
    return next((c for c in DEAL_CATEGORIES if c.id == category_id), None)


def deal_stages(category_id: int) -> list[Status]:
    """Stages of a deal pipeline in their order."""
    entity = "DEAL_STAGE" if category_id == 0 else f"DEAL_STAGE_{category_id}"
    return sorted((s for s in STATUSES if s.entity_id == entity), key=lambda s: s.sort)


def invoice_stages() -> list[Status]:
    """Stages of the smart-invoice pipeline in their order."""
    entity = f"SMART_INVOICE_STAGE_{INVOICE_CATEGORY.id}"
    return sorted((s for s in STATUSES if s.entity_id == entity), key=lambda s: s.sort)


def deal_stage(category_id: int, stage_id: str) -> Status | None:
    """A stage of the pipeline by its ``STATUS_ID`` (``None`` if it is not there)."""
    return next((s for s in deal_stages(category_id) if s.status_id == stage_id), None)


def category_list(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """``crm.category.list {entityTypeId}``."""
    type_id = php_int(get_ci(params, "entityTypeId"), 0)
    if type_id <= 0:
        raise RestError(400, "NOT_FOUND", "Тип сущности не найден")
    if type_id == 31:
        return {"result": {"categories": [INVOICE_CATEGORY.describe()]}, "total": 1}
    if type_id != 2:
        # Companies/contacts have no user pipelines; other types are not emulated.
        if type_id in (3, 4):
            return {"result": {"categories": []}, "total": 0}
        raise RestError(400, "NOT_FOUND", "Тип сущности не найден")
    categories = sorted(DEAL_CATEGORIES, key=lambda c: (c.sort, c.id))
    return {"result": {"categories": [c.describe() for c in categories]}, "total": len(categories)}


def status_list(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """``crm.status.list {filter, order}`` (exact-value filters)."""
    rows = [s.describe() for s in STATUSES]
    filter_ = get_ci(params, "filter")
    if isinstance(filter_, dict):
        for key, value in filter_.items():
            name = str(key).upper().lstrip("=")
            wanted = [str(v) for v in value] if isinstance(value, list) else [str(value)]
            rows = [r for r in rows if str(r.get(name)) in wanted]
    order = get_ci(params, "order")
    keys = list(order.items()) if isinstance(order, dict) and order else [("SORT", "ASC")]
    for key, direction in reversed(keys):
        name = str(key).upper()
        numeric = name in ("ID", "SORT", "CATEGORY_ID")

        def sort_key(r: dict[str, Any], name: str = name, numeric: bool = numeric) -> Any:
            return php_int(r.get(name)) if numeric else str(r.get(name) or "")

        rows.sort(key=sort_key, reverse=str(direction).upper() == "DESC")
    return {"result": rows, "total": len(rows)}
