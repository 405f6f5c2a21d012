from __future__ import annotations

import json
from pathlib import Path

import pytest

from bitrix1c.errors import ConfigError
from bitrix1c.settings import TEMPLATE, json_schema, load_settings, parse_settings

ENV = {
    "BITRIX1C_WEB_PASSWORD_HASH": "scrypt$16384$8$1$c2FsdA==$aGFzaA==",
    "BITRIX24_WEBHOOK_URL": "https://acme.bitrix24.ru/rest/7/s3cr3tcode/",
    "ONEC_TRADE_PASSWORD": "pw",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bitrix1c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_template_is_valid_with_its_variables(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, TEMPLATE), env=ENV)
    assert settings.bitrix24.webhook_url.get_secret_value() == ENV["BITRIX24_WEBHOOK_URL"]
    assert settings.onec[0].password.get_secret_value() == "pw"
    assert settings.bitrix24.limits() == (2.0, 50)


def test_secrets_are_not_shown_in_repr_or_dump(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, TEMPLATE), env=ENV)
    assert "s3cr3tcode" not in repr(settings)
    assert "s3cr3tcode" not in settings.model_dump_json()
    assert "pw" not in repr(settings.onec[0].password)


def test_missing_environment_variable_names_key_and_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, TEMPLATE), env={"ONEC_TRADE_PASSWORD": "x"})
    assert "bitrix24.webhook_url" in str(info.value)
    assert "BITRIX24_WEBHOOK_URL" in str(info.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"bitrix24": {"webhook_url": "https://x.ru/rest/1/c/", "plann": "standard"}},
            "bitrix24.plann: unknown key",
        ),
        ({"bitrix24": {"webhook_url": "https://x.ru/api/"}}, "bitrix24.webhook_url"),
        ({"bitrix24": {"webhook_url": "https://x.ru/rest/1/c/", "plan": "onpremise"}}, "onpremise"),
        (
            {"onec": [{"name": "t", "odata_url": "http://h/t/", "username": "u"}]},
            "onec.0.odata_url",
        ),
        ({"store": {"url": "mysql://x"}}, "store.url"),
        ({"flows": {"counterparties": {"base": "other"}}}, "no 1C base named 'other'"),
    ],
)
def test_invalid_values_are_reported_by_key(change: dict, expected: str) -> None:
    data = {
        "bitrix24": {"webhook_url": "https://x.ru/rest/1/c/"},
        "onec": [
            {"name": "trade", "odata_url": "http://h/t/odata/standard.odata/", "username": "u"}
        ],
    }
    data.update(change)
    with pytest.raises(ConfigError) as info:
        parse_settings(data, env={})
    assert expected in str(info.value)


def test_invalid_yaml_reports_position(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "bitrix24: [unclosed\n"), env={})
    assert "not valid YAML" in str(info.value) and "line" in str(info.value)


def test_plain_sqlite_url_gets_async_driver() -> None:
    settings = parse_settings(
        {
            "bitrix24": {"webhook_url": "https://x.ru/rest/1/c"},
            "onec": [
                {"name": "t", "odata_url": "http://h/t/odata/standard.odata", "username": "u"}
            ],
            "store": {"url": "sqlite:///data/b.db"},
        },
        env={},
    )
    assert settings.store.url == "sqlite+aiosqlite:///data/b.db"
    assert settings.bitrix24.webhook_url.get_secret_value().endswith("/rest/1/c/")
    assert settings.onec[0].odata_url.endswith("standard.odata/")


def test_json_schema_describes_the_file() -> None:
    schema = json_schema()
    json.dumps(schema)
    assert schema["title"] == "bitrix1c configuration"
    assert {"bitrix24", "onec", "flows", "store", "web"} <= set(schema["properties"])
