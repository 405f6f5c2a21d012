"""Company ↔ contact bindings and cascade clean-up of owned records.

A binding row carries the company-side attributes ``crm.company.contact.items.*``
reports (``SORT``, ``ROLE_ID``, ``IS_PRIMARY``) and a contact-side primary flag that
decides the contact's ``COMPANY_ID``.
"""

from __future__ import annotations

from typing import Any

from .bankdetails import forget_bank_details, forget_requisite_link
from .params import php_int
from .store import Store


def company_items(store: Store, company_id: int) -> list[dict[str, Any]]:
    """Bindings of a company in ``crm.company.contact.items.get`` shape (integers)."""
    rows = store.query(
        "SELECT contact_id, sort, role_id, is_primary FROM company_contact "
        "WHERE company_id = ? ORDER BY sort, contact_id",
        (company_id,),
    )
    return [
        {"CONTACT_ID": int(c), "SORT": int(s), "ROLE_ID": int(r), "IS_PRIMARY": str(p)}
        for c, s, r, p in rows
    ]


def set_company_contacts(store: Store, company_id: int, items: list[dict[str, Any]]) -> None:
    """Replace the contacts bound to a company (``items.set`` semantics).

    Missing ``SORT`` keeps an existing binding's sort, otherwise ``max + 10``;
    the first ``IS_PRIMARY = Y`` item (or the first item) becomes primary.
    """
    existing = {
        int(c): (int(s), int(cp))
        for c, s, cp in store.query(
            "SELECT contact_id, sort, contact_primary FROM company_contact WHERE company_id = ?",
            (company_id,),
        )
    }
    chosen: list[tuple[int, int | None, bool]] = []
    seen: set[int] = set()
    for item in items:
        contact_id = php_int(item.get("CONTACT_ID"), 0)
        if contact_id <= 0 or contact_id in seen:
            continue
        seen.add(contact_id)
        sort = php_int(item["SORT"], 0) if item.get("SORT") not in (None, "") else None
        chosen.append((contact_id, sort, str(item.get("IS_PRIMARY", "")).upper() == "Y"))
    max_sort = max(
        [s for s, _ in existing.values()] + [s for _, s, _ in chosen if s is not None] + [0]
    )
    primary_index = next((i for i, (_, _, p) in enumerate(chosen) if p), 0)
    with store.transaction():
        store.execute("DELETE FROM company_contact WHERE company_id = ?", (company_id,))
        for index, (contact_id, sort, _) in enumerate(chosen):
            if sort is None:
                if contact_id in existing:
                    sort = existing[contact_id][0]
                else:
                    max_sort += 10
                    sort = max_sort
            store.execute(
                "INSERT INTO company_contact "
                "(company_id, contact_id, sort, role_id, is_primary, contact_primary) "
                "VALUES (?, ?, ?, 0, ?, ?)",
                (
                    company_id,
                    contact_id,
                    sort,
                    "Y" if index == primary_index else "N",
                    existing.get(contact_id, (0, 0))[1],
                ),
            )
        for contact_id in set(existing) | seen:
            refresh_contact_company(store, contact_id)


def set_contact_companies(store: Store, contact_id: int, company_ids: list[int]) -> None:
    """Replace the companies a contact belongs to; the first one is its ``COMPANY_ID``."""
    wanted: list[int] = []
    for company_id in company_ids:
        if company_id > 0 and company_id not in wanted:
            wanted.append(company_id)
    with store.transaction():
        current = {
            int(r[0])
            for r in store.query(
                "SELECT company_id FROM company_contact WHERE contact_id = ?", (contact_id,)
            )
        }
        for company_id in current - set(wanted):
            store.execute(
                "DELETE FROM company_contact WHERE company_id = ? AND contact_id = ?",
                (company_id, contact_id),
            )
            _ensure_company_primary(store, company_id)
        for company_id in wanted:
            if company_id in current:
                continue
            row = store.query(
                "SELECT COALESCE(MAX(sort), 0), COUNT(*) FROM company_contact WHERE company_id = ?",
                (company_id,),
            )[0]
            store.execute(
                "INSERT INTO company_contact "
                "(company_id, contact_id, sort, role_id, is_primary, contact_primary) "
                "VALUES (?, ?, ?, 0, ?, 0)",
                (company_id, contact_id, int(row[0]) + 10, "N" if int(row[1]) else "Y"),
            )
        store.execute(
            "UPDATE company_contact SET contact_primary = 0 WHERE contact_id = ?", (contact_id,)
        )
        if wanted:
            store.execute(
                "UPDATE company_contact SET contact_primary = 1 "
                "WHERE contact_id = ? AND company_id = ?",
                (contact_id, wanted[0]),
            )
        refresh_contact_company(store, contact_id)


