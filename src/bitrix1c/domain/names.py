"""Company and person names as people type them, reduced to something comparable.

"ООО «Ромашка»", "Ромашка ООО", "Общество с ограниченной ответственностью "Ромашка"" and
"Romashka LLC" are one name. :func:`normalize_name` separates the legal form (ООО, АО,
ПАО, ЗАО, НКО, ИП and their English and full forms), drops quotes and punctuation, folds
ё into е and case, and writes every word in one Latin *skeleton* so that a Cyrillic
name and its transliteration meet. :func:`name_score` compares two normalized names
(rapidfuzz) and is only ever used to *propose* candidates for the review queue: a name
never links records on its own.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from rapidfuzz import fuzz

# Canonical legal form → the ways it is written (lower case, ё folded). Longer phrases
# first so that "публичное акционерное общество" is not read as "акционерное общество".
_FORMS: dict[str, tuple[str, ...]] = {
    "ПАО": ("публичное акционерное общество", "public joint stock company", "пао", "pjsc", "pao"),
    "ЗАО": ("закрытое акционерное общество", "closed joint stock company", "зао", "cjsc", "zao"),
    "ОАО": ("открытое акционерное общество", "open joint stock company", "оао", "ojsc", "oao"),
    "ООО": (
        "общество с ограниченной ответственностью",
        "limited liability company",
        "ооо",
        "llc",
        "ltd",
        "ooo",
    ),
    "АО": ("акционерное общество", "joint stock company", "ао", "jsc", "ao"),
    "НКО": ("некоммерческая организация", "non profit organization", "нко", "nko", "npo"),
    "ИП": ("индивидуальный предприниматель", "individual entrepreneur", "ип", "ie", "ip"),
}
# Forms of one family may be written for the same company (ЗАО became АО in 2014).
_FAMILY = {
    "ООО": "llc",
    "АО": "jsc",
    "ПАО": "jsc",
    "ЗАО": "jsc",
    "ОАО": "jsc",
    "НКО": "nko",
    "ИП": "ip",
}


_CYR = "абвгдежзийклмнопрстуфхцчшщъыьэюя"
_LAT = (
    "a",
    "b",
    "v",
    "g",
    "d",
    "e",
    "zh",
    "z",
    "i",
    "i",
    "k",
    "l",
    "m",
    "n",
    "o",
    "p",
    "r",
    "s",
    "t",
    "u",
    "f",
    "h",
    "c",
    "ch",
    "sh",
    "sh",
    "",
    "i",
    "",
    "e",
    "iu",
    "ia",
)
_TO_LATIN = str.maketrans(dict(zip(_CYR, _LAT, strict=True)))
# Latin spellings that differ only by transliteration system, folded to one.
_LATIN_FOLDS = (
    ("shch", "sh"),
    ("sch", "sh"),
    ("kh", "h"),
    ("zh", "j"),
    ("ts", "c"),
    ("tz", "c"),
    ("ck", "k"),
    ("ph", "f"),
)
# Then single letters (x→ks, w→v, q→k, y/j→i) in one pass, then Е/Ё written ye/yo/ie/io.
_LETTER_FOLDS = str.maketrans({"x": "ks", "w": "v", "q": "k", "y": "i", "j": "i"})
_VOWEL_FOLDS = (("ie", "e"), ("io", "e"))
_DOUBLE = re.compile(r"(\w)\1+")


def _first(found: re.Match[str]) -> str:
    return found.group(1)


def _form_tables() -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    words: dict[str, str] = {}
    phrases: list[tuple[str, str]] = []
    for canonical, variants in _FORMS.items():
        for variant in variants:
            if " " in variant:
                phrases.append((variant, canonical))
            else:
                words[variant] = canonical
    phrases.sort(key=lambda p: len(p[0]), reverse=True)
    return words, tuple(phrases)


_FORM_WORDS, _FORM_PHRASES = _form_tables()
# Every spelled-out form contains one of these; most names contain none, so the phrase
# search is skipped for them.
_PHRASE_MARKER = re.compile("обществ|company|предприним|entrepreneur|организац|organization")
_TOKEN = re.compile(r"[^\W_]+")


@lru_cache(maxsize=262144)
def skeleton(word: str) -> str:
    """One Latin spelling of a word, whatever script and transliteration it came in."""
    text = word.lower().replace("ё", "е").translate(_TO_LATIN)
    for old, new in _LATIN_FOLDS:
        if old in text:
            text = text.replace(old, new)
    text = text.translate(_LETTER_FOLDS)
    for old, new in _VOWEL_FOLDS:
        if old in text:
            text = text.replace(old, new)
    return _DOUBLE.sub(_first, text)


class NormalizedName(NamedTuple):
    """A name split into its legal form and its words (in Latin skeletons, sorted)."""

    legal_form: str  # ООО, АО, ПАО, ЗАО, ОАО, НКО, ИП or ""
    words: tuple[str, ...]
    key: str  # the words as one string: equal keys mean equal names up to form and order

    @property
    def family(self) -> str:
        return _FAMILY.get(self.legal_form, "")


def normalize_name(name: str) -> NormalizedName:
    """Split ``name`` into its legal form and normalized words.

    Args:
        name: A company or person name as typed (``"ООО «Ромашка»"``, ``"Romashka LLC"``).

    Returns:
        The legal form (canonical Russian abbreviation, or empty) and the remaining
        words as Latin skeletons in sorted order, so word order does not matter.
    """
    text = name.lower().replace("ё", "е")
    form = ""
    if _PHRASE_MARKER.search(text):
        for phrase, spelled_out in _FORM_PHRASES:
            if phrase in text:
                text = text.replace(phrase, " ")
                form = form or spelled_out
    words: list[str] = []
    # Quotes, hyphens and punctuation separate words; a legal form is not a word.
    for token in _TOKEN.findall(text):
        canonical = _FORM_WORDS.get(token)
        if canonical is not None:
            form = form or canonical
        else:
            words.append(skeleton(token))
    words.sort()
    return NormalizedName(form, tuple(words), " ".join(words))


def name_score(a: NormalizedName, b: NormalizedName, set_ratio: float | None = None) -> float:
    """How alike two names are, 0–100 (100: the same name up to form, order, script).

    A sole proprietor and a company are different persons even under one name, and an
    ООО and an АО with one name are two legal entities (ЗАО → АО is one family: the 2014
    renaming), so different legal-form families cut the score below the suggestion
    threshold; a missing form does not. One name
    being part of the other ("Ромашка" in "Ромашка Трейд") counts a little less.

    Args:
        a: One normalized name.
        b: The other.
        set_ratio: ``fuzz.token_set_ratio`` of their keys, if the caller has it already.
    """
    if not a.words or not b.words:
        return 0.0
    score = float(fuzz.ratio(a.key, b.key))
    if score < 100 and (len(a.words) > 1 or len(b.words) > 1):
        if set_ratio is None:
            set_ratio = float(fuzz.token_set_ratio(a.key, b.key))
        score = max(score, set_ratio - 5)
    if a.legal_form and b.legal_form and a.legal_form != b.legal_form:
        families = (_FAMILY[a.legal_form], _FAMILY[b.legal_form])
        if families[0] != families[1]:
            score -= 30 if "ip" in families else 20
    return max(score, 0.0)
