"""``crm.requisite.bankdetail.*`` and ``crm.requisite.link.*``.

A bank detail belongs to a requisite (``ENTITY_ID``; its owner type is always 8).
A requisite link says which client requisite / bank detail and which of our own
company's ("MC") a deal or invoice uses; it is keyed by ``(ENTITY_TYPE_ID,
ENTITY_ID)``.  Texts and shapes follow the method specs (``resultExample``) and the
error tables of EN:api-reference/crm/requisites/bank-detail/ and …/links/
(``The RequisiteBankDetail with ID '357' is not found``, ``The BankDetail with ID
'24' is not assigned to Requisite with ID '60'`` …).  The list methods run on the
D7 ORM like ``crm.requisite.list``.
"""

from __future__ import annotations

from typing import Any

from .errors import crm_error
from .fields import BANK_DETAIL, REQUISITE_LINK
from .params import get_ci, php_int
from .records import Context, fields_param, id_param
from .requisites import orm_list, render_row
from .store import Store
from .values import now_iso, to_stored

_READ_ONLY = {"ID", "DATE_CREATE", "DATE_MODIFY", "CREATED_BY_ID", "MODIFY_BY_ID"}
_NAME_REQUIRED = 'Поле "Название" обязательно для заполнения.'
# Entity types whose records the sandbox keeps: deal and smart invoice.
_LINK_OWNERS = {2: "deal", 31: "smart_invoice"}
_LINK_IDS = ("REQUISITE_ID", "BANK_DETAIL_ID", "MC_REQUISITE_ID", "MC_BANK_DETAIL_ID")


def forget_bank_details(store: Store, requisite_ids: list[int]) -> None:
    """Cascade: bank details of deleted requisites go with them."""
    for start in range(0, len(requisite_ids), 500):
        chunk = requisite_ids[start : start + 500]
        store.execute(
            "DELETE FROM bankdetail WHERE json_extract(data, '$.ENTITY_ID') "
            f"IN ({','.join('?' * len(chunk))})",
            chunk,
        )


def _not_found(record_id: int) -> Exception:
    return crm_error(f"The RequisiteBankDetail with ID '{record_id}' is not found")


