"""Validators for the identifiers TAS handles: UPN (DfE check letter), NHS number (modulus 11), school URN,
UK mobile numbers (normalised to E.164, with Google's libphonenumber metadata: `phonenumbers`) and email
addresses (`email-validator`, syntax only: no DNS lookup)."""

from __future__ import annotations

import re
from datetime import date

import phonenumbers
from email_validator import EmailNotValidError, validate_email

UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"  # DfE: I, O and S are never used
_UPN_RE = re.compile(r"^[A-HJ-NP-RT-Z]\d{11}[0-9A-HJ-NP-RT-Z]$")
_URN_RE = re.compile(r"^\d{6}$")
_LETTERS = re.compile(r"[A-Za-z]")
DRAMA_MOBILES = range(7700900000, 7700901000)
"""07700 900000-900999: Ofcom keeps them for drama (never assigned, so never anyone's phone). libphonenumber does
not count them as mobiles; TAS accepts them, as its fictional test data and examples use them."""


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
    """`07700 900123` / `+44 7700 900123` / `00447700900123` → `+447700900123`. Anything that is not a valid
    mobile number of the UK numbering plan (+44; including the Channel Islands and the Isle of Man) raises
    ValueError: landlines, premium rate, personal (070) numbers, pagers, foreign numbers, letters, extensions."""
    if _LETTERS.search(value):  # libphonenumber would read letters as a keypad's digits
        raise ValueError("not a UK phone number")
    try:
        number = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        raise ValueError("not a UK phone number") from None
    if number.country_code != 44 or number.extension:
        raise ValueError("not a UK phone number")
    if number.national_number not in DRAMA_MOBILES:
        if not phonenumbers.is_valid_number(number):
            raise ValueError("not a UK phone number")
        if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
            raise ValueError("not a UK mobile number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(value: str) -> str:
    """The address as email-validator normalises it (the domain lower-cased, the local part kept); ValueError
    when it is not a deliverable-looking address: syntax, length, a special-use domain (`.test`, `localhost`),
    characters beyond ASCII before the @."""
    try:
        return validate_email(value, check_deliverability=False, allow_smtputf8=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


def is_valid_email(value: str) -> bool:
    try:
        normalise_email(value)
    except ValueError:
        return False
    return True


def checked_email(value: str | None) -> str | None:
    """`value` as it is when it is a valid email address (or None); else ValueError, for a model's validator."""
    if value is not None and not is_valid_email(value):
        raise ValueError("not a valid email address")
    return value


# --- year groups (England) ------------------------------------------------------------------------------------

YEAR_GROUPS = ("N1", "N2", "R", *(f"Y{n}" for n in range(1, 15)))
"""In school order: nursery (two years), reception, Year 1 to Year 14 (post-16 in a special school or college)."""


def _year_index(date_of_birth: date, on: date) -> int:
    """The child's place in YEAR_GROUPS by age on `on` (below 0 before nursery, past the end after Y14). An English
    school year runs from 1 September; a child starts reception in the school year in which they turn five."""
    last_august = date(on.year if on.month >= 9 else on.year - 1, 8, 31)
    age = last_august.year - date_of_birth.year
    if (last_august.month, last_august.day) < (date_of_birth.month, date_of_birth.day):
        age -= 1
    return age - 4 + YEAR_GROUPS.index("R")


def year_group_of(date_of_birth: date, on: date) -> str | None:
    """The year group of a child born on `date_of_birth` on the date `on`, by age; None outside N1 to Y14."""
    index = _year_index(date_of_birth, on)
    return YEAR_GROUPS[index] if 0 <= index < len(YEAR_GROUPS) else None


def year_group_fits(year_group: str, date_of_birth: date, on: date) -> bool:
    """True when the year group is the child's by age or one either side (a child may be taught a year above or,
    as many summer-born and SEN children are, a year below their age group); a young person past Y14 by age
    (SEND support runs to 25) may be in Y12 to Y14."""
    expected, given = _year_index(date_of_birth, on), YEAR_GROUPS.index(year_group)
    if expected >= len(YEAR_GROUPS):
        return given >= YEAR_GROUPS.index("Y12")
    return abs(expected - given) <= 1
