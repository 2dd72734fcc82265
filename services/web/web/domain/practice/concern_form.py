"""The concern form: the fields a school sends (the child, the four areas of need, what the school has tried, the
family's contacts and consent) as referral's API takes them, and the API's own validation errors put back on the
fields they name. The form does not validate on its own: referral's API is the one place that decides what a valid
concern is, and its `errors[]` become the GOV.UK error summary."""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import FormData

from ...domain.forms import FormErrors
from ...i18n import _
from ...templating import N_

STEPS = 3
CONTACTS = 2
CHILD_FIELDS = ("upn", "nhs_number", "given_name", "family_name", "date_of_birth", "year_group")
STEP_FIELDS = ("action", "started", "ended", "outcome")
CONTACT_FIELDS = ("name", "relationship", "mobile", "email", "preferred_channel", "language", "parental_responsibility")
OPTIONAL_CHILD = {"nhs_number", "year_group"}

MESSAGES = {
    "school_urn": N_("Choose the school"),
    "child.upn": N_("Enter the pupil’s UPN: 13 characters with its check letter, like A123456789012"),
    "child.nhs_number": N_("Enter a real NHS number (10 digits), or leave it blank"),
    "child.given_name": N_("Enter the child’s first name"),
    "child.family_name": N_("Enter the child’s last name"),
    "child.date_of_birth": N_("Enter a date of birth in the last 25 years, like 2016-01-31"),
    "child.year_group": N_("Enter a year group: N1, N2, R or Y1 to Y14"),
    "areas_of_need": N_("Choose the areas of need"),
    "summary": N_("Describe what worries you"),
    "urgency": N_("Choose how urgent it is"),
    "consent_status": N_("Say whether the family agreed to share"),
    "lawful_basis": N_("Choose a lawful basis, or leave it blank when the family agreed"),
    "graduated_response.*.action": N_("Say what was tried"),
    "graduated_response.*.started": N_("Enter the date it started, like 2026-09-01"),
    "graduated_response.*.ended": N_("Enter the date it ended, after it started"),
    "graduated_response.*": N_("Check the dates: it ended before it started"),
    "family_contacts.*.name": N_("Enter the name of the parent or carer"),
    "family_contacts.*.relationship": N_("Enter their relationship to the child, like mother"),
    "family_contacts.*.mobile": N_("Enter a UK mobile number, like 07700 900982"),
    "family_contacts.*.email": N_("Enter an email address, like name@example.com"),
    "family_contacts.*.preferred_channel": N_("Choose how they prefer to be contacted"),
    "family_contacts.*": N_("Give a mobile number for text messages, or an email address for emails"),
}
FIRST_FIELD = {"graduated_response": "action", "family_contacts": "name", "child": "upn"}


def _value(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


def body_of(form: FormData, *, school_urns: tuple[str, ...]) -> dict[str, Any]:
    """The concern as referral's API takes it. Blank optional fields are left out; blank required ones are sent
    blank so that the API names them."""
    child = {f: _value(form, f"child.{f}") for f in CHILD_FIELDS}
    child = {k: v for k, v in child.items() if v or k not in OPTIONAL_CHILD}
    steps = []
    for n in range(STEPS):
        step = {f: _value(form, f"graduated_response.{n}.{f}") for f in STEP_FIELDS}
        if any(step.values()):
            steps.append({k: v for k, v in step.items() if v or k == "action"})
    contacts = []
    for n in range(CONTACTS):
        contact = {f: _value(form, f"family_contacts.{n}.{f}") for f in CONTACT_FIELDS}
        if any(v for k, v in contact.items() if k not in ("preferred_channel", "language", "parental_responsibility")):
            entry: dict[str, Any] = {k: v for k, v in contact.items() if v and k != "parental_responsibility"}
            entry.setdefault("name", "")
            entry.setdefault("relationship", "")
            entry.setdefault("preferred_channel", "")
            entry["parental_responsibility"] = contact["parental_responsibility"] == "yes"
            contacts.append(entry)
    body: dict[str, Any] = {
        "school_urn": _value(form, "school_urn") or (school_urns[0] if len(school_urns) == 1 else ""),
        "child": child,
        "areas_of_need": [str(a) for a in form.getlist("areas_of_need")],
        "safeguarding": _value(form, "safeguarding") == "yes",
        "summary": _value(form, "summary"),
        "urgency": _value(form, "urgency") or "routine",
        "graduated_response": steps,
        "family_contacts": contacts,
        "consent_status": _value(form, "consent_status") or "not_sought",
    }
    if _value(form, "already_tried"):
        body["already_tried"] = _value(form, "already_tried")
    if _value(form, "lawful_basis"):
        body["lawful_basis"] = _value(form, "lawful_basis")
    return body


def field_id(path: str) -> str:
    """`child.upn` → `child-upn`: the id of the form field an API error names."""
    return path.replace(".", "-")


def errors_from_api(errors: list[dict[str, str]]) -> FormErrors:
    found = FormErrors()
    for error in errors:
        path = str(error.get("field", "")).removeprefix("body.").removeprefix("body")
        general = re.sub(r"\.\d+", ".*", path)
        parts = path.split(".")
        target = path
        if parts and parts[-1].isdigit():  # the whole object is wrong: its first field
            target = f"{path}.{FIRST_FIELD.get(parts[0], 'name')}"
        elif path in ("child", ""):
            target = "child.upn"
        message = MESSAGES.get(general) or MESSAGES.get(path)
        text = _(message) if message else str(error.get("message", "")).removeprefix("Value error, ").capitalize()
        found.add(field_id(target or "summary"), text)
    if not found:
        found.add("summary", _("Check your answers"))
    return found
