"""What the counterparties flow writes into a requisite, and which keys stop a record."""

from __future__ import annotations

from dataclasses import replace

from bitrix1c.domain.counterparty import Counterparty
from bitrix1c.sync.flows.counterparties import CounterpartySync, requisite_fields

PRESETS = {"legal": 1, "ip": 2, "individual": 3}
LEGAL = Counterparty(
    "trade", "ref-1", "v1", "legal", 'ООО "Ромашка"', 'ООО "Ромашка"', "7707083893",
    "773601001", "", (), (),
)  # fmt: skip
IP = replace(LEGAL, kind="ip", name="ИП Петров Иван Сергеевич", inn="500100732259", kpp="")
PERSON = replace(LEGAL, kind="individual", name="Сидорова Анна", inn="", kpp="")


def test_ogrn_goes_to_the_field_of_the_kind() -> None:
    legal = requisite_fields(replace(LEGAL, ogrn="1047737334325"), PRESETS)
    assert legal["RQ_OGRN"] == "1047737334325" and "RQ_OGRNIP" not in legal
    ip = requisite_fields(replace(IP, ogrn="319778170772018"), PRESETS)
    assert ip["RQ_OGRNIP"] == "319778170772018" and "RQ_OGRN" not in ip
    assert ip["RQ_LAST_NAME"] == "Петров" and ip["PRESET_ID"] == 2


def test_snils_is_written_only_into_a_configured_field() -> None:
    person = replace(PERSON, snils="11223344595")
    assert not any("SNILS" in key for key in requisite_fields(person, PRESETS))
    assert requisite_fields(person, PRESETS, "UF_CRM_SNILS")["UF_CRM_SNILS"] == "11223344595"


def test_invalid_ogrn_and_snils_stop_the_record_and_name_the_key() -> None:
    assert CounterpartySync._invalid_keys(replace(LEGAL, ogrn="1047737334325")) is None
    bad = CounterpartySync._invalid_keys(replace(LEGAL, ogrn="1047737334326"))
    assert bad is not None and bad.context["field"] == "ogrn" and "1047737334326" in bad.message
    ip_with_legal_ogrn = CounterpartySync._invalid_keys(replace(IP, ogrn="1047737334325"))
    assert ip_with_legal_ogrn is not None and ip_with_legal_ogrn.context["field"] == "ogrnip"
    person = CounterpartySync._invalid_keys(replace(PERSON, snils="11223344596"))
    assert person is not None and person.context["field"] == "snils"
    assert CounterpartySync._invalid_keys(replace(PERSON, snils="112-233-445 95")) is None
