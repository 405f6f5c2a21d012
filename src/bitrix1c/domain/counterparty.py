"""A counterparty as the flows see it, whatever 1C configuration it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CounterpartyKind = Literal["legal", "ip", "individual"]


@dataclass(frozen=True)
class Counterparty:
    """A 1C counterparty, normalized.

    ``phones`` are E.164 (``+79123456789``), ``emails`` lowercase; ``inn``/``kpp`` are
    as written in 1C (digits, stripped) and validated by the flow, not here.
    """

    base: str
    ref_key: str
    version: str
    kind: CounterpartyKind
    name: str
    full_name: str
    inn: str
    kpp: str
    okpo: str
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    deletion_mark: bool = False
    predefined: bool = False  # e.g. УТ's "Розничный покупатель": not a real client
    ogrn: str = ""  # ОГРН of a legal entity, ОГРНИП of a sole proprietor
    snils: str = ""  # СНИЛС of a person (a customized base keeps it; standard ones do not)

    @property
    def record_key(self) -> str:
        """How errors and logs name this record: ``<base>:<Ref_Key>``."""
        return f"{self.base}:{self.ref_key}"

    @property
    def label(self) -> str:
        """How people recognize it: name and INN."""
        return f"{self.name} (ИНН {self.inn})" if self.inn else self.name
