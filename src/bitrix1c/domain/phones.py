"""Phone numbers and e-mail addresses as people type them into 1C and Bitrix24.

Phones are compared and stored in E.164 (``+79123456789``); parsing is left to
``phonenumbers`` (Google's libphonenumber metadata), which knows the Russian trunk
prefix ``8`` and extension words such as ``доб.``.
"""

from __future__ import annotations

import re
from email.utils import parseaddr

import phonenumbers

# A note in brackets after the number ("(моб.)", "(Иван)") makes phonenumbers give up.
_NOTE_IN_BRACKETS = re.compile(r"\([^()0-9]*\)")
_EMAIL = re.compile(
    r"(?P<local>[^@\s\"(),:;<>\[\]\\]+)"
    r"@(?P<domain>(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:[^\W\d_]{2,}|xn--[a-z0-9-]+))"
)


def to_e164(raw: str, region: str = "RU") -> str | None:
    """Convert a typed phone number to E.164.

    Handles ``"8 (912) 345-67-89"``, ``"+7 495 123 45 67"``, ``"89123456789"`` and the
    like; an extension (``"доб. 123"``, ``"ext. 5"``) is dropped.

    Args:
        raw: The number as typed.
        region: ISO country code used when the number has no ``+`` prefix.

    Returns:
        The number as ``+79123456789``, or ``None`` if it is not a possible number
        (wrong length for its country, or a local number without the area code).
    """
    if not raw or not raw.strip():
        return None
    for candidate in (raw, _NOTE_IN_BRACKETS.sub(" ", raw)):
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        # A 7-digit number without its area code is "possible" only locally and has no
        # E.164 form, so only fully possible numbers are accepted.
        reason = phonenumbers.is_possible_number_with_reason(number)
        if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
            return None
        number.extension = None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def normalize_email(raw: str) -> str | None:
    """Normalize a typed e-mail address.

    Surrounding spaces, a ``mailto:`` prefix and a display name (``"Иван <i@x.ru>"``)
    are removed and the domain is lower-cased; the local part keeps its case.

    Args:
        raw: The address as typed.

    Returns:
        ``local@domain``, or ``None`` if the text does not look like one address.
    """
    if not raw:
        return None
    text = raw.strip()
    if text[:7].lower() == "mailto:":
        text = text[7:]
    if "<" in text:
        text = parseaddr(text)[1]
    match = _EMAIL.fullmatch(text.strip())
    if match is None:
        return None
    return f"{match['local']}@{match['domain'].lower()}"
