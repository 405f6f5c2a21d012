"""Seed counterparties: realistic, valid, unique, reproducible and streamed."""

from __future__ import annotations

import gc
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import phonenumbers
import pytest

from bitrix1c.domain.phones import normalize_email, to_e164
from bitrix1c.domain.requisites import (
    validate_account,
    validate_inn,
    validate_kpp,
    validate_ogrn,
    validate_ogrnip,
    validate_okpo,
)
from bitrix1c.sandbox.seed import SeedCounterparty, SeedPerson, generate_counterparties

FORMS = {
    "ООО": "Общество с ограниченной ответственностью",
    "АО": "Акционерное общество",
    "ЗАО": "Закрытое акционерное общество",
    "ПАО": "Публичное акционерное общество",
}
LEGAL_NAME = re.compile(r'(?P<form>ООО|АО|ЗАО|ПАО) "(?P<stem>[^"]+)"')
BRANCH_SUFFIX = re.compile(r" \(филиал [А-ЯЁ][а-яё-]+(?:[- ][А-ЯЁа-яё]+)*\)$")
FIO = re.compile(r"[А-ЯЁ][а-яё-]+ [А-ЯЁ][а-яё-]+ [А-ЯЁ][а-яё-]+")
ADDRESS = re.compile(r"\d{6}, .*г\. [^,]+, [^,]+, д\. \d+")


@pytest.fixture(scope="module")
def records() -> list[SeedCounterparty]:
    return list(generate_counterparties(10_000, seed=1))


def _assert_phone(raw: str) -> None:
    e164 = to_e164(raw)
    assert e164 is not None, raw
    assert e164.startswith("+7") and len(e164) == 12, raw
    assert phonenumbers.is_valid_number(phonenumbers.parse(e164)), raw


def _assert_email(raw: str) -> None:
    assert normalize_email(raw) is not None, raw


def _assert_person(person: SeedPerson) -> None:
    assert uuid.UUID(person.ref_key).version == 4
    assert FIO.fullmatch(f"{person.last_name} {person.first_name} {person.middle_name}")
    assert person.position
    assert person.phones
    for phone in person.phones:
        _assert_phone(phone)
    for email in person.emails:
        _assert_email(email)


def _assert_valid(record: SeedCounterparty) -> None:
    assert uuid.UUID(record.ref_key).version == 4
    assert uuid.UUID(record.partner_ref_key).version == 4
    assert ADDRESS.match(record.address), record.address
    assert len(record.name) <= 100  # 1C Description length
    for phone in record.phones:
        _assert_phone(phone)
    for email in record.emails:
        _assert_email(email)
    for person in record.contacts:
        _assert_person(person)
    assert len(record.contacts) <= 3

    if record.kind == "legal":
        match = LEGAL_NAME.match(record.name)
        assert match, record.name
        assert record.full_name.startswith(f'{FORMS[match["form"]]} "{match["stem"]}"') or (
            record.is_branch and record.full_name.startswith("Филиал ")
        ), record.full_name
        assert validate_inn(record.inn) == record.inn and len(record.inn) == 10
        assert validate_kpp(record.kpp) == record.kpp
        assert record.kpp[:4] == record.inn[:4]
        assert record.kpp[4:6] == ("43" if record.is_branch else "01")
        assert validate_ogrn(record.ogrn) == record.ogrn
        assert validate_okpo(record.okpo) == record.okpo and len(record.okpo) == 8
        if record.is_branch:
            assert BRANCH_SUFFIX.search(record.name), record.name
        else:
            assert match.end() == len(record.name), record.name
            assert record.full_name == f'{FORMS[match["form"]]} "{match["stem"]}"'
    elif record.kind == "ip":
        assert record.name.startswith("ИП ") and FIO.fullmatch(record.name[3:]), record.name
        assert record.full_name == f"Индивидуальный предприниматель {record.name[3:]}"
        assert validate_inn(record.inn) == record.inn and len(record.inn) == 12
        assert record.kpp == ""
        assert validate_ogrnip(record.ogrn) == record.ogrn
        assert record.okpo == "" or len(validate_okpo(record.okpo)) == 10
        assert not record.is_branch
    else:
        assert record.kind == "individual"
        assert FIO.fullmatch(record.name) and record.full_name == record.name
        assert record.inn == "" or len(validate_inn(record.inn)) == 12
        assert record.kpp == record.ogrn == record.okpo == ""
        assert record.contacts == ()
        assert not record.is_branch


def test_every_record_is_valid(records: list[SeedCounterparty]) -> None:
    for record in records:
        _assert_valid(record)


def test_records_are_valid_for_many_seeds() -> None:
    for seed in range(2, 42):
        for record in generate_counterparties(150, seed=seed):
            _assert_valid(record)


def test_mix_of_kinds(records: list[SeedCounterparty]) -> None:
    kinds = Counter(r.kind for r in records)
    share = {kind: n / len(records) for kind, n in kinds.items()}
    assert 0.67 < share["legal"] < 0.73
    assert 0.18 < share["ip"] < 0.22
    assert 0.08 < share["individual"] < 0.12
    branches = sum(r.is_branch for r in records) / len(records)
    assert 0.01 < branches < 0.03
    legal_forms = Counter(r.name.split(" ", 1)[0] for r in records if r.kind == "legal")
    assert legal_forms.keys() == set(FORMS)
    individuals = [r for r in records if r.kind == "individual"]
    assert 0.4 < sum(bool(r.inn) for r in individuals) / len(individuals) < 0.8
    contacts = Counter(len(r.contacts) for r in records if r.kind == "legal")
    assert set(contacts) == {0, 1, 2, 3}


