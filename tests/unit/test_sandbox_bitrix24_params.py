"""PHP-bracket parameter decoding of the Bitrix24 emulator."""

from __future__ import annotations

from urllib.parse import urlencode

from bitrix1c.sandbox.bitrix24.params import (
    decode_pairs,
    parse_body,
    parse_query,
    php_int,
    php_truthy,
)


def test_nested_keys_lists_and_numeric_indexes() -> None:
    params = parse_query(
        "fields[TITLE]=%D0%9E%D0%9E%D0%9E+X&select[]=ID&select[]=TITLE"
        "&fields[PHONE][0][VALUE]=%2B7495&fields[PHONE][0][VALUE_TYPE]=WORK"
        "&fields[PHONE][1][VALUE]=%2B7499"
    )
    assert params == {
        "fields": {
            "TITLE": "ООО X",
            "PHONE": [{"VALUE": "+7495", "VALUE_TYPE": "WORK"}, {"VALUE": "+7499"}],
        },
        "select": ["ID", "TITLE"],
    }


def test_operator_prefixes_survive_in_keys() -> None:
    query = urlencode(
        {
            "filter[>ID]": "5",
            "filter[>=DATE_CREATE]": "2025-01-01",
            "filter[!@ID][]": "7",
            "filter[%TITLE]": "рома",
            "filter[!=ORIGIN_ID]": "",
        }
    )
    params = parse_query(query)
    assert params["filter"] == {
        ">ID": "5",
        ">=DATE_CREATE": "2025-01-01",
        "!@ID": ["7"],
        "%TITLE": "рома",
        "!=ORIGIN_ID": "",
    }


def test_raw_unencoded_brackets_and_batch_command() -> None:
    params = parse_query("filter[>ID]=5&cmd[c1]=crm.company.add%3Ffields%5BTITLE%5D%3DX")
    assert params == {"filter": {">ID": "5"}, "cmd": {"c1": "crm.company.add?fields[TITLE]=X"}}


def test_sparse_numeric_keys_become_mapping() -> None:
    assert decode_pairs([("a[5]", "x"), ("a[7]", "y")]) == {"a": {"5": "x", "7": "y"}}
    assert decode_pairs([("a[]", "x"), ("a[]", "y"), ("a[]", "")]) == {"a": ["x", "y", ""]}
    assert decode_pairs([("a[b][]", "1"), ("a[b][]", "2")]) == {"a": {"b": ["1", "2"]}}


def test_later_value_overrides_and_unterminated_bracket() -> None:
    assert decode_pairs([("x", "1"), ("x", "2")]) == {"x": "2"}
    assert decode_pairs([("a[b", "1")]) == {"a[b": "1"}


def test_body_decoding_by_content_type() -> None:
    assert parse_body(b'{"fields": {"TITLE": "X"}}', "application/json") == {
        "fields": {"TITLE": "X"}
    }
    form = b"fields%5BTITLE%5D=X&select%5B%5D=ID"
    assert parse_body(form, "application/x-www-form-urlencoded") == {
        "fields": {"TITLE": "X"},
        "select": ["ID"],
    }
    boundary = "XyZ"
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="fields[TITLE]"\r\n\r\n'
        f'Тест\r\n--{boundary}\r\nContent-Disposition: form-data; name="select[]"\r\n\r\n'
        f"ID\r\n--{boundary}--\r\n"
    ).encode()
    assert parse_body(multipart, f"multipart/form-data; boundary={boundary}") == {
        "fields": {"TITLE": "Тест"},
        "select": ["ID"],
    }
    assert parse_body(b"", "application/json") == {}
    assert parse_body(b"not json", "application/json") == {}


def test_php_casts() -> None:
    assert php_truthy("0") is False and php_truthy("") is False and php_truthy(None) is False
    assert php_truthy("1") and php_truthy("false") and php_truthy(True) and php_truthy(2)
    assert php_int("12abc") == 12 and php_int("x", 7) == 7 and php_int(3.9) == 3
