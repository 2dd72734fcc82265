"""Validators for the identifiers TAS handles: UPN (DfE check letter), NHS number (modulus 11), school URN,
UK mobile numbers (normalised to E.164) and email addresses."""

from __future__ import annotations

import re

UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # DfE: I, O and S are never used
_UPN_RE = re.compile(r"^[A-HJ-NP-RT-Z]\d{11}[0-9A-HJ-NP-RT-Z]$")
_URN_RE = re.compile(r"^\d{6}$")
_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def _upn_value(char: str) -> int:
    return int(char) if char.isdigit() else UPN_LETTERS.index(char)


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters after it (positions 2 to 13, weights 2 to 13, modulus 23)."""
    total = sum(_upn_value(char) * weight for weight, char in enumerate(body, start=2))
    return UPN_LETTERS[total % 23]


def is_valid_upn(upn: str) -> bool:
    return bool(_UPN_RE.match(upn)) and upn_check_letter(upn[1:]) == upn[0]


def nhs_check_digit(first_nine: str) -> int | None:
    """Modulus 11 with weights 10..2; None when the number can have no valid check digit (remainder 10)."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=False))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def normalise_nhs_number(value: str) -> str:
    return re.sub(r"[\s-]", "", value)


def is_valid_nhs_number(value: str) -> bool:
    digits = normalise_nhs_number(value)
    return len(digits) == 10 and digits.isdigit() and nhs_check_digit(digits[:9]) == int(digits[9])


def is_valid_urn(urn: str) -> bool:
    return bool(_URN_RE.match(urn))


def normalise_uk_mobile(value: str) -> str:
    """`07700 900123` / `+44 7700 900123` / `00447700900123` → `+447700900123`. Landlines, premium and other
    non-mobile numbers raise ValueError: SMS only goes to UK mobiles (07xxx, not 070 personal or 076 pagers)."""
    digits = re.sub(r"[\s().-]", "", value)
    if digits.startswith("+44"):
        digits = "0" + digits[3:]
    elif digits.startswith("0044"):
        digits = "0" + digits[4:]
    elif digits.startswith("44") and len(digits) == 12:
        digits = "0" + digits[2:]
    if not (digits.isdigit() and len(digits) == 11):
        raise ValueError("not a UK phone number")
    if not digits.startswith("07") or digits.startswith(("070", "076")):
        raise ValueError("not a UK mobile number")
    return "+44" + digits[1:]


def is_valid_email(value: str) -> bool:
    return len(value) <= 254 and bool(_EMAIL_RE.match(value))
