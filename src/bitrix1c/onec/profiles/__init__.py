"""Where each concept lives in a 1C configuration (entity sets and field names).

Flows never spell Cyrillic metadata names themselves: they ask the profile.
"""

from __future__ import annotations

from bitrix1c.onec.profiles.base import CounterpartyFields, Profile
from bitrix1c.onec.profiles.bp30 import BP30
from bitrix1c.onec.profiles.ut11 import UT11

PROFILES: dict[str, Profile] = {"ut11": UT11, "bp30": BP30}


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (ut11, bp30)."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown 1C profile {name!r}; known: {', '.join(PROFILES)}") from None


__all__ = ["PROFILES", "CounterpartyFields", "Profile", "get_profile"]
