"""The matching cascade beyond INN: phone, e-mail, look-alikes for the review queue."""

from __future__ import annotations

from dataclasses import replace

from bitrix1c.domain.counterparty import Counterparty
from bitrix1c.sync.matching import Directory, RequisiteRow, match_counterparty


def cp(
    kind: str = "legal",
    name: str = 'ООО "Ромашка"',
    inn: str = "7707083893",
    kpp: str = "773601001",
    phones: tuple[str, ...] = (),
    emails: tuple[str, ...] = (),
) -> Counterparty:
    return Counterparty("trade", "ref-1", "v1", kind, name, name, inn, kpp, "", phones, emails)  # type: ignore[arg-type]


def directory(*companies: tuple[int, str, str]) -> Directory:
    found = Directory()
    for company_id, title, inn in companies:
        found.add_company(company_id, title)
        found.add_requisite(company_id, inn)
    return found


def test_inn_and_kpp_win_over_everything_else() -> None:
    requisites = [RequisiteRow(50, 5, "7707083893", "773601001", "")]
    match = match_counterparty(
        cp(), requisites=requisites, phone_hits={9}, directory=directory((9, "Ромашка", ""))
    )
    assert (match.kind, match.company_id) == ("inn_kpp", 5)


def test_two_companies_with_one_inn_go_to_review_with_both() -> None:
    requisites = [
        RequisiteRow(50, 5, "7707083893", "", ""),
        RequisiteRow(80, 8, "7707083893", "", ""),
    ]
    match = match_counterparty(cp(), requisites=requisites)
    assert match.kind == "ambiguous" and match.needs_review
    assert [c.company_id for c in match.suggestions] == [5, 8]


def test_an_individual_without_inn_links_by_phone_then_email() -> None:
    person = cp("individual", "Петров Иван", "", "", ("+79123456789",), ("ivan@mail.ru",))
    assert match_counterparty(person, phone_hits={7}).kind == "phone"
    assert match_counterparty(person, email_hits={4}).company_id == 4
    assert match_counterparty(person, phone_hits={7, 9}).kind == "suggested"


def test_a_phone_never_links_a_record_that_has_an_inn() -> None:
    match = match_counterparty(cp(phones=("+74951234567",)), phone_hits={7}, directory=Directory())
    assert match.kind == "suggested"
    assert [(c.company_id, c.reason) for c in match.suggestions] == [(7, "phone")]


def test_a_company_already_linked_elsewhere_is_only_suggested() -> None:
    person = cp("individual", "Петров Иван", "", "", ("+79123456789",))
    match = match_counterparty(person, phone_hits={7}, taken={7: "other-ref"})
    assert match.kind == "suggested"


def test_an_individual_is_not_linked_to_a_legal_entity_by_a_shared_phone() -> None:
    person = cp("individual", "Петров Иван", "", "", ("+79123456789",))
    known = directory((7, "ООО «Вектор»", "7707083893"))
    assert match_counterparty(person, phone_hits={7}, directory=known).kind == "none"


def test_look_alikes_without_requisites_are_suggested_never_linked() -> None:
    known = directory(
        (1, "Ромашка ООО", ""),
        (2, "Romashka LLC", ""),
        (3, "ООО «Ромашка»", "7700000001"),  # another legal person: its own INN
        (4, "ООО «Василёк»", ""),
        (5, "ИП Ромашкин", ""),
    )
    match = match_counterparty(cp(), directory=known)
    assert match.kind == "suggested" and match.company_id is None
    assert {c.company_id for c in match.suggestions} == {1, 2}
    assert all(c.reason == "name" and c.score >= 85 for c in match.suggestions)


def test_nothing_alike_means_create() -> None:
    known = directory((4, "ООО «Василёк»", ""))
    assert match_counterparty(cp(), directory=known).kind == "none"


def test_directory_reports_companies_sharing_an_inn() -> None:
    known = directory((1, "A", "7707083893"), (2, "B", "7707083893"), (3, "C", "7700000001"))
    assert known.duplicates_by_inn() == {"7707083893": [1, 2]}


def test_a_person_is_found_by_snils_before_phone() -> None:
    person = replace(
        cp("individual", "Петров Иван", "", "", ("+79123456789",)), snils="11223344595"
    )
    match = match_counterparty(person, snils_hits={3}, phone_hits={7})
    assert (match.kind, match.company_id) == ("snils", 3)
    two = match_counterparty(person, snils_hits={3, 4}, phone_hits={7})
    assert two.kind == "ambiguous" and [c.reason for c in two.suggestions] == ["snils", "snils"]
    taken = match_counterparty(person, snils_hits={3}, taken={3: "other-ref"})
    assert taken.kind == "ambiguous", "a company linked to another 1C record is not taken twice"


def test_an_inn_match_wins_over_snils() -> None:
    person = replace(cp("ip", "ИП Петров Иван", "500100732259", ""), snils="11223344595")
    requisites = [RequisiteRow(60, 6, "500100732259", "", "")]
    match = match_counterparty(person, requisites=requisites, snils_hits={3})
    assert (match.kind, match.company_id) == ("inn", 6)
