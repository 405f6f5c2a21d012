"""Profile structure and the conversion of 1C rows into domain records."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bitrix1c.domain.counterparty import Counterparty, CounterpartyKind
from bitrix1c.domain.phones import normalize_email, to_e164

if TYPE_CHECKING:
    from bitrix1c.onec.profiles.overrides import ConceptOverride

# The concepts a profile names (onec.md §1.13). Flows ask for them by these keys.
CONCEPTS = (
    "counterparty",
    "partner",
    "contact_person",
    "bank_account",
    "organization",
    "item",
    "unit",
    "price_type",
    "prices",
    "warehouse",
    "stock",
    "customer_order",
    "invoice",
    "bank_receipt",
    "cash_receipt",
    "shipment",
    "act",
    "tax_invoice",
    "settlements",
)


_RECORD_SET_PREFIXES = ("AccumulationRegister_", "AccountingRegister_")


@dataclass(frozen=True)
class Concept:
    """Where one concept lives: an entity set and the property behind each role.

    ``fields`` maps a role (``inn``, ``order_link``…) to an OData property; a column of a
    tabular section is written ``Товары/Цена``. ``function`` names the virtual table a
    register is read through (``SliceLast``, ``Balance``, ``Turnovers``). ``extra`` lists
    customer-added properties (``КР_Сегмент``) read along with the standard ones.
    """

    entity_set: str
    fields: Mapping[str, str] = field(default_factory=dict, hash=False)
    function: str | None = None
    extra: tuple[str, ...] = ()

    def __getitem__(self, role: str) -> str:
        try:
            return self.fields[role]
        except KeyError:
            raise KeyError(f"{self.entity_set} has no role {role!r}") from None

    def get(self, role: str) -> str | None:
        return self.fields.get(role)

    def needed(self) -> list[str]:
        """Properties (and ``/Function``) that must exist in ``$metadata``."""
        names = [*self.fields.values(), *self.extra]
        if self.function:
            names.append(f"/{self.function}")
        return list(dict.fromkeys(names))

    @property
    def records(self) -> str:
        """The set whose rows carry the fields: ``…_RecordType`` for a register whose
        virtual tables are bound to the record-set type (accumulation, accounting)."""
        if self.entity_set.startswith(_RECORD_SET_PREFIXES) and not self.entity_set.endswith(
            "_RecordType"
        ):
            return f"{self.entity_set}_RecordType"
        return self.entity_set

    def needed_by_set(self) -> dict[str, list[str]]:
        """:meth:`needed`, split by the entity set each name belongs to."""
        fields = [n for n in self.needed() if not n.startswith("/")]
        out = {self.records: fields}
        if self.function:
            out.setdefault(self.entity_set, []).append(f"/{self.function}")
        return out

    def overridden(self, override: ConceptOverride) -> Concept:
        return replace(
            self,
            entity_set=override.entity_set or self.entity_set,
            fields={**self.fields, **override.fields},
            extra=(*self.extra, *override.extra_fields),
        )


KindOf = Callable[[Mapping[str, Any], "Concept"], CounterpartyKind]
"""How a configuration tells a legal entity, a sole proprietor and a person apart."""


def kind_by_yur_fiz_litso(row: Mapping[str, Any], concept: Concept) -> CounterpartyKind:
    """УТ 11 / Розница: enum ЮрФизЛицо (ЮрЛицо | ФизЛицо | ЮрЛицоНеРезидент | ИП)."""
    value = row.get(concept["kind"])
    if value == "ИндивидуальныйПредприниматель":
        return "ip"
    if value == "ФизЛицо":
        return "individual"
    return "legal"


OPTIONAL_COUNTERPARTY_ROLES = ("full_name", "okpo", "contact_info", "ogrn", "snils")
"""Roles the counterparties flow can do without (read as empty when left out); the
others (Ref_Key, INN, KPP, the kind fields) identify or classify the record."""


@dataclass(frozen=True)
class CounterpartyFields:
    """Names of the counterparty catalog and its fields in one configuration.

    Built from the profile's ``counterparty`` concept (with the base's YAML overrides), so
    what the flow reads is what drift detection checks. ``omitted`` lists optional roles
    left out of ``$select`` (a property drift detection found missing, under the
    ``skip_field`` policy): the record is then read as if the value were empty.
    """

    entity_set: str
    inn: str
    kpp: str
    full_name: str
    okpo: str
    contact_info: str  # tabular section with phones and e-mails
    kind_of: Callable[[Mapping[str, Any]], CounterpartyKind]
    kind_fields: tuple[str, ...]
    omitted: frozenset[str] = frozenset()
    # ОГРН/ОГРНИП (РегистрационныйНомер in УТ and БП) and a customized base's СНИЛС: a
    # concept without the role reads them as empty.
    ogrn: str | None = None
    snils: str | None = None

    @classmethod
    def from_concept(cls, concept: Concept, kind_of: KindOf) -> CounterpartyFields:
        kind_roles = ("kind", "sole_proprietor")
        return cls(
            entity_set=concept.entity_set,
            inn=concept["inn"],
            kpp=concept["kpp"],
            full_name=concept["full_name"],
            okpo=concept["okpo"],
            contact_info=concept["contact_info"],
            kind_of=lambda row: kind_of(row, concept),
            kind_fields=tuple(concept[r] for r in kind_roles if concept.get(r)),
            ogrn=concept.get("ogrn"),
            snils=concept.get("snils"),
        )

    def without(self, roles: Iterable[str]) -> CounterpartyFields:
        """These fields with the optional ``roles`` left out of what is read.

        Raises ``ValueError`` for a role the flow cannot work without.
        """
        roles = frozenset(roles)
        required = sorted(roles - set(OPTIONAL_COUNTERPARTY_ROLES))
        if required:
            raise ValueError(f"{', '.join(required)} cannot be left out of {self.entity_set}")
        return replace(self, omitted=self.omitted | roles)

    def role_of(self, prop: str) -> str | None:
        """The role ``prop`` (or ``TabularSection/Column``) plays; None for a standard one."""
        head = prop.partition("/")[0]
        for role in (*OPTIONAL_COUNTERPARTY_ROLES, "inn", "kpp"):
            if getattr(self, role) == head:
                return role
        return "kind" if head in self.kind_fields else None

    def select(self) -> list[str]:
        """``$select`` list for reading counterparties (omitted roles left out)."""
        optional = {role: getattr(self, role) for role in OPTIONAL_COUNTERPARTY_ROLES}
        names = [
            "Ref_Key",
            "DataVersion",
            "DeletionMark",
            "Predefined",
            "Description",
            optional["full_name"],
            self.inn,
            self.kpp,
            optional["okpo"],
            *self.kind_fields,
            optional["contact_info"],
            optional["ogrn"],
            optional["snils"],
        ]
        left_out = {optional[role] for role in self.omitted}
        return [name for name in names if name and name not in left_out]

    def to_domain(self, base: str, row: Mapping[str, Any]) -> Counterparty:
        """A 1C row as a :class:`Counterparty` (phones in E.164, e-mails lowercased)."""
        phones: list[str] = []
        emails: list[str] = []
        for line in row.get(self.contact_info) or []:
            kind = line.get("Тип")
            if kind == "Телефон":
                number = to_e164(line.get("НомерТелефона") or line.get("Представление") or "")
                if number and number not in phones:
                    phones.append(number)
            elif kind == "АдресЭлектроннойПочты":
                email = normalize_email(line.get("АдресЭП") or line.get("Представление") or "")
                if email and email not in emails:
                    emails.append(email)
        name = (row.get("Description") or "").strip()

        def digits(prop: str | None) -> str:
            return "".join(str(row.get(prop) or "").split()) if prop else ""

        return Counterparty(
            base=base,
            ref_key=row["Ref_Key"],
            version=str(row.get("DataVersion") or ""),
            kind=self.kind_of(row),
            name=name,
            full_name=(row.get(self.full_name) or "").strip() or name,
            inn="".join((row.get(self.inn) or "").split()),
            kpp="".join((row.get(self.kpp) or "").split()),
            okpo="".join((row.get(self.okpo) or "").split()),
            phones=tuple(phones),
            emails=tuple(emails),
            deletion_mark=bool(row.get("DeletionMark")),
            predefined=bool(row.get("Predefined")),
            ogrn=digits(self.ogrn),
            snils=digits(self.snils),
        )


@dataclass(frozen=True)
class Profile:
    """One configuration: ut11, bp30, …"""

    name: str
    title: str
    counterparty_kind: KindOf
    concepts: Mapping[str, Concept] = field(default_factory=dict, hash=False)
    counterparty_omitted: frozenset[str] = frozenset()

    @property
    def counterparty(self) -> CounterpartyFields:
        """Where the counterparties flow reads from (overrides and omissions included)."""
        fields = CounterpartyFields.from_concept(
            self.concept("counterparty"), self.counterparty_kind
        )
        return fields.without(self.counterparty_omitted) if self.counterparty_omitted else fields

    def without_counterparty_fields(self, roles: Iterable[str]) -> Profile:
        """This profile with optional counterparty roles (``okpo``…) left out of reads.

        Raises ``ValueError`` for a role the counterparties flow cannot work without.
        """
        roles = frozenset(roles)
        self.counterparty.without(roles)  # validates
        return replace(self, counterparty_omitted=self.counterparty_omitted | roles)

    def concept(self, name: str) -> Concept:
        """The concept called ``name``; KeyError when this configuration has none."""
        try:
            return self.concepts[name]
        except KeyError:
            raise KeyError(f"profile {self.name} has no {name!r}") from None

    def needed(self) -> dict[str, list[str]]:
        """``{entity_set: [property, …]}`` for drift detection against ``$metadata``."""
        out: dict[str, list[str]] = {self.counterparty.entity_set: self.counterparty.select()}
        for concept in self.concepts.values():
            for entity_set, wanted in concept.needed_by_set().items():
                names = out.setdefault(entity_set, [])
                names += [n for n in wanted if n not in names]
        return out

    def with_overrides(self, overrides: Mapping[str, ConceptOverride]) -> Profile:
        """This profile with a customized base's entity sets and fields (YAML overrides)."""
        unknown = sorted(set(overrides) - set(self.concepts))
        if unknown:
            raise KeyError(f"profile {self.name} has no concept {', '.join(unknown)}")
        concepts = {
            name: concept.overridden(overrides[name]) if name in overrides else concept
            for name, concept in self.concepts.items()
        }
        return replace(self, concepts=concepts)
