"""Where each concept lives in a 1C configuration (entity sets and field names).

Flows never spell Cyrillic metadata names themselves: they ask the profile.
"""

from __future__ import annotations

from collections.abc import Mapping

from bitrix1c.onec.profiles.base import CONCEPTS, Concept, CounterpartyFields, Profile
from bitrix1c.onec.profiles.bp30 import BP30
from bitrix1c.onec.profiles.overrides import ConceptOverride
from bitrix1c.onec.profiles.retail2 import RETAIL2
from bitrix1c.onec.profiles.ut11 import UT11

PROFILES: dict[str, Profile] = {"ut11": UT11, "bp30": BP30, "retail2": RETAIL2}


def get_profile(name: str, overrides: Mapping[str, ConceptOverride] | None = None) -> Profile:
    """The profile called ``name`` (ut11, bp30, retail2), with a base's YAML overrides."""
    try:
        profile = PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown 1C profile {name!r}; known: {', '.join(PROFILES)}") from None
    return profile.with_overrides(overrides) if overrides else profile


__all__ = [
    "CONCEPTS",
    "PROFILES",
    "Concept",
    "ConceptOverride",
    "CounterpartyFields",
    "Profile",
    "get_profile",
]
