"""YAML overrides of a profile for a customized base (``onec[].overrides`` in settings).

Example — a base whose counterparties carry a segment in a customer field::

    overrides:
      counterparty:
        extra_fields: [КР_Сегмент]
      item:
        fields: {article: КР_АртикулПоставщика}
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ConceptOverride"]


class ConceptOverride(BaseModel):
    """Changes to one concept of a profile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity_set: str | None = Field(
        None, description="Entity set to read instead of the profile's (e.g. a renamed object)."
    )
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Role → OData property replacing the profile's (``Товары/Цена``: a column).",
    )
    extra_fields: list[str] = Field(
        default_factory=list,
        description="Customer-added properties to read as well (``КР_Сегмент``).",
    )
