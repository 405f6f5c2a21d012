"""Bitrix24 look-ups the flows share: who already carries these phones and e-mails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from bitrix1c.bitrix24.client import Bitrix24Client, Commands

MAX_VALUES = 20  # crm.duplicate.findbycomm takes at most 20 values per call


def phone_spellings(phones: Sequence[str]) -> list[str]:
    """E.164 numbers and their national ``8…`` form: hand-typed CRM phones carry either."""
    out: list[str] = []
    for phone in phones:
        out.append(phone)
        if phone.startswith("+7") and len(phone) == 12:
            out.append("8" + phone[2:])
    return list(dict.fromkeys(out))


async def find_by_comm(
    b24: Bitrix24Client,
    wanted: Mapping[str, tuple[Sequence[str], Sequence[str]]],
    entity_type: Literal["COMPANY", "CONTACT"],
) -> dict[str, tuple[set[int], set[int]]]:
    """Records of ``entity_type`` carrying each key's phones and e-mails.

    Args:
        b24: The portal.
        wanted: Key (a 1C Ref_Key) → (phones in E.164, e-mails).
        entity_type: Which records to look among.

    Returns:
        Key → (ids found by phone, ids found by e-mail); keys with nothing to look for
        are left out.
    """
    commands: Commands = {}
    owners: dict[str, str] = {}
    for n, (key, (phones, emails)) in enumerate(wanted.items()):
        for kind, values in (
            ("PHONE", phone_spellings(phones)[:MAX_VALUES]),
            ("EMAIL", list(emails[:MAX_VALUES])),
        ):
            if values:
                command = f"{kind[:2].lower()}{n}"
                commands[command] = (
                    "crm.duplicate.findbycomm",
                    {"type": kind, "values": values, "entity_type": entity_type},
                )
                owners[command] = key
    hits: dict[str, tuple[set[int], set[int]]] = {}
    for command, result in (await b24.read_batched(commands)).items():
        # An empty PHP array (a list) when nothing matches (bitrix24.md §6.2).
        ids = result.get(entity_type) or [] if isinstance(result, dict) else []
        by_phone, by_email = hits.setdefault(owners[command], (set(), set()))
        (by_phone if command.startswith("ph") else by_email).update(int(i) for i in ids)
    return hits
