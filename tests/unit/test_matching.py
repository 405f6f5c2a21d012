from __future__ import annotations

from bitrix1c.domain.counterparty import Counterparty
from bitrix1c.sync.matching import RequisiteRow, match_by_inn


def cp(kind: str = "legal", inn: str = "7707083893", kpp: str = "773601001") -> Counterparty:
    return Counterparty(
        "trade", "ref-1", "AAAAAAAAAAE=", kind, 'ООО "Ромашка"', "", inn, kpp, "", (), ()
    )  # type: ignore[arg-type]


def req(
    company: int, inn: str = "7707083893", kpp: str = "773601001", rid: int = 0
) -> RequisiteRow:
    return RequisiteRow(id=rid or company * 10, company_id=company, inn=inn, kpp=kpp, xml_id="")


def test_legal_entity_matches_on_inn_and_kpp() -> None:
    match = match_by_inn(cp(), [req(5), req(6, kpp="773601002")], {})
    assert (match.kind, match.company_id) == ("inn_kpp", 5)


def test_branch_with_other_kpp_is_another_record() -> None:
    assert match_by_inn(cp(), [req(6, kpp="165543001")], {}).kind == "none"


def test_requisite_without_kpp_matches_on_inn() -> None:
    match = match_by_inn(cp(), [req(7, kpp="")], {})
    assert (match.kind, match.company_id) == ("inn", 7)


def test_two_companies_with_same_keys_are_ambiguous() -> None:
    match = match_by_inn(cp(), [req(5), req(8)], {})
    assert match.kind == "ambiguous" and match.candidates == (5, 8)


def test_company_linked_to_another_1c_record_is_not_taken_twice() -> None:
    match = match_by_inn(cp(), [req(5)], {5: "other-ref"})
    assert match.kind == "ambiguous" and match.candidates == (5,)


def test_sole_proprietor_matches_on_inn_only() -> None:
    match = match_by_inn(
        cp("ip", inn="500100732259", kpp=""), [req(9, inn="500100732259", kpp="")], {}
    )
    assert (match.kind, match.company_id) == ("inn", 9)


def test_no_requisite_with_that_inn() -> None:
    assert match_by_inn(cp(), [req(5, inn="7736050003")], {}).kind == "none"
