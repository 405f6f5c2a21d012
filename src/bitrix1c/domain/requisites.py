"""Russian registration keys: INN, KPP, OGRN, OGRNIP, SNILS (and OKPO).

The checks follow the algorithms 1C itself uses (BP 3.0,
``РегламентированныеДанныеКлиентСервер``), so a key accepted here is accepted by 1C and
the other way round. See ``reference/onec.md`` §6.

Validators take a key the way people type it (spaces, dashes and dots are ignored) and
return the normalized key or raise :class:`InvalidKey` with a reason meant for the error
page. The ``generate_*`` helpers produce valid keys for seed data and tests; they take a
``random.Random`` so that the output is reproducible.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Literal

KeyType = Literal["inn", "kpp", "ogrn", "ogrnip", "snils", "okpo"]

_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
# SNILS numbers up to this one were issued before the checksum was introduced.
_SNILS_CHECKED_ABOVE = 1_001_998

_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015.]+")
_DIGITS = re.compile(r"[0-9]+")
_KPP_REASON = re.compile(r"[0-9A-Z]{2}")

# Subject codes (first two digits of INN/OGRN) the generators pick from when no region
# is given; weighted towards where most companies are registered.
_REGIONS: tuple[str, ...] = (
    ("77",) * 6
    + ("78",) * 3
    + ("50", "50", "16", "66", "54", "52", "63", "61", "23", "02", "24", "59", "36", "74")
)


class InvalidKey(ValueError):
    """A registration key (INN, KPP, OGRN, OGRNIP, SNILS, OKPO) is malformed.

    Attributes:
        key_type: Which key failed: ``"inn"``, ``"kpp"``, ``"ogrn"``, ``"ogrnip"``,
            ``"snils"`` or ``"okpo"``.
        value: The value exactly as it was given.
        reason: What is wrong, e.g. ``"checksum digit 10 is 3, expected 7"``.
    """

    def __init__(self, key_type: KeyType, value: str, reason: str) -> None:
        self.key_type: KeyType = key_type
        self.value = value
        self.reason = reason
        super().__init__(f"invalid {key_type.upper()} {value!r}: {reason}")

    def __reduce__(self) -> tuple[type[InvalidKey], tuple[KeyType, str, str]]:
        return (type(self), (self.key_type, self.value, self.reason))


def normalize_digits(value: str) -> str:
    """Strip whitespace, dashes and dots from a typed key.

    Args:
        value: A key as typed, e.g. ``"112-233-445 95"`` or ``" 7707 083 893 "``.

    Returns:
        The value without separators (other characters are kept, so validation can
        still report them).
    """
    return _SEPARATORS.sub("", value)


def _digits_only(key_type: KeyType, value: str, lengths: tuple[int, ...]) -> str:
    """Normalize ``value`` and check that it is all ASCII digits of an allowed length."""
    key = normalize_digits(value)
    if not key:
        raise InvalidKey(key_type, value, "is empty")
    if not _DIGITS.fullmatch(key):
        raise InvalidKey(key_type, value, "contains characters other than digits")
    if len(key) not in lengths:
        expected = " or ".join(str(n) for n in lengths)
        raise InvalidKey(key_type, value, f"must be {expected} digits, got {len(key)}")
    return key


def _weighted_check(digits: str, weights: tuple[int, ...]) -> int:
    """Return ``Σ d[i]*w[i] mod 11 mod 10`` (the INN check digit)."""
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 % 10


def _check_digit(key_type: KeyType, value: str, position: int, actual: str, expected: int) -> None:
    """Raise :class:`InvalidKey` when the check digit at 1-based ``position`` is wrong."""
    if int(actual) != expected:
        raise InvalidKey(
            key_type, value, f"checksum digit {position} is {actual}, expected {expected}"
        )


def validate_inn(value: str) -> str:
    """Validate an INN of a legal entity (10 digits) or of a person (12 digits).

    Args:
        value: The INN as typed.

    Returns:
        The INN as 10 or 12 digits.

    Raises:
        InvalidKey: If the length, characters or check digits are wrong, or a
            10-digit INN starts with ``00``.
    """
    inn = _digits_only("inn", value, (10, 12))
    if len(inn) == 10:
        if inn.startswith("00"):
            raise InvalidKey("inn", value, "first two digits must not be 00")
        _check_digit("inn", value, 10, inn[9], _weighted_check(inn[:9], _INN10_WEIGHTS))
    else:
        _check_digit("inn", value, 11, inn[10], _weighted_check(inn[:10], _INN12_WEIGHTS_11))
        _check_digit("inn", value, 12, inn[11], _weighted_check(inn[:11], _INN12_WEIGHTS_12))
    return inn


def validate_kpp(value: str) -> str:
    """Validate a KPP: 4-digit tax office, 2-char reason code (digits or A–Z), 3 digits.

    KPP has no checksum; only its shape is checked, as 1C does.

    Args:
        value: The KPP as typed.

    Returns:
        The KPP as 9 characters.

    Raises:
        InvalidKey: If the shape is wrong (Cyrillic look-alike letters included).
    """
    kpp = normalize_digits(value)
    if not kpp:
        raise InvalidKey("kpp", value, "is empty")
    if len(kpp) != 9:
        raise InvalidKey("kpp", value, f"must be 9 characters, got {len(kpp)}")
    if not _DIGITS.fullmatch(kpp[:4]):
        raise InvalidKey("kpp", value, "characters 1-4 (tax office code) must be digits")
    if not _KPP_REASON.fullmatch(kpp[4:6]):
        raise InvalidKey(
            "kpp", value, "characters 5-6 (reason code) must be digits or Latin capitals A-Z"
        )
    if not _DIGITS.fullmatch(kpp[6:]):
        raise InvalidKey("kpp", value, "characters 7-9 must be digits")
    return kpp


def validate_ogrn(value: str) -> str:
    """Validate an OGRN of a legal entity (13 digits).

    The check digit is the last digit of ``(first 12 digits) mod 11``.

    Args:
        value: The OGRN as typed.

    Returns:
        The OGRN as 13 digits.

    Raises:
        InvalidKey: If the length, characters or check digit are wrong.
    """
    ogrn = _digits_only("ogrn", value, (13,))
    _check_digit("ogrn", value, 13, ogrn[12], int(ogrn[:12]) % 11 % 10)
    return ogrn


def validate_ogrnip(value: str) -> str:
    """Validate an OGRNIP of a sole proprietor (15 digits).

    The check digit is the last digit of ``(first 14 digits) mod 13``.

    Args:
        value: The OGRNIP as typed.

    Returns:
        The OGRNIP as 15 digits.

    Raises:
        InvalidKey: If the length, characters or check digit are wrong.
    """
    ogrnip = _digits_only("ogrnip", value, (15,))
    _check_digit("ogrnip", value, 15, ogrnip[14], int(ogrnip[:14]) % 13 % 10)
    return ogrnip


def _snils_checksum(number: str) -> int:
    """Return the 2-digit SNILS checksum of the 9-digit ``number``."""
    total = sum(int(d) * w for d, w in zip(number, range(9, 0, -1), strict=True)) % 101
    return 0 if total == 100 else total


def validate_snils(value: str) -> str:
    """Validate a SNILS (11 digits, usually typed ``XXX-XXX-XXX YY``).

    The checksum is verified only for numbers above ``001-001-998``; older numbers were
    issued without one.

    Args:
        value: The SNILS as typed.

    Returns:
        The SNILS as 11 digits.

    Raises:
        InvalidKey: If the length, characters or checksum are wrong.
    """
    snils = _digits_only("snils", value, (11,))
    if int(snils[:9]) > _SNILS_CHECKED_ABOVE:
        expected = _snils_checksum(snils[:9])
        if int(snils[9:]) != expected:
            raise InvalidKey("snils", value, f"checksum is {snils[9:]}, expected {expected:02d}")
    return snils


def _okpo_check(digits: str) -> int:
    """Return the OKPO check digit (the classifier algorithm with a second pass)."""
    for shift in (0, 2):
        rest = sum(int(d) * ((i + shift) % 10 + 1) for i, d in enumerate(digits)) % 11
        if rest < 10:
            return rest
    return 0


def validate_okpo(value: str) -> str:
    """Validate an OKPO code: 8 digits (organisation) or 10 digits (sole proprietor).

    Args:
        value: The OKPO as typed.

    Returns:
        The OKPO as 8 or 10 digits.

    Raises:
        InvalidKey: If the length, characters or check digit are wrong.
    """
    okpo = _digits_only("okpo", value, (8, 10))
    _check_digit("okpo", value, len(okpo), okpo[-1], _okpo_check(okpo[:-1]))
    return okpo


def _is_valid(validator: Callable[[str], str], value: str) -> bool:
    try:
        validator(value)
    except InvalidKey:
        return False
    return True


def is_valid_inn(value: str) -> bool:
    """Return whether ``value`` is a valid INN (see :func:`validate_inn`)."""
    return _is_valid(validate_inn, value)


def is_valid_kpp(value: str) -> bool:
    """Return whether ``value`` is a valid KPP (see :func:`validate_kpp`)."""
    return _is_valid(validate_kpp, value)


def is_valid_ogrn(value: str) -> bool:
    """Return whether ``value`` is a valid OGRN (see :func:`validate_ogrn`)."""
    return _is_valid(validate_ogrn, value)


def is_valid_ogrnip(value: str) -> bool:
    """Return whether ``value`` is a valid OGRNIP (see :func:`validate_ogrnip`)."""
    return _is_valid(validate_ogrnip, value)


def is_valid_snils(value: str) -> bool:
    """Return whether ``value`` is a valid SNILS (see :func:`validate_snils`)."""
    return _is_valid(validate_snils, value)


def is_valid_okpo(value: str) -> bool:
    """Return whether ``value`` is a valid OKPO (see :func:`validate_okpo`)."""
    return _is_valid(validate_okpo, value)


def inn_kind(inn: str) -> Literal["legal", "person"]:
    """Tell a legal entity's INN (10 digits) from a person's or sole proprietor's (12).

    Only the length is looked at; use :func:`validate_inn` for the checksum.

    Args:
        inn: The INN as typed.

    Returns:
        ``"legal"`` for 10 digits, ``"person"`` for 12.

    Raises:
        InvalidKey: If the INN is neither 10 nor 12 digits.
    """
    return "legal" if len(_digits_only("inn", inn, (10, 12))) == 10 else "person"


# --- generation -----------------------------------------------------------------------


def _region_code(rnd: random.Random, region: str | None) -> str:
    if region is None:
        return rnd.choice(_REGIONS)
    if len(region) != 2 or not region.isdigit() or region == "00":
        raise ValueError(f"region must be a two-digit subject code, got {region!r}")
    return region


def _tax_office(rnd: random.Random, region: str | None) -> str:
    """Return a 4-digit tax office code: subject code plus inspection number 01–49."""
    return f"{_region_code(rnd, region)}{rnd.randint(1, 49):02d}"


def _digits(rnd: random.Random, n: int) -> str:
    return f"{rnd.randrange(10**n):0{n}d}"


def inn_legal_from_body(body: str) -> str:
    """Append the check digit to the first 9 digits of a legal entity's INN.

    Args:
        body: 9 digits (tax office code + record number).

    Returns:
        The 10-digit INN.
    """
    return body + str(_weighted_check(body, _INN10_WEIGHTS))


def inn_person_from_body(body: str) -> str:
    """Append the two check digits to the first 10 digits of a person's INN.

    Args:
        body: 10 digits (tax office code + record number).

    Returns:
        The 12-digit INN.
    """
    body += str(_weighted_check(body, _INN12_WEIGHTS_11))
    return body + str(_weighted_check(body, _INN12_WEIGHTS_12))


def generate_inn_legal(rnd: random.Random, region: str | None = None) -> str:
    """Generate a valid 10-digit INN of a legal entity.

    Args:
        rnd: Source of randomness.
        region: Two-digit subject code (``"77"`` Moscow); a random one if omitted.

    Returns:
        The INN: tax office code (4), record number (5), check digit.
    """
    return inn_legal_from_body(_tax_office(rnd, region) + _digits(rnd, 5))


def generate_inn_person(rnd: random.Random, region: str | None = None) -> str:
    """Generate a valid 12-digit INN of a person or sole proprietor.

    Args:
        rnd: Source of randomness.
        region: Two-digit subject code; a random one if omitted.

    Returns:
        The INN: tax office code (4), record number (6), two check digits.
    """
    return inn_person_from_body(_tax_office(rnd, region) + _digits(rnd, 6))


def generate_kpp(inn_legal: str, rnd: random.Random, branch: bool = False) -> str:
    """Generate a KPP for a legal entity registered at the tax office of its INN.

    Args:
        inn_legal: The entity's 10-digit INN; its first 4 digits become the KPP's.
        rnd: Source of randomness (kept for signature symmetry; the result is fixed).
        branch: ``True`` for a separate subdivision (reason code ``43``), otherwise
            the head office (reason code ``01``).

    Returns:
        The 9-character KPP, e.g. ``770501001``.

    Raises:
        InvalidKey: If ``inn_legal`` is not a valid 10-digit INN.
    """
    del rnd  # the KPP of a given INN and role is fully determined
    inn = validate_inn(inn_legal)
    if len(inn) != 10:
        raise InvalidKey("inn", inn_legal, "a KPP belongs to a legal entity's 10-digit INN")
    return f"{inn[:4]}{'43' if branch else '01'}001"


def _ogrn_year(rnd: random.Random, first: int) -> str:
    return f"{rnd.randint(first, 24):02d}"


def generate_ogrn(rnd: random.Random, inn_legal: str | None = None) -> str:
    """Generate a valid 13-digit OGRN.

    Args:
        rnd: Source of randomness.
        inn_legal: If given, the OGRN uses the same subject and inspection code.

    Returns:
        Sign (1 or 5), year (2), subject (2), inspection (2), record number (5), check.
    """
    office = inn_legal[:4] if inn_legal else _tax_office(rnd, None)
    sign = "5" if rnd.random() < 0.25 else "1"
    body = sign + _ogrn_year(rnd, 7 if sign == "5" else 2) + office + _digits(rnd, 5)
    return body + str(int(body) % 11 % 10)


def generate_ogrnip(rnd: random.Random, inn_person: str | None = None) -> str:
    """Generate a valid 15-digit OGRNIP.

    Args:
        rnd: Source of randomness.
        inn_person: If given, the OGRNIP uses the same subject code.

    Returns:
        Sign ``3``, year (2), subject (2), record number (9), check digit.
    """
    region = inn_person[:2] if inn_person else _region_code(rnd, None)
    body = "3" + _ogrn_year(rnd, 4) + region + _digits(rnd, 9)
    return body + str(int(body) % 13 % 10)


def generate_snils(rnd: random.Random) -> str:
    """Generate a valid SNILS (11 digits, no separators) of the checksummed range.

    Args:
        rnd: Source of randomness.

    Returns:
        The SNILS, e.g. ``11223344595``.
    """
    number = f"{rnd.randint(_SNILS_CHECKED_ABOVE + 1, 999_999_999):09d}"
    return f"{number}{_snils_checksum(number):02d}"


def generate_okpo(rnd: random.Random, length: Literal[8, 10] = 8) -> str:
    """Generate a valid OKPO code.

    Args:
        rnd: Source of randomness.
        length: 8 for an organisation, 10 for a sole proprietor.

    Returns:
        The OKPO with its check digit.
    """
    body = _digits(rnd, length - 1)
    return body + str(_okpo_check(body))


# --- bank accounts ----------------------------------------------------------------------

BankKeyType = Literal["bik", "account", "corr_account"]

# Weights of the account control key (Bank of Russia rules for account numbering): the
# 3-digit bank part followed by the 20-digit account, weights 7-1-3 repeated.
_ACCOUNT_KEY_WEIGHTS = ((7, 1, 3) * 8)[:23]
_ACCOUNT_KEY_POSITION = 8  # 0-based: the 9th digit of the account is its control key
# A Bank of Russia subdivision (settlement centre, treasury) has a BIK ending in these.
_CENTRAL_BANK_BIK_TAILS = ("000", "001", "002")


class InvalidBankKey(ValueError):
    """A bank key (BIK, settlement or correspondent account) is malformed.

    Attributes:
        key_type: ``"bik"``, ``"account"`` or ``"corr_account"``.
        value: The value exactly as it was given.
        reason: What is wrong, e.g. ``"control key (digit 9) is 3, expected 7"``.
    """

    def __init__(self, key_type: BankKeyType, value: str, reason: str) -> None:
        self.key_type: BankKeyType = key_type
        self.value = value
        self.reason = reason
        super().__init__(f"invalid {key_type.upper()} {value!r}: {reason}")

    def __reduce__(self) -> tuple[type[InvalidBankKey], tuple[BankKeyType, str, str]]:
        return (type(self), (self.key_type, self.value, self.reason))


def _bank_digits(key_type: BankKeyType, value: str, length: int) -> str:
    key = normalize_digits(value)
    if not key:
        raise InvalidBankKey(key_type, value, "is empty")
    if not _DIGITS.fullmatch(key):
        raise InvalidBankKey(key_type, value, "contains characters other than digits")
    if len(key) != length:
        raise InvalidBankKey(key_type, value, f"must be {length} digits, got {len(key)}")
    return key


def validate_bik(value: str) -> str:
    """Validate a BIK (bank identification code): 9 digits, starting with ``04``.

    Args:
        value: The BIK as typed.

    Returns:
        The BIK as 9 digits.

    Raises:
        InvalidBankKey: If the length or characters are wrong or it is not a Russian BIK.
    """
    bik = _bank_digits("bik", value, 9)
    if not bik.startswith("04"):
        raise InvalidBankKey("bik", value, "a Russian BIK starts with 04")
    return bik


def validate_account_number(value: str, *, correspondent: bool = False) -> str:
    """Validate the form of a bank account number (20 digits) without its control key.

    For when the bank's BIK is not known; :func:`validate_account` checks the key too.

    Args:
        value: The account number as typed.
        correspondent: Whether ``value`` is a bank's correspondent account.

    Returns:
        The account as 20 digits.

    Raises:
        InvalidBankKey: If the length or characters are wrong.
    """
    return _bank_digits("corr_account" if correspondent else "account", value, 20)


def _account_key(bank_part: str, account: str) -> int:
    """The control digit ``account[8]`` must have for ``bank_part + account``."""
    digits = bank_part + account[:_ACCOUNT_KEY_POSITION] + "0" + account[9:]
    total = sum(int(d) * w for d, w in zip(digits, _ACCOUNT_KEY_WEIGHTS, strict=True))
    return (total % 10 * 3) % 10


def _bank_part(bik: str, *, correspondent: bool) -> str:
    # A correspondent account, or an account opened at a Bank of Russia subdivision, is
    # keyed with "0" + digits 5-6 of the BIK; an account at a bank with its BIK's tail.
    if correspondent or bik[-3:] in _CENTRAL_BANK_BIK_TAILS:
        return "0" + bik[4:6]
    return bik[-3:]


def validate_account(value: str, bik: str, *, correspondent: bool = False) -> str:
    """Validate a 20-digit bank account number and its control key against the BIK.

    The control key is digit 9 of the account: with the bank part (last three digits of
    the BIK; ``0`` + digits 5-6 for a correspondent account or an account at a Bank of
    Russia subdivision) in front, Σ digit × weight (7, 1, 3 repeated) is a multiple of 10.

    Args:
        value: The account number as typed.
        bik: The BIK of the bank the account is in (validated first).
        correspondent: Whether ``value`` is the bank's correspondent account.

    Returns:
        The account as 20 digits.

    Raises:
        InvalidBankKey: If the BIK or the account is malformed or the control key is wrong.
    """
    key_type: BankKeyType = "corr_account" if correspondent else "account"
    account = validate_account_number(value, correspondent=correspondent)
    bik = validate_bik(bik)
    expected = _account_key(_bank_part(bik, correspondent=correspondent), account)
    actual = int(account[_ACCOUNT_KEY_POSITION])
    if actual != expected:
        raise InvalidBankKey(
            key_type,
            value,
            f"control key (digit 9) is {actual}, expected {expected} for BIK {bik}",
        )
    return account


def with_account_key(account: str, bik: str, *, correspondent: bool = False) -> str:
    """``account`` (20 digits) with its control key (digit 9) set for ``bik``.

    Args:
        account: 20 digits; digit 9 is replaced.
        bik: The bank's BIK.
        correspondent: Whether this is the bank's correspondent account.

    Returns:
        The account with a correct control key (for seed data and tests).
    """
    key = _account_key(_bank_part(bik, correspondent=correspondent), account)
    return account[:_ACCOUNT_KEY_POSITION] + str(key) + account[9:]
