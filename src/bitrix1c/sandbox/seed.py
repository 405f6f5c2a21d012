"""Realistic Russian seed data for the sandboxes (Faker ru_RU, valid INN/KPP/OGRN).

The records here are neutral: each emulator maps them onto its own shapes
(1C catalogs with contact information, Bitrix24 companies with requisites).
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import accumulate
from math import gcd
from typing import Literal

from faker import Faker

from bitrix1c.domain.requisites import (
    generate_kpp,
    generate_ogrn,
    generate_ogrnip,
    generate_okpo,
    inn_legal_from_body,
    inn_person_from_body,
    with_account_key,
)

CounterpartyKind = Literal["legal", "ip", "individual"]

#: Largest ``count`` for which INNs are guaranteed unique (see ``_UniqueNumbers``).
MAX_COUNT = 4_000_000


@dataclass(frozen=True)
class SeedPerson:
    """A contact person of a counterparty."""

    ref_key: str
    last_name: str
    first_name: str
    middle_name: str
    position: str
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeedBankAccount:
    """A settlement account of a counterparty (valid BIK, control key checked)."""

    ref_key: str
    number: str
    bik: str
    bank_name: str
    corr_account: str


@dataclass(frozen=True)
class SeedCounterparty:
    """One counterparty as a 1C base would hold it.

    ``phones`` are written the way people type them in 1C (``+7 (495) 123-45-67``,
    ``8 912 345 67 89``); ``kpp`` is empty for sole proprietors and individuals;
    ``ogrn`` holds the OGRN (13 digits) of a legal entity or the OGRNIP (15 digits)
    of a sole proprietor.

    A branch (``ОбособленноеПодразделение``) shares the INN, OGRN and partner of its
    head counterparty, has a KPP with reason code ``43`` and points at the head
    through ``head_ref_key`` (``ГоловнойКонтрагент_Key``); it is empty otherwise.

    Some legal entities belong to the partner of an earlier one (a group of companies
    under one УТ partner, two or three legal entities each). Legal entities and sole
    proprietors usually have ``bank_accounts``.
    """

    ref_key: str
    partner_ref_key: str
    kind: CounterpartyKind
    name: str
    full_name: str
    inn: str
    kpp: str
    ogrn: str
    okpo: str
    address: str
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    contacts: tuple[SeedPerson, ...] = field(default_factory=tuple)
    head_ref_key: str = ""
    bank_accounts: tuple[SeedBankAccount, ...] = ()

    @property
    def is_branch(self) -> bool:
        """Whether this counterparty is a branch of another one."""
        return bool(self.head_ref_key)


def generate_counterparties(count: int, seed: int = 1) -> Iterator[SeedCounterparty]:
    """Yield ``count`` deterministic counterparties (same ``seed`` → same data).

    About 70 % are legal entities (of which ~2 % of all records are branches of an
    earlier entity), 20 % sole proprietors and 10 % individuals. INNs are unique within
    one generated set except that a branch repeats its head's INN with another KPP.
    Records are produced one at a time; memory does not grow with ``count``.

    Args:
        count: How many counterparties to yield, at most :data:`MAX_COUNT`.
        seed: Seed of both Faker and the random generator.

    Yields:
        Counterparties in generation order.

    Raises:
        ValueError: If ``count`` is negative or above :data:`MAX_COUNT`.
    """
    if not 0 <= count <= MAX_COUNT:
        raise ValueError(f"count must be between 0 and {MAX_COUNT}, got {count}")
    return _generate(count, seed)


def _generate(count: int, seed: int) -> Iterator[SeedCounterparty]:
    # A separate function so that argument errors surface at the call, not at next().
    factory = _CounterpartyFactory(seed)
    for _ in range(count):
        yield factory.next()


# --- reference tables -----------------------------------------------------------------


@dataclass(frozen=True)
class _Region:
    code: str  # subject code, first two digits of INN / OGRN
    subject: str  # "" for the federal cities
    city: str
    postcodes: tuple[str, ...]  # first three digits of the city's postcodes
    area_codes: tuple[str, ...]
    weight: int


_REGIONS: tuple[_Region, ...] = (
    _Region(
        "77",
        "",
        "Москва",
        ("101", "105", "107", "109", "115", "117", "119", "121", "123", "125", "127", "129"),
        ("495", "499"),
        30,
    ),
    _Region(
        "78", "", "Санкт-Петербург", ("190", "191", "194", "195", "196", "197", "198"), ("812",), 10
    ),
    _Region("50", "Московская обл.", "Химки", ("141",), ("498", "495"), 4),
    _Region("50", "Московская обл.", "Подольск", ("142",), ("496",), 2),
    _Region("16", "Респ. Татарстан", "Казань", ("420",), ("843",), 4),
    _Region("66", "Свердловская обл.", "Екатеринбург", ("620",), ("343",), 4),
    _Region("54", "Новосибирская обл.", "Новосибирск", ("630",), ("383",), 3),
    _Region("52", "Нижегородская обл.", "Нижний Новгород", ("603",), ("831",), 3),
    _Region("63", "Самарская обл.", "Самара", ("443",), ("846",), 3),
    _Region("61", "Ростовская обл.", "Ростов-на-Дону", ("344",), ("863",), 3),
    _Region("23", "Краснодарский край", "Краснодар", ("350",), ("861",), 3),
    _Region("02", "Респ. Башкортостан", "Уфа", ("450",), ("347",), 2),
    _Region("24", "Красноярский край", "Красноярск", ("660",), ("391",), 2),
    _Region("59", "Пермский край", "Пермь", ("614",), ("342",), 2),
    _Region("36", "Воронежская обл.", "Воронеж", ("394",), ("473",), 2),
    _Region("34", "Волгоградская обл.", "Волгоград", ("400",), ("844",), 2),
    _Region("74", "Челябинская обл.", "Челябинск", ("454",), ("351",), 2),
    _Region("55", "Омская обл.", "Омск", ("644",), ("381",), 2),
    _Region("72", "Тюменская обл.", "Тюмень", ("625",), ("345",), 2),
    _Region("38", "Иркутская обл.", "Иркутск", ("664",), ("395",), 1),
    _Region("39", "Калининградская обл.", "Калининград", ("236",), ("401",), 1),
    _Region("76", "Ярославская обл.", "Ярославль", ("150",), ("485",), 1),
    _Region("70", "Томская обл.", "Томск", ("634",), ("382",), 1),
    _Region("25", "Приморский край", "Владивосток", ("690",), ("423",), 1),
    _Region("47", "Ленинградская обл.", "Гатчина", ("188",), ("813",), 1),
)
_REGION_WEIGHTS = tuple(accumulate(r.weight for r in _REGIONS))

# Banks the seed opens accounts in: (name, BIK, correspondent account) — public data.
_BANKS = (
    ("ПАО Сбербанк", "044525225", "30101810400000000225"),
    ('АО "ТБанк"', "044525974", "30101810145250000974"),
    ("Банк ВТБ (ПАО)", "044525187", "30101810700000000187"),
    ('АО "АЛЬФА-БАНК"', "044525593", "30101810200000000593"),
    ('ПАО "Промсвязьбанк"', "044525555", "30101810400000000555"),
    ("Северо-Западный банк ПАО Сбербанк", "044030653", "30101810500000000653"),
    ("Уральский банк ПАО Сбербанк", "046577674", "30101810500000000674"),
    ("Сибирский банк ПАО Сбербанк", "045004641", "30101810500000000641"),
)
# Balance account of a settlement account: legal entity / sole proprietor.
_ACCOUNT_PREFIX = {"legal": "40702", "ip": "40802"}

# Russian mobile codes in use (9XX); 93X/94X are left out as rarely issued.
_MOBILE_CODES = tuple(str(c) for c in (*range(900, 930), *range(950, 1000)))

# (short form, full form, full form in the genitive for "Филиал ...")
_LEGAL_FORMS = (
    ("ООО", "Общество с ограниченной ответственностью", "Общества с ограниченной ответственностью"),
    ("АО", "Акционерное общество", "Акционерного общества"),
    ("ЗАО", "Закрытое акционерное общество", "Закрытого акционерного общества"),
    ("ПАО", "Публичное акционерное общество", "Публичного акционерного общества"),
)
_LEGAL_FORM_WEIGHTS = tuple(accumulate((82, 9, 5, 4)))

_NAME_WORDS = (
    "Ромашка",
    "Вектор",
    "Гранит",
    "Сфера",
    "Меридиан",
    "Горизонт",
    "Эталон",
    "Прогресс",
    "Союз",
    "Надежда",
    "Радуга",
    "Орион",
    "Атлант",
    "Феникс",
    "Альтаир",
    "Каскад",
    "Парус",
    "Берёзка",
    "Кристалл",
    "Рассвет",
    "Импульс",
    "Квадрат",
    "Магистраль",
    "Континент",
    "Спектр",
    "Триумф",
    "Зенит",
    "Аврора",
    "Бастион",
    "Велес",
    "Гелиос",
    "Фаворит",
    "Лидер",
    "Партнёр",
    "Олимп",
    "Альянс",
    "Монолит",
    "Созвездие",
    "Весна",
    "Купец",
)
_NAME_HEADS = (
    "Строй",
    "Техно",
    "Агро",
    "Торг",
    "Альфа",
    "Мега",
    "Евро",
    "Сиб",
    "Урал",
    "Волга",
    "Нефте",
    "Энерго",
    "Инвест",
    "Мед",
    "Фарм",
    "Авто",
    "Транс",
    "Лес",
    "Металл",
    "Полимер",
    "Электро",
    "Снаб",
    "Проф",
    "Инфо",
    "Бизнес",
    "Эко",
    "Хим",
    "Пром",
    "Гео",
    "Дом",
    "Трейд",
)
_NAME_TAILS = (
    "Сервис",
    "Комплект",
    "Инвест",
    "Трейд",
    "Групп",
    "Снаб",
    "Строй",
    "Торг",
    "Пром",
    "Маркет",
    "Логистик",
    "Систем",
    "Ресурс",
    "Холдинг",
    "Проект",
    "Сбыт",
    "Альянс",
    "Лайн",
    "Тех",
    "Капитал",
    "Монтаж",
    "Поставка",
    "Консалт",
    "Снабжение",
    "Продукт",
)
_NAME_PREFIXES = ("ТД", "ПКФ", "НПП", "ТПК", "СК", "ПСК", "ТК", "ИК", "ГК", "ПО")
_NAME_ENDINGS = (" Плюс", "-М", "+", " 2000", "-Центр", "-Юг", "-Север", " Групп")

_POSITIONS = (
    ("Генеральный директор", 12),
    ("Директор", 6),
    ("Коммерческий директор", 5),
    ("Главный бухгалтер", 12),
    ("Бухгалтер", 10),
    ("Менеджер по закупкам", 12),
    ("Руководитель отдела снабжения", 6),
    ("Специалист по закупкам", 8),
    ("Заместитель директора", 4),
    ("Офис-менеджер", 6),
    ("Юрист", 3),
    ("Кладовщик", 3),
    ("Инженер", 3),
    ("Логист", 3),
)
_POSITION_WEIGHTS = tuple(accumulate(w for _, w in _POSITIONS))
_IP_CONTACT_POSITIONS = ("Менеджер", "Бухгалтер", "Администратор", "Управляющий")

_FREE_MAIL = (
    "mail.ru",
    "mail.ru",
    "mail.ru",
    "yandex.ru",
    "yandex.ru",
    "ya.ru",
    "gmail.com",
    "bk.ru",
    "list.ru",
    "inbox.ru",
    "rambler.ru",
)
_COMPANY_MAILBOXES = (
    "info",
    "info",
    "info",
    "office",
    "sales",
    "zakaz",
    "buh",
    "mail",
    "secretary",
)

_TRANSLIT = str.maketrans(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "д": "d",
        "е": "e",
        "ё": "e",
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
)
_NOT_DOMAIN_CHAR = re.compile(r"[^a-z0-9]+")


def _translit(text: str) -> str:
    """Latin spelling of a Russian word as people use it in e-mail addresses."""
    return _NOT_DOMAIN_CHAR.sub("", text.lower().translate(_TRANSLIT))


# Formats of a 10-digit national number ("912" "345" "67" "89") as typed in 1C.
_PHONE_FORMATS = (
    ("+7 ({0}) {1}-{2}-{3}", 20),
    ("8 ({0}) {1}-{2}-{3}", 18),
    ("8 {0} {1} {2} {3}", 10),
    ("8{0}{1}{2}{3}", 10),
    ("+7{0}{1}{2}{3}", 8),
    ("+7 {0} {1}-{2}-{3}", 8),
    ("8-{0}-{1}-{2}-{3}", 6),
    ("({0}) {1}-{2}-{3}", 5),
    ("7 {0} {1}{2}{3}", 3),
    ("+7({0}){1}-{2}-{3}", 4),
    ("8 {0} {1}{2}{3}", 3),
)
_PHONE_FORMAT_WEIGHTS = tuple(accumulate(w for _, w in _PHONE_FORMATS))
_EXTENSION_FORMATS = (" доб. {0}", " доб.{0}", ", доб. {0}", " (доб. {0})", " ext. {0}")


class _UniqueNumbers:
    """Draws each number of ``range(size)`` at most once, in a scrambled order.

    An affine map ``k → (a·k + b) mod size`` with ``gcd(a, size) = 1`` is a bijection,
    so uniqueness needs no memory of what was already drawn.
    """

    def __init__(self, rnd: random.Random, size: int) -> None:
        self._size = size
        self._a = rnd.randrange(size // 3, size)
        while gcd(self._a, size) != 1:
            self._a += 1
        self._b = rnd.randrange(size)
        self._k = 0

    def draw(self) -> int:
        if self._k >= self._size:
            raise RuntimeError("unique number space exhausted")
        value = (self._a * self._k + self._b) % self._size
        self._k += 1
        return value


@dataclass(frozen=True)
class _Head:
    """What a branch takes over from its head counterparty."""

    ref_key: str
    partner_ref_key: str
    name: str
    full_name_genitive: str
    inn: str
    ogrn: str
    region_code: str
    domain: str


class _CounterpartyFactory:
    """Builds counterparties one by one from a Faker and a ``random.Random``."""

    _BRANCH_SHARE = 0.02
    _LEGAL_SHARE = 0.70
    _IP_SHARE = 0.20
    _HEADS_KEPT = 256

    def __init__(self, seed: int) -> None:
        self._rnd = random.Random(seed)
        fake = Faker("ru_RU")
        fake.seed_instance(seed)
        # Bound once: every attribute lookup on the Faker proxy costs a few microseconds.
        self._male_name = (fake.last_name_male, fake.first_name_male, fake.middle_name_male)
        self._female_name = (
            fake.last_name_female,
            fake.first_name_female,
            fake.middle_name_female,
        )
        self._street_name = fake.street_name
        # Legal INN: subject (2) + inspection 10–49 (2) + record (5) + check; the
        # inspection and the record come from one unique number, so INNs never repeat.
        self._legal_numbers = _UniqueNumbers(self._rnd, 4 * 10**6)
        self._person_numbers = _UniqueNumbers(self._rnd, 4 * 10**7)
        self._heads: list[_Head] = []
        # Groups and bank accounts come from a stream of their own, so the records the
        # main stream produces stay the same as before they were added.
        self._extra = random.Random(f"{seed}:extra")
        self._groups: list[tuple[str, int]] = []  # (partner Ref_Key, legal entities)

    # -- helpers ------------------------------------------------------------------------

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rnd.getrandbits(128), version=4))

    def _region(self, exclude: str = "") -> _Region:
        while True:
            region = self._rnd.choices(_REGIONS, cum_weights=_REGION_WEIGHTS)[0]
            if region.code != exclude:
                return region

    def _inn_legal(self, region: _Region) -> str:
        number = self._legal_numbers.draw()
        inspection = 10 + number // 10**5
        return inn_legal_from_body(f"{region.code}{inspection:02d}{number % 10**5:05d}")

    def _inn_person(self, region: _Region) -> str:
        number = self._person_numbers.draw()
        inspection = 10 + number // 10**6
        return inn_person_from_body(f"{region.code}{inspection:02d}{number % 10**6:06d}")

    def _fio(self) -> tuple[str, str, str]:
        last, first, middle = self._male_name if self._rnd.random() < 0.55 else self._female_name
        return last(), first(), middle()

    def _phone(self, area_code: str | None = None, extension: bool = False) -> str:
        rnd = self._rnd
        code = area_code or rnd.choice(_MOBILE_CODES)
        digits = f"{rnd.randrange(2_000_000, 10**7):07d}"
        template = rnd.choices(_PHONE_FORMATS, cum_weights=_PHONE_FORMAT_WEIGHTS)[0][0]
        phone = template.format(code, digits[:3], digits[3:5], digits[5:])
        if extension:
            phone += rnd.choice(_EXTENSION_FORMATS).format(rnd.randint(1, 999))
        return phone

    def _company_phones(self, region: _Region) -> tuple[str, ...]:
        rnd = self._rnd
        phones = [self._phone(rnd.choice(region.area_codes), extension=rnd.random() < 0.1)]
        if rnd.random() < 0.35:
            landline = rnd.random() < 0.4
            phones.append(self._phone(rnd.choice(region.area_codes) if landline else None))
        return tuple(phones)

    def _address(self, region: _Region, premises: str) -> str:
        rnd = self._rnd
        parts = [f"{rnd.choice(region.postcodes)}{rnd.randrange(1000):03d}"]
        if region.subject:
            parts.append(region.subject)
        parts.append(f"г. {region.city}")
        parts.append(self._street_name())
        house = f"д. {rnd.randint(1, 150)}"
        roll = rnd.random()
        if roll < 0.1:
            house += rnd.choice("АБВ")
        elif roll < 0.2:
            house += f", корп. {rnd.randint(1, 5)}"
        elif roll < 0.3:
            house += f", стр. {rnd.randint(1, 9)}"
        parts.append(house)
        if premises == "office":
            parts.append(
                rnd.choice(("офис ", "пом. ", "оф. ", "этаж 2, офис ")) + str(rnd.randint(1, 950))
            )
        elif premises == "flat" and rnd.random() < 0.85:
            parts.append(f"кв. {rnd.randint(1, 300)}")
        return ", ".join(parts)

    def _personal_email(self, last: str, first: str) -> str:
        rnd = self._rnd
        last_l, first_l = _translit(last), _translit(first)
        local = rnd.choice(
            (
                f"{last_l}.{first_l[0]}",
                f"{first_l}.{last_l}",
                f"{last_l}{rnd.randint(60, 99)}",
                f"{first_l[0]}{last_l}",
                f"{last_l}_{first_l}",
            )
        )
        return f"{local}@{rnd.choice(_FREE_MAIL)}"

    def _work_email(self, last: str, first: str, domain: str) -> str:
        if not domain or self._rnd.random() < 0.3:
            return self._personal_email(last, first)
        return f"{_translit(first)[0]}.{_translit(last)}@{domain}"

    def _contacts(
        self,
        how_many: int,
        region: _Region,
        domain: str,
        positions: tuple[str, ...] | None,
    ) -> tuple[SeedPerson, ...]:
        rnd = self._rnd
        people = []
        for _ in range(how_many):
            last, first, middle = self._fio()
            if positions is None:
                position = rnd.choices(_POSITIONS, cum_weights=_POSITION_WEIGHTS)[0][0]
            else:
                position = rnd.choice(positions)
            phones = [self._phone()]
            if rnd.random() < 0.2:
                phones.append(self._phone(rnd.choice(region.area_codes), extension=True))
            emails = (self._work_email(last, first, domain),) if rnd.random() < 0.75 else ()
            people.append(
                SeedPerson(
                    ref_key=self._uuid(),
                    last_name=last,
                    first_name=first,
                    middle_name=middle,
                    position=position,
                    phones=tuple(phones),
                    emails=emails,
                )
            )
        return tuple(people)

    def _company_stem(self) -> str:
        rnd = self._rnd
        roll = rnd.random()
        if roll < 0.35:
            stem = rnd.choice(_NAME_WORDS)
        elif roll < 0.75:
            head, tail = rnd.choice(_NAME_HEADS), rnd.choice(_NAME_TAILS)
            style = rnd.random()
            if style < 0.4:
                stem = head + tail
            elif style < 0.8:
                stem = head + tail.lower()
            else:
                stem = f"{head}-{tail}"
        elif roll < 0.88:
            stem = f"{rnd.choice(_NAME_PREFIXES)} {rnd.choice(_NAME_WORDS + _NAME_TAILS)}"
        else:
            last = self._male_name[0]()
            stem = rnd.choice((f"{last} и партнёры", f"{last} и К", f"Торговый дом {last}"))
        if rnd.random() < 0.12:
            stem += rnd.choice(_NAME_ENDINGS)
        return stem

    def _domain(self, stem: str) -> str:
        rnd = self._rnd
        return _translit(stem)[:24] + rnd.choice((".ru",) * 8 + (".com", ".su"))

    def _company_emails(self, domain: str) -> tuple[str, ...]:
        rnd = self._rnd
        if rnd.random() < 0.12:
            return ()
        first = f"{rnd.choice(_COMPANY_MAILBOXES)}@{domain}"
        if rnd.random() < 0.05:
            first = first.capitalize()  # "Info@romashka.ru" as typed by hand
        if rnd.random() < 0.2:
            return first, f"{rnd.choice(('buh', 'sales', 'director', 'snab'))}@{domain}"
        return (first,)

    # -- kinds --------------------------------------------------------------------------

    def next(self) -> SeedCounterparty:
        roll = self._rnd.random()
        if roll < self._BRANCH_SHARE and self._heads:
            record = self._branch()
        elif roll < self._LEGAL_SHARE:
            record = self._legal()
        elif roll < self._LEGAL_SHARE + self._IP_SHARE:
            record = self._sole_proprietor()
        else:
            record = self._individual()
        return replace(record, bank_accounts=self._bank_accounts(record))

    def _bank_accounts(self, record: SeedCounterparty) -> tuple[SeedBankAccount, ...]:
        rnd = self._extra
        share = {"legal": 0.5 if record.is_branch else 0.85, "ip": 0.6}.get(record.kind, 0.0)
        if rnd.random() >= share:
            return ()
        accounts = []
        for _ in range(2 if rnd.random() < 0.15 else 1):
            name, bik, corr = rnd.choice(_BANKS)
            body = f"{_ACCOUNT_PREFIX[record.kind]}8100{rnd.randrange(10**4):04d}"
            number = with_account_key(f"{body}{rnd.randrange(10**7):07d}", bik)
            ref_key = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
            accounts.append(SeedBankAccount(ref_key, number, bik, name, corr))
        return tuple(accounts)

    def _group_partner(self, own: str) -> str:
        """The partner of an earlier legal entity for ~15 % of them, else ``own``."""
        rnd = self._extra
        open_groups = [i for i, (_, size) in enumerate(self._groups) if size < 3]
        if open_groups and rnd.random() < 0.15:
            index = rnd.choice(open_groups)
            partner, size = self._groups[index]
            self._groups[index] = (partner, size + 1)
            return partner
        self._groups.append((own, 1))
        if len(self._groups) > self._HEADS_KEPT:
            del self._groups[0]
        return own

    def _legal(self) -> SeedCounterparty:
        rnd = self._rnd
        region = self._region()
        form = rnd.choices(_LEGAL_FORMS, cum_weights=_LEGAL_FORM_WEIGHTS)[0]
        short_form, long_form, long_form_genitive = form
        stem = self._company_stem()
        domain = self._domain(stem)
        inn = self._inn_legal(region)
        ogrn = generate_ogrn(rnd, inn)
        ref_key, own_partner = self._uuid(), self._uuid()
        record = SeedCounterparty(
            ref_key=ref_key,
            partner_ref_key=self._group_partner(own_partner),
            kind="legal",
            name=f'{short_form} "{stem}"',
            full_name=f'{long_form} "{stem}"',
            inn=inn,
            kpp=generate_kpp(inn, rnd),
            ogrn=ogrn,
            okpo=generate_okpo(rnd, 8),
            address=self._address(region, "office"),
            phones=self._company_phones(region),
            emails=self._company_emails(domain),
            contacts=self._contacts(
                rnd.choices((0, 1, 2, 3), (20, 40, 25, 15))[0], region, domain, None
            ),
        )
        self._heads.append(
            _Head(
                ref_key=record.ref_key,
                partner_ref_key=record.partner_ref_key,
                name=record.name,
                full_name_genitive=f'{long_form_genitive} "{stem}"',
                inn=inn,
                ogrn=ogrn,
                region_code=region.code,
                domain=domain,
            )
        )
        if len(self._heads) > self._HEADS_KEPT:
            del self._heads[0]
        return record

    def _branch(self) -> SeedCounterparty:
        rnd = self._rnd
        # Each head gets at most one branch, so its "43" KPP stays unique.
        index = rnd.randrange(len(self._heads))
        self._heads[index], self._heads[-1] = self._heads[-1], self._heads[index]
        head = self._heads.pop()
        region = self._region(exclude=head.region_code)
        city_mailbox = _translit(region.city)[:16]
        return SeedCounterparty(
            ref_key=self._uuid(),
            partner_ref_key=head.partner_ref_key,
            kind="legal",
            name=f"{head.name} (филиал {region.city})",
            full_name=f"Филиал {head.full_name_genitive} в г. {region.city}",
            inn=head.inn,
            kpp=generate_kpp(head.inn, rnd, branch=True),
            ogrn=head.ogrn,
            okpo=generate_okpo(rnd, 8),
            address=self._address(region, "office"),
            phones=self._company_phones(region),
            emails=(f"{city_mailbox}@{head.domain}",) if rnd.random() < 0.6 else (),
            contacts=self._contacts(
                rnd.choices((0, 1, 2), (30, 50, 20))[0], region, head.domain, None
            ),
            head_ref_key=head.ref_key,
        )

    def _sole_proprietor(self) -> SeedCounterparty:
        rnd = self._rnd
        region = self._region()
        last, first, middle = self._fio()
        fio = f"{last} {first} {middle}"
        inn = self._inn_person(region)
        phones = [self._phone()]
        if rnd.random() < 0.3:
            phones.append(self._phone(rnd.choice(region.area_codes)))
        return SeedCounterparty(
            ref_key=self._uuid(),
            partner_ref_key=self._uuid(),
            kind="ip",
            name=f"ИП {fio}",
            full_name=f"Индивидуальный предприниматель {fio}",
            inn=inn,
            kpp="",
            ogrn=generate_ogrnip(rnd, inn),
            okpo=generate_okpo(rnd, 10) if rnd.random() < 0.6 else "",
            address=self._address(region, "flat" if rnd.random() < 0.6 else "office"),
            phones=tuple(phones),
            emails=(self._personal_email(last, first),) if rnd.random() < 0.8 else (),
            contacts=self._contacts(
                1 if rnd.random() < 0.25 else 0, region, "", _IP_CONTACT_POSITIONS
            ),
        )

    def _individual(self) -> SeedCounterparty:
        rnd = self._rnd
        region = self._region()
        last, first, middle = self._fio()
        fio = f"{last} {first} {middle}"
        return SeedCounterparty(
            ref_key=self._uuid(),
            partner_ref_key=self._uuid(),
            kind="individual",
            name=fio,
            full_name=fio,
            inn=self._inn_person(region) if rnd.random() < 0.6 else "",
            kpp="",
            ogrn="",
            okpo="",
            address=self._address(region, "flat"),
            phones=(self._phone(),) if rnd.random() < 0.9 else (),
            emails=(self._personal_email(last, first),) if rnd.random() < 0.5 else (),
        )
