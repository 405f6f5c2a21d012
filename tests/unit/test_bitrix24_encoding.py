from __future__ import annotations

from urllib.parse import parse_qsl, unquote

from bitrix1c.bitrix24.encoding import command, php_query


def test_operator_prefixes_survive() -> None:
    query = php_query({"filter": {">=DATE_CREATE": "2025-01-01", "!@ID": [1, 2], "%TITLE": "Ром"}})
    pairs = parse_qsl(query)
    assert ("filter[>=DATE_CREATE]", "2025-01-01") in pairs
    assert ("filter[!@ID][0]", "1") in pairs and ("filter[!@ID][1]", "2") in pairs
    assert ("filter[%TITLE]", "Ром") in pairs


def test_none_and_empty_values_are_not_dropped() -> None:
    pairs = parse_qsl(php_query({"fields": {"COMMENTS": None, "UF": []}}), keep_blank_values=True)
    assert ("fields[COMMENTS]", "") in pairs
    assert ("fields[UF][]", "") in pairs


def test_nested_multifields_and_special_characters() -> None:
    query = php_query(
        {"fields": {"TITLE": 'ООО "А&Б" + 100%', "PHONE": [{"VALUE": "+79001234567"}]}}
    )
    pairs = dict(parse_qsl(query))
    assert pairs["fields[TITLE]"] == 'ООО "А&Б" + 100%'
    assert pairs["fields[PHONE][0][VALUE]"] == "+79001234567"


def test_result_references_stay_raw() -> None:
    text = command("crm.requisite.add", {"fields": {"ENTITY_ID": "$result[c1]", "NAME": "x"}})
    assert "fields%5BENTITY_ID%5D=$result[c1]" in text
    assert unquote(text).startswith("crm.requisite.add?fields[ENTITY_ID]=$result[c1]")