class BankDetails:
    """``crm.requisite.bankdetail.{add,get,list,update,delete}``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.defs = BANK_DETAIL.by_name()

    def _apply(self, data: dict[str, Any], fields: dict[str, Any]) -> None:
        for key, value in fields.items():
            fdef = self.defs.get(key)
            # the owner is immutable: a bank detail cannot move to another requisite
            if fdef is None or key in _READ_ONLY or key == "ENTITY_ID":
                continue
            data[key] = to_stored(fdef.kind, fdef.type, value)

    def _requisite_country(self, fields: dict[str, Any]) -> int:
        requisite_id = php_int(fields.get("ENTITY_ID"), 0)
        if requisite_id <= 0:
            raise crm_error("ENTITY_ID is not defined or invalid.")
        entity_type_id = fields.get("ENTITY_TYPE_ID")
        if entity_type_id not in (None, "") and php_int(entity_type_id, 0) != 8:
            raise crm_error("ENTITY_TYPE_ID is not defined or invalid.")
        requisite = self.store.load("requisite", requisite_id)
        if requisite is None:
            raise crm_error(f"The Requisite with ID '{requisite_id}' is not found")
        preset = self.store.load("preset", php_int(requisite.get("PRESET_ID"), 0)) or {}
        return php_int(preset.get("COUNTRY_ID"), 1) or 1

    def add(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Create a bank detail of an existing requisite → ``{"result": <id>}``."""
        fields = fields_param(params)
        with self.store.transaction():
            country = self._requisite_country(fields)
            if not str(fields.get("NAME") or "").strip():
                raise crm_error(_NAME_REQUIRED)
            data: dict[str, Any] = {n: None for n in BANK_DETAIL.stored_names() if n != "ID"}
            data.update(
                {
                    "ENTITY_ID": php_int(fields["ENTITY_ID"]),
                    "COUNTRY_ID": country,
                    "DATE_CREATE": now_iso(),
                    "CREATED_BY_ID": ctx.user_id,
                    "ACTIVE": "Y",
                    "SORT": 500,
                }
            )
            self._apply(data, fields)
            return {"result": self.store.insert("bankdetail", data)}

    def get(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """One bank detail with every field."""
        record_id = id_param(params)
        data = self.store.load("bankdetail", record_id)
        if data is None:
            raise _not_found(record_id)
        return {"result": render_row(record_id, data, BANK_DETAIL.stored_names())}

    def update(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Change a bank detail → ``{"result": true}``."""
        record_id = id_param(params)
        fields = fields_param(params)
        with self.store.transaction():
            data = self.store.load("bankdetail", record_id)
            if data is None:
                raise _not_found(record_id)
            if "NAME" in fields and not str(fields.get("NAME") or "").strip():
                raise crm_error(_NAME_REQUIRED)
            self._apply(data, fields)
            data["DATE_MODIFY"] = now_iso()
            data["MODIFY_BY_ID"] = ctx.user_id
            self.store.save("bankdetail", record_id, data)
        return {"result": True}

    def delete(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Remove a bank detail → ``{"result": true}``."""
        record_id = id_param(params)
        with self.store.transaction():
            if self.store.load("bankdetail", record_id) is None:
                raise _not_found(record_id)
            self.store.delete("bankdetail", record_id)
        return {"result": True}

    def list_items(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Filtered 50-row page of bank details."""
        return orm_list(self.store, BANK_DETAIL, params)


class RequisiteLinks:
    """``crm.requisite.link.{register,get,list,unregister}``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _find(self, entity_type_id: int, entity_id: int) -> tuple[int, dict[str, Any]] | None:
        rows = self.store.query(
            "SELECT id FROM requisite_link WHERE json_extract(data, '$.ENTITY_TYPE_ID') = ? "
            "AND json_extract(data, '$.ENTITY_ID') = ?",
            (entity_type_id, entity_id),
        )
        if not rows:
            return None
        link_id = int(rows[0][0])
        return link_id, self.store.load("requisite_link", link_id) or {}

    def _owner(self, entity_type_id: int, entity_id: int) -> dict[str, Any]:
        """The deal / invoice a link belongs to (``Entity is not found`` otherwise)."""
        owner = self.store.load(_LINK_OWNERS[entity_type_id], entity_id)
        if owner is None:
            raise crm_error("Entity is not found")
        return owner

    def _client_owners(self, entity_type_id: int, entity_id: int, owner: dict[str, Any]) -> Any:
        company_id = php_int(owner.get("COMPANY_ID"), 0)
        contacts = {php_int(owner.get("CONTACT_ID"), 0)} - {0}
        if entity_type_id == 2:
            contacts |= {
                int(r[0])
                for r in self.store.query(
                    "SELECT contact_id FROM deal_contact WHERE deal_id = ?", (entity_id,)
                )
            }
        return company_id, contacts

    def _check_client(self, ids: dict[str, int], company_id: int, contacts: set[int]) -> None:
        requisite_id, bank_detail_id = ids["REQUISITE_ID"], ids["BANK_DETAIL_ID"]
        if requisite_id > 0:
            requisite = self.store.load("requisite", requisite_id)
            if requisite is None:
                raise crm_error(f"The Requisite with ID '{requisite_id}' is not found")
            owner = (
                php_int(requisite.get("ENTITY_TYPE_ID"), 0),
                php_int(requisite.get("ENTITY_ID"), 0),
            )
            if owner != (4, company_id) and not (owner[0] == 3 and owner[1] in contacts):
                whom = (
                    f"Company with ID '{company_id}'"
                    if company_id or not contacts
                    else f"Contact with ID '{min(contacts)}'"
                )
                raise crm_error(f"The Requisite with ID '{requisite_id}' is not assigned to {whom}")
        if bank_detail_id > 0:
            detail = self.store.load("bankdetail", bank_detail_id)
            if detail is None:
                raise crm_error(f"The BankDetail with ID '{bank_detail_id}' is not found")
            if php_int(detail.get("ENTITY_ID"), 0) != requisite_id:
                raise crm_error(
                    f"The BankDetail with ID '{bank_detail_id}' is not assigned to "
                    f"Requisite with ID '{requisite_id}'"
                )

    def _check_my_company(self, ids: dict[str, int], owner: dict[str, Any]) -> None:
        requisite_id, bank_detail_id = ids["MC_REQUISITE_ID"], ids["MC_BANK_DETAIL_ID"]
        if requisite_id > 0:
            requisite = self.store.load("requisite", requisite_id)
            if requisite is None:
                raise crm_error(
                    f"The Requisite of your company with ID '{requisite_id}' is not found"
                )
            company_id = php_int(requisite.get("ENTITY_ID"), 0)
            company = self.store.load("company", company_id) or {}
            wanted = php_int(owner.get("MYCOMPANY_ID"), 0) or company_id
            if (
                php_int(requisite.get("ENTITY_TYPE_ID"), 0) != 4
                or company.get("IS_MY_COMPANY") != "Y"
                or company_id != wanted
            ):
                raise crm_error(
                    f"The Requisite with ID '{requisite_id}' is not assigned to your company "
                    f"with ID '{wanted}'"
                )
        if bank_detail_id > 0:
            detail = self.store.load("bankdetail", bank_detail_id)
            if detail is None:
                raise crm_error(
                    f"The BankDetail of your company with ID '{bank_detail_id}' is not found"
                )
            if php_int(detail.get("ENTITY_ID"), 0) != requisite_id:
                raise crm_error(
                    f"The BankDetail of your company with ID '{bank_detail_id}' is not assigned "
                    f"to Requisite of your company with ID '{requisite_id}'"
                )

    @staticmethod
    def _key(params: dict[str, Any]) -> tuple[int, int]:
        entity_type_id = php_int(get_ci(params, "entityTypeId"), 0)
        if entity_type_id <= 0:
            raise crm_error("entityTypeId is not defined or invalid.")
        entity_id = php_int(get_ci(params, "entityId"), 0)
        if entity_id <= 0:
            raise crm_error("entityId is not defined or invalid.")
        return entity_type_id, entity_id

    def register(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Register (or replace) the link of a deal / invoice → ``{"result": true}``."""
        fields = fields_param(params)
        entity_type_id = php_int(fields.get("ENTITY_TYPE_ID"), 0)
        if entity_type_id not in _LINK_OWNERS:
            raise crm_error("ENTITY_TYPE_ID is not defined or invalid.")
        entity_id = php_int(fields.get("ENTITY_ID"), 0)
        if entity_id <= 0:
            raise crm_error("ENTITY_ID is not defined or invalid.")
        ids: dict[str, int] = {}
        for name in _LINK_IDS:
            value = fields.get(name)
            # every id is required; 0 means "none chosen"
            if value is None or value == "" or php_int(value, -1) < 0:
                raise crm_error(f"{name} is not defined or invalid.")
            ids[name] = php_int(value)
        with self.store.transaction():
            owner = self._owner(entity_type_id, entity_id)
            company_id, contacts = self._client_owners(entity_type_id, entity_id, owner)
            self._check_client(ids, company_id, contacts)
            self._check_my_company(ids, owner)
            data = {"ENTITY_TYPE_ID": entity_type_id, "ENTITY_ID": entity_id, **ids}
            found = self._find(entity_type_id, entity_id)
            if found is None:
                self.store.insert("requisite_link", data)
            else:
                self.store.save("requisite_link", found[0], data)
        return {"result": True}

    def get(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """The link of one deal / invoice (``Not found`` if none was registered)."""
        entity_type_id, entity_id = self._key(params)
        found = self._find(entity_type_id, entity_id)
        if found is None:
            raise crm_error("Not found")
        data = found[1]
        # The sample prints the key as integers and the chosen ids as strings.
        result: dict[str, Any] = {"ENTITY_TYPE_ID": entity_type_id, "ENTITY_ID": entity_id}
        result.update({name: str(php_int(data.get(name), 0)) for name in _LINK_IDS})
        return {"result": result}

    def list_items(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Filtered 50-row page of links (every value a string, as in the sample)."""
        return orm_list(self.store, REQUISITE_LINK, params)

    def unregister(self, params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Remove the link of a deal / invoice → ``{"result": true}``."""
        entity_type_id, entity_id = self._key(params)
        with self.store.transaction():
            found = self._find(entity_type_id, entity_id)
            if found is None:
                raise crm_error("Not found")
            self.store.delete("requisite_link", found[0])
        return {"result": True}


def forget_requisite_link(store: Store, entity_type_id: int, entity_id: int) -> None:
    """Cascade: a deleted deal / invoice loses its requisite link."""
    store.execute(
        "DELETE FROM requisite_link WHERE json_extract(data, '$.ENTITY_TYPE_ID') = ? "
        "AND json_extract(data, '$.ENTITY_ID') = ?",
        (entity_type_id, entity_id),
    )
