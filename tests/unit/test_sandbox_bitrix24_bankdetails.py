"""crm.requisite.bankdetail.* and crm.requisite.link.* of the Bitrix24 emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bitrix1c.bitrix24.encoding import command
from bitrix1c.sandbox.bitrix24 import Portal, RestError


@pytest.fixture
def portal() -> Iterator[Portal]:
    p = Portal(None)
    yield p
    p.close()


def _add(portal: Portal, method: str, fields: dict[str, Any]) -> int:
    result = portal.call(method, {"fields": fields})["result"]
    assert isinstance(result, int)
    return result


def _company(portal: Portal, **extra: Any) -> int:
    return _add(portal, "crm.company.add", {"TITLE": "ООО «Ромашка»", **extra})


def _requisite(portal: Portal, entity_type_id: int, entity_id: int) -> int:
    return _add(
        portal,
        "crm.requisite.add",
        {"ENTITY_TYPE_ID": entity_type_id, "ENTITY_ID": entity_id, "PRESET_ID": 1, "NAME": "Р"},
    )


def _bank(portal: Portal, requisite_id: int, **extra: Any) -> int:
    fields = {
        "ENTITY_ID": requisite_id,
        "NAME": "ПАО Супербанк",
        "RQ_BANK_NAME": "ПАО Супербанк",
        "RQ_BIK": "044525225",
        "RQ_ACC_NUM": "40702810938000060473",
        "RQ_COR_ACC_NUM": "30101810400000000225",
        "RQ_ACC_CURRENCY": "RUR",
        "XML_ID": "1e4641fd-2dd9-31e6-b2f2-105056c00008",
        **extra,
    }
    return _add(portal, "crm.requisite.bankdetail.add", fields)


def _error(portal: Portal, method: str, params: dict[str, Any]) -> RestError:
    with pytest.raises(RestError) as caught:
        portal.call(method, params)
    return caught.value


# --- bank details ---------------------------------------------------------------------


def test_bank_detail_lifecycle(portal: Portal) -> None:
    requisite_id = _requisite(portal, 4, _company(portal))
    bank_id = _bank(portal, requisite_id, SORT=600)
    got = portal.call("crm.requisite.bankdetail.get", {"id": bank_id})["result"]
    spec_keys = [
        "ID", "ENTITY_ID", "COUNTRY_ID", "DATE_CREATE", "DATE_MODIFY", "CREATED_BY_ID",
        "MODIFY_BY_ID", "NAME", "CODE", "XML_ID", "ORIGINATOR_ID", "ACTIVE", "SORT",
        "RQ_BANK_NAME", "RQ_BANK_CODE", "RQ_BANK_ADDR", "RQ_BANK_ROUTE_NUM", "RQ_BIK", "RQ_MFO",
        "RQ_ACC_NAME", "RQ_ACC_NUM", "RQ_ACC_TYPE", "RQ_IIK", "RQ_ACC_CURRENCY", "RQ_COR_ACC_NUM",
        "RQ_IBAN", "RQ_SWIFT", "RQ_BIC", "RQ_CODEB", "RQ_CODEG", "RQ_RIB", "RQ_AGENCY_NAME",
        "COMMENTS",
    ]  # fmt: skip
    assert list(got) == spec_keys  # the key order of the docs' sample
    assert got["ENTITY_ID"] == str(requisite_id) and got["COUNTRY_ID"] == "1"
    assert (got["RQ_BIK"], got["ACTIVE"], got["SORT"], got["DATE_MODIFY"]) == (
        "044525225",
        "Y",
        "600",
        "",
    )
    assert (
        portal.call(
            "crm.requisite.bankdetail.update",
            {"id": bank_id, "fields": {"RQ_ACC_NUM": "40702810000000000001", "ENTITY_ID": 999}},
        )["result"]
        is True
    )
    changed = portal.call("crm.requisite.bankdetail.get", {"id": bank_id})["result"]
    # the owner cannot change; the account did
    assert (changed["RQ_ACC_NUM"], changed["ENTITY_ID"]) == (
        "40702810000000000001",
        str(requisite_id),
    )
    assert changed["DATE_MODIFY"] and changed["MODIFY_BY_ID"] == "1"
    assert portal.call("crm.requisite.bankdetail.delete", {"id": bank_id})["result"] is True
    error = _error(portal, "crm.requisite.bankdetail.get", {"id": bank_id})
    assert (error.status, error.code, error.description) == (
        400,
        "",
        f"The RequisiteBankDetail with ID '{bank_id}' is not found",
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"NAME": "Банк"}, "ENTITY_ID is not defined or invalid."),
        ({"ENTITY_ID": 0, "NAME": "Банк"}, "ENTITY_ID is not defined or invalid."),
        ({"ENTITY_ID": 999, "NAME": "Банк"}, "The Requisite with ID '999' is not found"),
        (
            {"ENTITY_ID": "R", "ENTITY_TYPE_ID": 4, "NAME": "Банк"},
            "ENTITY_TYPE_ID is not defined or invalid.",
        ),
        ({"ENTITY_ID": "R"}, 'Поле "Название" обязательно для заполнения.'),
    ],
)
def test_bank_detail_add_validation(portal: Portal, fields: dict[str, Any], message: str) -> None:
    requisite_id = _requisite(portal, 4, _company(portal))
    fields = {k: (requisite_id if v == "R" else v) for k, v in fields.items()}
    error = _error(portal, "crm.requisite.bankdetail.add", {"fields": fields})
    assert (error.status, error.code, error.description) == (400, "", message)
    assert portal.call("crm.requisite.bankdetail.list")["total"] == 0


def test_bank_detail_missing_ids(portal: Portal) -> None:
    for method in ("get", "update", "delete"):
        error = _error(portal, f"crm.requisite.bankdetail.{method}", {"fields": {"NAME": "x"}})
        assert (error.status, error.description) == (400, "ID is not defined or invalid.")
    error = _error(portal, "crm.requisite.bankdetail.update", {"id": 5, "fields": {"NAME": "x"}})
    assert error.description == "The RequisiteBankDetail with ID '5' is not found"


def test_bank_detail_list_filter_select_order_and_paging(portal: Portal) -> None:
    first = _requisite(portal, 4, _company(portal))
    second = _requisite(portal, 4, _company(portal))
    ids = [_bank(portal, first, NAME=f"Банк {i:02d}", RQ_BIK=f"0445252{i:02d}") for i in range(55)]
    other = _bank(portal, second, NAME="Альфа", RQ_BIK="044525593")
    page = portal.call(
        "crm.requisite.bankdetail.list",
        {"filter": {"ENTITY_ID": first}, "select": ["ID", "RQ_BIK"], "order": {"ID": "DESC"}},
    )
    assert (page["total"], page["next"], len(page["result"])) == (55, 50, 50)
    assert page["result"][0] == {"ID": str(ids[-1]), "RQ_BIK": "044525254"}
    rest = portal.call(
        "crm.requisite.bankdetail.list",
        {"filter": {"ENTITY_ID": first}, "select": ["ID"], "order": {"ID": "DESC"}, "start": 50},
    )
    assert [r["ID"] for r in rest["result"]] == [str(i) for i in reversed(ids[:5])]
    assert "next" not in rest
    found = portal.call(
        "crm.requisite.bankdetail.list",
        {"filter": {"%NAME": "альф", "@ENTITY_ID": [first, second]}, "select": ["ID", "ENTITY_ID"]},
    )
    assert found["result"] == [{"ID": str(other), "ENTITY_ID": str(second)}]
    fast = portal.call(
        "crm.requisite.bankdetail.list",
        {"filter": {">ID": ids[49]}, "order": {"ID": "ASC"}, "select": ["ID"], "start": -1},
    )
    assert [r["ID"] for r in fast["result"]] == [str(i) for i in [*ids[50:], other]]
    assert fast["total"] == 0 and "next" not in fast
    error = _error(portal, "crm.requisite.bankdetail.list", {"select": ["NOPE"]})
    assert (error.status, error.code) == (400, "100")
    assert "BankDetailTable" in error.description


def test_deleting_a_requisite_or_its_company_drops_bank_details(portal: Portal) -> None:
    company = _company(portal)
    kept = _bank(portal, _requisite(portal, 4, _company(portal)))
    requisite_id = _requisite(portal, 4, company)
    _bank(portal, requisite_id)
    portal.call("crm.requisite.delete", {"id": requisite_id})
    listed = portal.call("crm.requisite.bankdetail.list", {"select": ["ID"]})["result"]
    assert listed == [{"ID": str(kept)}]
    _bank(portal, _requisite(portal, 4, company))
    portal.call("crm.company.delete", {"id": company})
    listed = portal.call("crm.requisite.bankdetail.list", {"select": ["ID"]})["result"]
    assert listed == [{"ID": str(kept)}]


def test_bank_details_in_batch_with_result_references(portal: Portal) -> None:
    company = _company(portal)
    reply = portal.call(
        "batch",
        {
            "halt": 0,
            "cmd": {
                "r": command(
                    "crm.requisite.add",
                    {
                        "fields": {
                            "ENTITY_TYPE_ID": 4,
                            "ENTITY_ID": company,
                            "PRESET_ID": 1,
                            "NAME": "Р",
                        }
                    },
                ),
                "b": command(
                    "crm.requisite.bankdetail.add",
                    {"fields": {"ENTITY_ID": "$result[r]", "NAME": "Банк", "RQ_BIK": "044525225"}},
                ),
                "bad": command("crm.requisite.bankdetail.add", {"fields": {"ENTITY_ID": 999}}),
                "list": command(
                    "crm.requisite.bankdetail.list",
                    {"filter": {"ENTITY_ID": "$result[r]"}, "select": ["ID", "RQ_BIK"]},
                ),
            },
        },
    )["result"]
    bank_id = reply["result"]["b"]
    assert reply["result"]["list"] == [{"ID": str(bank_id), "RQ_BIK": "044525225"}]
    assert reply["result_total"]["list"] == 1
    assert reply["result_error"]["bad"]["error_description"] == (
        "The Requisite with ID '999' is not found"
    )


def test_bank_details_and_links_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "portal.sqlite"
    portal = Portal(path)
    company = _company(portal)
    requisite_id = _requisite(portal, 4, company)
    bank_id = _bank(portal, requisite_id)
    deal = _add(portal, "crm.deal.add", {"TITLE": "Сделка", "COMPANY_ID": company})
    link = {"ENTITY_TYPE_ID": 2, "ENTITY_ID": deal, "REQUISITE_ID": requisite_id}
    link |= {"BANK_DETAIL_ID": bank_id, "MC_REQUISITE_ID": 0, "MC_BANK_DETAIL_ID": 0}
    portal.call("crm.requisite.link.register", {"fields": link})
    portal.close()
    reopened = Portal(path)
    try:
        got = reopened.call("crm.requisite.bankdetail.get", {"id": bank_id})["result"]
        assert got["RQ_ACC_NUM"] == "40702810938000060473"
        linked = reopened.call("crm.requisite.link.get", {"entityTypeId": 2, "entityId": deal})
        assert linked["result"]["BANK_DETAIL_ID"] == str(bank_id)
        assert _bank(reopened, requisite_id) == bank_id + 1  # ids keep counting
    finally:
        reopened.close()


def test_bank_detail_changes_are_offline_events(portal: Portal) -> None:
    portal.install_application("app.b", "secret")
    portal.call(
        "event.bind", {"event": "ONCRMBANKDETAILADD", "event_type": "offline"}, client_id="app.b"
    )
    portal.call(
        "event.bind", {"event": "ONCRMBANKDETAILDELETE", "event_type": "offline"}, client_id="app.b"
    )
    bank_id = _bank(portal, _requisite(portal, 4, _company(portal)))
    portal.call("crm.requisite.bankdetail.delete", {"id": bank_id})
    events = portal.call("event.offline.get", {}, client_id="app.b")["result"]["events"]
    assert [(e["EVENT_NAME"], e["EVENT_DATA"]["FIELDS"]["ID"]) for e in events] == [
        ("ONCRMBANKDETAILADD", bank_id),
        ("ONCRMBANKDETAILDELETE", bank_id),
    ]


# --- requisite links ------------------------------------------------------------------


@pytest.fixture
def deal_setup(portal: Portal) -> dict[str, int]:
    client = _company(portal)
    mine = _company(portal, IS_MY_COMPANY="Y")
    stranger = _company(portal)
    ids = {"client": client, "mine": mine}
    ids["rq"] = _requisite(portal, 4, client)
    ids["bank"] = _bank(portal, ids["rq"])
    ids["mc_rq"] = _requisite(portal, 4, mine)
    ids["mc_bank"] = _bank(portal, ids["mc_rq"])
    ids["other_rq"] = _requisite(portal, 4, stranger)
    ids["other_bank"] = _bank(portal, ids["other_rq"])
    ids["deal"] = _add(portal, "crm.deal.add", {"TITLE": "Поставка", "COMPANY_ID": client})
    return ids


def _link(ids: dict[str, int], **override: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ENTITY_TYPE_ID": 2,
        "ENTITY_ID": ids["deal"],
        "REQUISITE_ID": ids["rq"],
        "BANK_DETAIL_ID": ids["bank"],
        "MC_REQUISITE_ID": ids["mc_rq"],
        "MC_BANK_DETAIL_ID": ids["mc_bank"],
    }
    fields.update(override)
    return {"fields": {k: v for k, v in fields.items() if v is not None}}


def test_link_register_get_list_unregister(portal: Portal, deal_setup: dict[str, int]) -> None:
    ids = deal_setup
    assert portal.call("crm.requisite.link.register", _link(ids))["result"] is True
    got = portal.call("crm.requisite.link.get", {"entityTypeId": 2, "entityId": ids["deal"]})
    assert got["result"] == {
        "ENTITY_TYPE_ID": 2,
        "ENTITY_ID": ids["deal"],
        "REQUISITE_ID": str(ids["rq"]),
        "BANK_DETAIL_ID": str(ids["bank"]),
        "MC_REQUISITE_ID": str(ids["mc_rq"]),
        "MC_BANK_DETAIL_ID": str(ids["mc_bank"]),
    }
    # registering again replaces the link; zeros mean "no requisite chosen"
    portal.call("crm.requisite.link.register", _link(ids, MC_REQUISITE_ID=0, MC_BANK_DETAIL_ID=0))
    listed = portal.call("crm.requisite.link.list", {"filter": {"ENTITY_TYPE_ID": 2}})
    assert listed["total"] == 1
    assert listed["result"] == [
        {
            "ENTITY_TYPE_ID": "2",
            "ENTITY_ID": str(ids["deal"]),
            "REQUISITE_ID": str(ids["rq"]),
            "BANK_DETAIL_ID": str(ids["bank"]),
            "MC_REQUISITE_ID": "0",
            "MC_BANK_DETAIL_ID": "0",
        }
    ]
    selected = portal.call("crm.requisite.link.list", {"select": ["ENTITY_ID", "BANK_DETAIL_ID"]})
    assert selected["result"] == [
        {"ENTITY_ID": str(ids["deal"]), "BANK_DETAIL_ID": str(ids["bank"])}
    ]
    params = {"entityTypeId": 2, "entityId": ids["deal"]}
    assert portal.call("crm.requisite.link.unregister", params)["result"] is True
    error = _error(portal, "crm.requisite.link.get", params)
    assert (error.status, error.description) == (400, "Not found")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"ENTITY_TYPE_ID": 4}, "ENTITY_TYPE_ID is not defined or invalid."),
        ({"ENTITY_ID": None}, "ENTITY_ID is not defined or invalid."),
        ({"ENTITY_ID": 999}, "Entity is not found"),
        ({"BANK_DETAIL_ID": None}, "BANK_DETAIL_ID is not defined or invalid."),
        ({"MC_REQUISITE_ID": -1}, "MC_REQUISITE_ID is not defined or invalid."),
        ({"REQUISITE_ID": 999}, "The Requisite with ID '999' is not found"),
        ({"REQUISITE_ID": "other_rq", "BANK_DETAIL_ID": 0}, "The Requisite with ID '{other_rq}' is not assigned to Company with ID '{client}'"),
        ({"BANK_DETAIL_ID": 999}, "The BankDetail with ID '999' is not found"),
        ({"BANK_DETAIL_ID": "other_bank"}, "The BankDetail with ID '{other_bank}' is not assigned to Requisite with ID '{rq}'"),
        ({"MC_REQUISITE_ID": 999}, "The Requisite of your company with ID '999' is not found"),
        ({"MC_REQUISITE_ID": "other_rq", "MC_BANK_DETAIL_ID": 0}, "The Requisite with ID '{other_rq}' is not assigned to your company with ID '{stranger}'"),
        ({"MC_BANK_DETAIL_ID": 999}, "The BankDetail of your company with ID '999' is not found"),
        ({"MC_BANK_DETAIL_ID": "bank"}, "The BankDetail of your company with ID '{bank}' is not assigned to Requisite of your company with ID '{mc_rq}'"),
    ],
)  # fmt: skip
def test_link_register_checks_the_requisites_belong_to_the_parties(
    portal: Portal, deal_setup: dict[str, int], override: dict[str, Any], message: str
) -> None:
    ids = {**deal_setup, "stranger": deal_setup["mine"] + 1}
    resolved = {k: ids[v] if isinstance(v, str) else v for k, v in override.items()}
    fields = _link(ids)["fields"]
    for key, value in resolved.items():
        if value is None:
            fields.pop(key)
        else:
            fields[key] = value
    error = _error(portal, "crm.requisite.link.register", {"fields": fields})
    assert (error.status, error.code, error.description) == (400, "", message.format(**ids))
    assert portal.call("crm.requisite.link.list")["total"] == 0


def test_link_accepts_a_contact_requisite_and_goes_with_its_deal(portal: Portal) -> None:
    contact = _add(portal, "crm.contact.add", {"NAME": "Иван"})
    requisite_id = _requisite(portal, 3, contact)
    deal = _add(portal, "crm.deal.add", {"TITLE": "Частное лицо", "CONTACT_ID": contact})
    fields = {"ENTITY_TYPE_ID": 2, "ENTITY_ID": deal, "REQUISITE_ID": requisite_id}
    fields |= {"BANK_DETAIL_ID": 0, "MC_REQUISITE_ID": 0, "MC_BANK_DETAIL_ID": 0}
    portal.call("crm.requisite.link.register", {"fields": fields})
    assert portal.call("crm.requisite.link.list")["total"] == 1
    portal.call("crm.deal.delete", {"id": deal})
    assert portal.call("crm.requisite.link.list")["total"] == 0


def test_link_key_parameters_are_checked(portal: Portal) -> None:
    for method in ("get", "unregister"):
        error = _error(portal, f"crm.requisite.link.{method}", {"entityId": 1})
        assert error.description == "entityTypeId is not defined or invalid."
        error = _error(portal, f"crm.requisite.link.{method}", {"entityTypeId": 2})
        assert error.description == "entityId is not defined or invalid."