def _ensure_company_primary(store: Store, company_id: int) -> None:
    rows = store.query(
        "SELECT contact_id, is_primary FROM company_contact WHERE company_id = ? "
        "ORDER BY sort, contact_id",
        (company_id,),
    )
    if rows and not any(p == "Y" for _, p in rows):
        store.execute(
            "UPDATE company_contact SET is_primary = 'Y' WHERE company_id = ? AND contact_id = ?",
            (company_id, rows[0][0]),
        )


def refresh_contact_company(store: Store, contact_id: int) -> None:
    """Recompute a contact's stored ``COMPANY_ID`` from its bindings."""
    data = store.load("contact", contact_id)
    if data is None:
        return
    rows = store.query(
        "SELECT company_id, contact_primary FROM company_contact WHERE contact_id = ? "
        "ORDER BY contact_primary DESC, sort, company_id",
        (contact_id,),
    )
    company_id = int(rows[0][0]) if rows else None
    if rows and not int(rows[0][1]):
        store.execute(
            "UPDATE company_contact SET contact_primary = 1 "
            "WHERE contact_id = ? AND company_id = ?",
            (contact_id, company_id),
        )
    if data.get("COMPANY_ID") != company_id:
        data["COMPANY_ID"] = company_id
        store.save("contact", contact_id, data)


def forget_entity(store: Store, entity_type_id: int, entity_id: int) -> None:
    """Cascade after a delete: bindings, requisites with their bank details, requisite link."""
    with store.transaction():
        if entity_type_id == 4:
            contacts = [
                int(r[0])
                for r in store.query(
                    "SELECT contact_id FROM company_contact WHERE company_id = ?", (entity_id,)
                )
            ]
            store.execute("DELETE FROM company_contact WHERE company_id = ?", (entity_id,))
            for contact_id in contacts:
                refresh_contact_company(store, contact_id)
        elif entity_type_id == 3:
            companies = [
                int(r[0])
                for r in store.query(
                    "SELECT company_id FROM company_contact WHERE contact_id = ?", (entity_id,)
                )
            ]
            store.execute("DELETE FROM company_contact WHERE contact_id = ?", (entity_id,))
            for company_id in companies:
                _ensure_company_primary(store, company_id)
            _forget_deal_contact(store, entity_id)
        requisites = [
            int(r[0])
            for r in store.query(
                "SELECT id FROM requisite WHERE json_extract(data, '$.ENTITY_TYPE_ID') = ? "
                "AND json_extract(data, '$.ENTITY_ID') = ?",
                (entity_type_id, entity_id),
            )
        ]
        forget_bank_details(store, requisites)
        store.execute(
            "DELETE FROM requisite WHERE json_extract(data, '$.ENTITY_TYPE_ID') = ? "
            "AND json_extract(data, '$.ENTITY_ID') = ?",
            (entity_type_id, entity_id),
        )
        forget_requisite_link(store, entity_type_id, entity_id)


def _forget_deal_contact(store: Store, contact_id: int) -> None:
    """A deleted contact leaves the deals it was bound to; the next one becomes primary."""
    deals = [
        int(r[0])
        for r in store.query("SELECT deal_id FROM deal_contact WHERE contact_id = ?", (contact_id,))
    ]
    store.execute("DELETE FROM deal_contact WHERE contact_id = ?", (contact_id,))
    for deal_id in deals:
        rows = store.query(
            "SELECT contact_id, is_primary FROM deal_contact WHERE deal_id = ? "
            "ORDER BY is_primary DESC, sort, contact_id",
            (deal_id,),
        )
        if rows and rows[0][1] != "Y":
            store.execute(
                "UPDATE deal_contact SET is_primary = 'Y' WHERE deal_id = ? AND contact_id = ?",
                (deal_id, rows[0][0]),
            )
        data = store.load("deal", deal_id)
        if data is not None:
            data["CONTACT_ID"] = int(rows[0][0]) if rows else None
            store.save("deal", deal_id, data)