def test_phones_are_typed_in_mixed_formats(records: list[SeedCounterparty]) -> None:
    phones = [p for r in records[:2000] for p in r.phones]
    assert any(p.startswith("+7 (") for p in phones)
    assert any(p.startswith("8 (") for p in phones)
    assert any(re.fullmatch(r"8\d{10}", p) for p in phones)
    assert any("доб" in p for p in phones)
    assert len({to_e164(p) for p in phones}) > 0.95 * len(phones)


def test_inn_kpp_unique_and_branches_repeat_head_inn(records: list[SeedCounterparty]) -> None:
    pairs = Counter((r.inn, r.kpp) for r in records if r.inn)
    assert max(pairs.values()) == 1

    by_ref = {r.ref_key: r for r in records}
    inns = Counter(r.inn for r in records if r.inn)
    branch_inns = set()
    for branch in (r for r in records if r.is_branch):
        head = by_ref[branch.head_ref_key]
        assert not head.is_branch
        assert (head.inn, head.ogrn, head.partner_ref_key) == (
            branch.inn,
            branch.ogrn,
            branch.partner_ref_key,
        )
        assert branch.name.startswith(head.name + " (филиал ")
        assert branch.address.split(", г. ")[1] != head.address.split(", г. ")[1]
        branch_inns.add(branch.inn)
    assert all(inns[inn] == 2 for inn in branch_inns)
    assert all(n == 1 for inn, n in inns.items() if inn not in branch_inns)

    ref_keys = [r.ref_key for r in records] + [p.ref_key for r in records for p in r.contacts]
    assert len(set(ref_keys)) == len(ref_keys)


def test_same_seed_same_records() -> None:
    first = list(generate_counterparties(500, seed=3))
    assert first == list(generate_counterparties(500, seed=3))
    assert first[:100] == list(generate_counterparties(100, seed=3))  # a prefix is stable
    assert first != list(generate_counterparties(500, seed=4))


def test_count_bounds() -> None:
    assert list(generate_counterparties(0)) == []
    with pytest.raises(ValueError):
        generate_counterparties(-1)  # raised at the call, not at the first next()


def _rss_bytes() -> Callable[[], int] | None:
    statm = Path("/proc/self/statm")
    if not statm.exists():
        return None
    import os

    page = os.sysconf("SC_PAGE_SIZE")
    return lambda: int(statm.read_text().split()[1]) * page


def test_records_stream_with_flat_memory(record_property: Callable[..., None]) -> None:
    """Generates 30,000 records; memory must stay flat (the benchmark covers 100,000)."""
    rss = _rss_bytes()
    samples: list[tuple[int, int]] = []
    started = time.perf_counter()
    count = 0
    for count, _record in enumerate(generate_counterparties(30_000, seed=11), start=1):
        if count in (5_000, 30_000):
            gc.collect()
            samples.append((len(gc.get_objects()), rss() if rss else 0))
    elapsed = time.perf_counter() - started
    record_property("seed_30k_seconds", round(elapsed, 2))
    assert count == 30_000
    (objects_5k, rss_5k), (objects_30k, rss_30k) = samples
    # Kept records would add ~25,000 objects and tens of MB.
    assert objects_30k - objects_5k < 2_000
    assert rss_30k - rss_5k < 10 * 2**20


def test_bank_accounts_are_valid_and_unique(records: list[SeedCounterparty]) -> None:
    with_accounts = Counter(r.kind for r in records if r.bank_accounts)
    kinds = Counter(r.kind for r in records)
    assert 0.75 < with_accounts["legal"] / kinds["legal"] < 0.9
    assert 0.5 < with_accounts["ip"] / kinds["ip"] < 0.7
    assert "individual" not in with_accounts
    accounts = [a for r in records for a in r.bank_accounts]
    assert any(len(r.bank_accounts) == 2 for r in records)
    for record in records:
        for account in record.bank_accounts:
            assert validate_account(account.number, account.bik) == account.number
            assert validate_account(account.corr_account, account.bik, correspondent=True)
            assert account.number.startswith("40702" if record.kind == "legal" else "40802")
            assert account.bank_name and uuid.UUID(account.ref_key).version == 4
    assert len({a.number for a in accounts}) == len(accounts)
    assert len({a.ref_key for a in accounts}) == len(accounts)


def test_some_partners_have_two_or_three_legal_entities(records: list[SeedCounterparty]) -> None:
    by_partner: dict[str, list[SeedCounterparty]] = {}
    for record in records:
        by_partner.setdefault(record.partner_ref_key, []).append(record)
    groups = [g for g in by_partner.values() if len({r.inn for r in g}) > 1]
    sizes = Counter(len([r for r in g if not r.is_branch]) for g in groups)
    assert sizes[2] > 100 and sizes[3] > 10 and max(sizes) == 3
    for group in groups:
        assert all(r.kind == "legal" for r in group)
        assert len({(r.inn, r.kpp) for r in group}) == len(group)
