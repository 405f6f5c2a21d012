"""Generate the labeled counterparty pairs: ``python tests/data/make_pairs.py``.

Each line of ``counterparty_pairs.jsonl`` is one pair: a 1C counterparty, a Bitrix24
company (with or without a requisite, phones, e-mails) and whether they are the same
client (``duplicate``), with the ``variant`` that made them differ. The variants are what
managers and 1C operators actually produce: legal form after the name or spelled out,
other quotes, case, ё/е, typos, transliteration, phones in another format, e-mails in
another case, companies without requisites, individuals without an INN. Hard negatives:
branches (one INN, another KPP), a sole proprietor and an LLC under one name, a shared
office phone of a company with its own INN, look-alike names with other INNs.

The output is deterministic (fixed seed); rerun after changing this script.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from faker import Faker

from bitrix1c.domain.requisites import generate_inn_legal, generate_inn_person, generate_kpp

SEED = 20261124
PAIRS = 2400
OUT = Path(__file__).with_name("counterparty_pairs.jsonl")

_SYLLABLES = (
    "ал бер вит гра дор ем зар ин кор лан мир нов ор пер рос сан тор ур фар хим цен чер шат "
    "юг яр бал вол гор дан жел зол кам лес мет нор опт пром рем сиб тех уют фин эл ком "
    "стр иск тур вест снаб лог агр"
).split()
_TAILS = ("", "", "", "ия", "ика", "он", "ин", "ус", "ь", "ал", "ок", "ека")
_WORDS = (
    "Торговый дом",
    "Группа",
    "Сервис",
    "Строй",
    "Холдинг",
    "Трейд",
    "Снаб",
    "Логистик",
    "Инвест",
    "Плюс",
)
_TRANSLIT = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "yo",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "y",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ъ": "",
    "ы": "y",
    "ь": "",
    "э": "e",
    "ю": "yu",
    "я": "ya",
}
_FORM_SPELLINGS = {
    "ООО": ("ООО", "Общество с ограниченной ответственностью", "LLC", "ооо"),
    "АО": ("АО", "Акционерное общество", "JSC"),
    "ПАО": ("ПАО", "Публичное акционерное общество", "PJSC"),
    "ЗАО": ("ЗАО", "Закрытое акционерное общество", "CJSC"),
    "ИП": ("ИП", "Индивидуальный предприниматель", "IE"),
}
_PHONE_FORMATS = (
    "+7 ({0}) {1}-{2}-{3}",
    "8 ({0}) {1}-{2}-{3}",
    "8{0}{1}{2}{3}",
    "+7{0}{1}{2}{3}",
    "8-{0}-{1}-{2}-{3}",
    "7 {0} {1}{2}{3}",
)


class _Maker:
    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.fake = Faker("ru_RU")
        self.fake.seed_instance(seed)
        self.used_names: set[str] = set()
        self.used_inns: set[str] = set()
        self.used_phones: set[str] = set()
        self.next_id = 1

    # --- values ---------------------------------------------------------------------------

    def word(self) -> str:
        while True:
            parts = self.rnd.sample(_SYLLABLES, self.rnd.choice((2, 2, 3)))
            word = ("".join(parts) + self.rnd.choice(_TAILS)).capitalize()
            if len(word) >= 5:
                return word

    def company_core(self) -> str:
        while True:
            words = [self.word()]
            if self.rnd.random() < 0.35:
                words.append(self.word())
            if self.rnd.random() < 0.3:
                extra = self.rnd.choice(_WORDS)
                words = [extra, *words] if self.rnd.random() < 0.5 else [*words, extra]
            core = " ".join(words)
            if core.lower() not in self.used_names:
                self.used_names.add(core.lower())
                return core

    def person(self) -> tuple[str, str, str]:
        while True:
            male = self.rnd.random() < 0.5
            last = self.fake.last_name_male() if male else self.fake.last_name_female()
            first = self.fake.first_name_male() if male else self.fake.first_name_female()
            middle = self.fake.middle_name_male() if male else self.fake.middle_name_female()
            key = f"{last} {first} {middle}".lower()
            if key not in self.used_names:
                self.used_names.add(key)
                return last, first, middle

    def inn_legal(self) -> str:
        while True:
            inn = generate_inn_legal(self.rnd)
            if inn not in self.used_inns:
                self.used_inns.add(inn)
                return inn

    def inn_person(self) -> str:
        while True:
            inn = generate_inn_person(self.rnd)
            if inn not in self.used_inns:
                self.used_inns.add(inn)
                return inn

    def phone(self) -> tuple[str, str]:
        """(E.164 as 1C stores it after normalization, the same number typed otherwise)."""
        while True:
            code = self.rnd.choice(("495", "499", "812", "343", "912", "916", "903", "921"))
            rest = f"{self.rnd.randrange(10**7):07d}"
            e164 = f"+7{code}{rest}"
            if e164 not in self.used_phones:
                self.used_phones.add(e164)
                typed = self.rnd.choice(_PHONE_FORMATS).format(code, rest[:3], rest[3:5], rest[5:])
                return e164, typed

    def email(self, name: str) -> str:
        local = translit(name.split()[0]).lower()[:12] or "info"
        return f"{local}{self.rnd.randrange(1000)}@{self.rnd.choice(('mail.ru', 'yandex.ru'))}"

    def company_id(self) -> int:
        self.next_id += 1
        return self.next_id

    # --- name variants -------------------------------------------------------------------

    def onec_name(self, form: str, core: str) -> str:
        return f'{form} "{core}"' if self.rnd.random() < 0.6 else f"{form} «{core}»"

    def variant_name(self, form: str, core: str, how: str) -> str:
        spelled = self.rnd.choice(_FORM_SPELLINGS.get(form, (form,)))
        if how == "form_after":
            return f"{core} {form}"
        if how == "full_form":
            full = _FORM_SPELLINGS[form][1] if form in _FORM_SPELLINGS else form
            return f"{full} «{core}»"
        if how == "quotes":
            return f"{form} “{core}”" if self.rnd.random() < 0.5 else f"{form} '{core}'"
        if how == "case":
            return f"{spelled} {core.upper() if self.rnd.random() < 0.5 else core.lower()}"
        if how == "yo":
            return f"{form} {core.replace('е', 'ё', 1).replace('Е', 'Ё', 1)}"
        if how == "word_order":
            words = core.split()
            self.rnd.shuffle(words)
            return f"{form} {' '.join(words)}"
        if how == "typo":
            return f"{spelled} {typo(self.rnd, core)}"
        if how == "translit":
            latin = {"ООО": "LLC", "АО": "JSC", "ПАО": "PJSC", "ЗАО": "CJSC", "ИП": "IE"}
            return f"{translit(core).title()} {latin.get(form, '')}".strip()
        if how == "no_form":
            return core
        raise ValueError(how)


def translit(text: str) -> str:
    return "".join(
        _TRANSLIT.get(ch.lower(), ch).capitalize() if ch.isupper() else _TRANSLIT.get(ch, ch)
        for ch in text
    )


def typo(rnd: random.Random, text: str) -> str:
    words = text.split()
    candidates = [i for i, w in enumerate(words) if len(w) >= 5]
    if not candidates:
        return text
    i = rnd.choice(candidates)
    word = list(words[i])
    pos = rnd.randrange(1, len(word) - 1)
    kind = rnd.choice(("swap", "drop", "replace", "double"))
    if kind == "swap":
        word[pos], word[pos + 1 if pos + 1 < len(word) else pos - 1] = (
            word[pos + 1 if pos + 1 < len(word) else pos - 1],
            word[pos],
        )
    elif kind == "drop":
        del word[pos]
    elif kind == "replace":
        word[pos] = rnd.choice("аеиоуыя")
    else:
        word.insert(pos, word[pos])
    words[i] = "".join(word)
    return " ".join(words)


def _onec(
    ref: int,
    kind: str,
    name: str,
    inn: str = "",
    kpp: str = "",
    phones: tuple[str, ...] = (),
    emails: tuple[str, ...] = (),
) -> dict[str, object]:
    return {
        "ref_key": f"00000000-0000-0000-0000-{ref:012d}",
        "kind": kind,
        "name": name,
        "inn": inn,
        "kpp": kpp,
        "phones": list(phones),
        "emails": list(emails),
    }


def _b24(
    company_id: int,
    title: str,
    inn: str = "",
    kpp: str = "",
    phones: tuple[str, ...] = (),
    emails: tuple[str, ...] = (),
) -> dict[str, object]:
    return {
        "id": company_id,
        "title": title,
        "inn": inn,
        "kpp": kpp,
        "phones": list(phones),
        "emails": list(emails),
    }


NAME_VARIANTS = (
    "form_after",
    "full_form",
    "quotes",
    "case",
    "yo",
    "word_order",
    "typo",
    "translit",
    "no_form",
)
# (variant, duplicate, weight)
PLAN = (
    ("inn_kpp_same", True, 10),
    ("inn_no_kpp", True, 4),
    ("ip_inn", True, 6),
    ("name_no_requisite", True, 30),
    ("phone_no_requisite", True, 6),
    ("individual_phone", True, 8),
    ("individual_email", True, 4),
    ("individual_name", True, 4),
    ("branch_other_kpp", False, 8),
    ("ip_vs_llc_same_name", False, 6),
    ("ip_vs_llc_no_requisite", False, 4),
    ("lookalike_other_inn", False, 6),
    ("shared_phone_company_with_inn", False, 4),
    ("unrelated", False, 6),
)


def make_pair(m: _Maker, n: int, variant: str, duplicate: bool) -> dict[str, object]:
    rnd = m.rnd
    ref = n + 1
    cid = m.company_id()
    how = ""
    if variant in ("inn_kpp_same", "inn_no_kpp", "name_no_requisite", "phone_no_requisite"):
        form = rnd.choice(("ООО", "ООО", "ООО", "АО", "ПАО", "ЗАО"))
        core = m.company_core()
        inn = m.inn_legal()
        kpp = generate_kpp(inn, rnd)
        e164, typed = m.phone()
        how = rnd.choice(NAME_VARIANTS)
        onec = _onec(ref, "legal", m.onec_name(form, core), inn, kpp, phones=(e164,))
        title = m.variant_name(form, core, how)
        if variant == "inn_kpp_same":
            b24 = _b24(cid, title, inn, kpp, phones=(typed,))
        elif variant == "inn_no_kpp":
            b24 = _b24(cid, title, inn, "")
        elif variant == "name_no_requisite":
            b24 = _b24(cid, title)
        else:
            # The manager typed another name entirely, but the phone is the client's.
            b24 = _b24(cid, f"{m.company_core()} (клиент)", phones=(typed,))
            how = "phone_format"
    elif variant == "ip_inn":
        last, first, middle = m.person()
        inn = m.inn_person()
        onec = _onec(ref, "ip", f"ИП {last} {first} {middle}", inn)
        b24 = _b24(cid, f"{last} {first[0]}.{middle[0]}. ИП", inn)
        how = "initials"
    elif variant in ("individual_phone", "individual_email", "individual_name"):
        last, first, middle = m.person()
        e164, typed = m.phone()
        email = m.email(last)
        onec = _onec(ref, "individual", f"{last} {first} {middle}", phones=(e164,), emails=(email,))
        if variant == "individual_phone":
            b24 = _b24(cid, f"{first} {last}", phones=(typed,))
            how = "phone_format"
        elif variant == "individual_email":
            b24 = _b24(cid, f"{last} {first}", emails=(email.upper(),))
            how = "email_case"
        else:
            b24 = _b24(cid, f"{first} {middle} {last}")
            how = "word_order"
    elif variant == "branch_other_kpp":
        core = m.company_core()
        inn = m.inn_legal()
        e164, typed = m.phone()
        onec = _onec(ref, "legal", f'ООО "{core}" филиал', inn, generate_kpp(inn, rnd, branch=True))
        b24 = _b24(cid, f"ООО «{core}»", inn, generate_kpp(inn, rnd), phones=(typed,))
        onec["phones"] = [e164]  # one switchboard for the head office and its branch
    elif variant == "ip_vs_llc_same_name":
        last, first, middle = m.person()
        onec = _onec(ref, "ip", f"ИП {last} {first} {middle}", m.inn_person())
        other = m.inn_legal()
        b24 = _b24(cid, f"ООО «{last}»", other, generate_kpp(other, rnd))
    elif variant == "ip_vs_llc_no_requisite":
        last, first, middle = m.person()
        onec = _onec(ref, "ip", f"ИП {last} {first} {middle}", m.inn_person())
        b24 = _b24(cid, f"ООО «{last} и партнеры»")
    elif variant == "lookalike_other_inn":
        core = m.company_core()
        inn = m.inn_legal()
        onec = _onec(ref, "legal", f'ООО "{core}"', inn, generate_kpp(inn, rnd))
        other = m.inn_legal()
        b24 = _b24(cid, f"{core} ООО", other, generate_kpp(other, rnd))
        how = "same_name_other_inn"
    elif variant == "shared_phone_company_with_inn":
        last, first, middle = m.person()
        e164, typed = m.phone()
        onec = _onec(ref, "individual", f"{last} {first} {middle}", phones=(e164,))
        other = m.inn_legal()
        b24 = _b24(
            cid, f"ООО «{m.company_core()}»", other, generate_kpp(other, rnd), phones=(typed,)
        )
        how = "employee_at_client"
    elif variant == "unrelated":
        core = m.company_core()
        inn = m.inn_legal()
        onec = _onec(ref, "legal", f'ООО "{core}"', inn, generate_kpp(inn, rnd))
        b24 = _b24(cid, f"ООО «{m.company_core()}»")
    else:
        raise ValueError(variant)
    return {
        "pair": n,
        "variant": variant,
        "how": how,
        "duplicate": duplicate,
        "onec": onec,
        "b24": b24,
    }


def generate(pairs: int = PAIRS, seed: int = SEED) -> list[dict[str, object]]:
    m = _Maker(seed)
    weights = [w for _, _, w in PLAN]
    out = []
    for n in range(pairs):
        variant, duplicate, _ = m.rnd.choices(PLAN, weights=weights)[0]
        out.append(make_pair(m, n, variant, duplicate))
    return out


def main() -> int:
    rows = generate()
    with OUT.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"wrote {len(rows)} pairs to {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
