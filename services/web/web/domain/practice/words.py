"""The APIs' codes in a practitioner's words (English and Welsh): roles, agencies, lawful bases, referral states,
EHC milestones, break-glass grants, sensitivities."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from ... import i18n
from ...i18n import _
from ...templating import N_

ROLES = {
    "senco": N_("SENCO"),
    "dsl": N_("Designated safeguarding lead"),
    "head": N_("Headteacher"),
    "teacher": N_("Teacher"),
    "slt": N_("Speech and language therapist"),
    "ot": N_("Occupational therapist"),
    "camhs": N_("CAMHS practitioner"),
    "school_nurse": N_("School nurse"),
    "social_worker": N_("Social worker"),
    "send_officer": N_("SEND officer"),
    "ep": N_("Educational psychologist"),
    "offer_admin": N_("Local offer administrator"),
}
AGENCIES = {
    "health": N_("health services"),
    "social_care": N_("children’s social care"),
    "local_authority": N_("the council"),
    "voluntary": N_("voluntary organisations"),
    "school": N_("schools"),
}
BASES = {
    "safeguarding": N_("safeguarding"),
    "legal_obligation": N_("a legal obligation"),
    "vital_interests": N_("vital interests"),
    "public_task": N_("a public task"),
}
REFERRAL_STATES = {
    "submitted": N_("Waiting for a decision"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "redirected": N_("Redirected"),
    "withdrawn": N_("Withdrawn"),
    "completed": N_("Completed"),
}
REFERRAL_TAGS = {
    "submitted": "govuk-tag--yellow",
    "accepted": "govuk-tag--green",
    "declined": "govuk-tag--red",
    "redirected": "govuk-tag--purple",
    "withdrawn": "govuk-tag--grey",
    "completed": "govuk-tag--blue",
}
MILESTONES = {
    "decision_to_assess": N_("Decision whether to assess"),
    "advice": N_("Advice from professionals"),
    "draft_plan": N_("Draft plan"),
    "final_plan": N_("Final plan"),
    "annual_review": N_("Annual review"),
}
MILESTONE_STATES = {
    "due": N_("Due"),
    "overdue": N_("Late"),
    "done": N_("Done"),
    "done_late": N_("Done late"),
    "waiting": N_("Not started"),
    "not_applicable": N_("Not needed"),
}
SENSITIVITY = {
    "family": N_("The family will see this"),
    "team": N_("The team only: not the family"),
    "agency": N_("Your kind of organisation only"),
    "restricted": N_("Restricted: your organisation and the school’s safeguarding lead"),
}
CONSENT = {"given": N_("Given"), "refused": N_("Refused"), "withdrawn": N_("Withdrawn"), "not_sought": N_("Not asked")}
ORG_TYPES = {
    "school": N_("School"),
    "health": N_("Health"),
    "social_care": N_("Social care"),
    "local_authority": N_("Council"),
    "family": N_("Family"),
    "mis": N_("School records system"),
}


def _word(table: dict[str, str], code: str | None) -> str:
    return _(table[code]) if code in table else (code or "").replace("_", " ")


def role_text(role: str | None) -> str:
    return _word(ROLES, role)


def agency_text(agency: str | None) -> str:
    return _word(AGENCIES, agency)


def basis_text(basis: str | None) -> str:
    return _word(BASES, basis)


def referral_state(status: str) -> str:
    return _word(REFERRAL_STATES, status)


def referral_tag(status: str) -> str:
    return REFERRAL_TAGS.get(status, "govuk-tag--grey")


def milestone_text(name: str) -> str:
    return _word(MILESTONES, name)


def milestone_state(status: str) -> str:
    return _word(MILESTONE_STATES, status)


def sensitivity_text(sensitivity: str) -> str:
    return _word(SENSITIVITY, sensitivity)


def consent_text(status: str | None) -> str:
    return _word(CONSENT, status)


def org_type_text(org_type: str | None) -> str:
    return _word(ORG_TYPES, org_type)


def days_between(later: date, earlier: date) -> int:
    return (later - earlier).days


def next_milestone_text(clock: dict[str, Any], today: date | None = None) -> str:
    """'Final plan: 12 days late' or 'Decision whether to assess: due Friday 5 March 2027 (in 3 days)'."""
    today = today or date.today()
    open_ones = [m for m in clock.get("milestones", []) if m.get("status") in ("due", "overdue") and m.get("due")]
    if not open_ones:
        return _("No milestone due")
    m = min(open_ones, key=lambda x: x["due"])
    due = date.fromisoformat(m["due"])
    name = milestone_text(m["name"])
    if due < today:
        return i18n.ngettext_(
            "%(name)s: %(num)s day late", "%(name)s: %(num)s days late", (today - due).days, name=name
        )
    return (
        _("%(name)s: due %(when)s", name=name, when=i18n.long_date(due))
        + " ("
        + i18n.ngettext_("in %(num)s day", "in %(num)s days", (due - today).days)
        + ")"
    )


def late_by(milestone: dict[str, Any], today: date | None = None) -> int | None:
    """Days a milestone is (or was) late; None when it is not."""
    today = today or date.today()
    if not milestone.get("due") or milestone.get("status") not in ("overdue", "done_late"):
        return None
    due = date.fromisoformat(milestone["due"])
    done = date.fromisoformat(milestone["completed_on"]) if milestone.get("completed_on") else today
    return (done - due).days


def grant_text(grant: dict[str, Any]) -> str:
    """Who opened the record by break-glass (or learnt it exists), as the reviewer reads it."""
    who = grant.get("name") or grant.get("sub", "")
    roles = ", ".join(role_text(r) for r in grant.get("roles", []))
    if grant.get("kind") == "discovery":
        return _("%(who)s (%(roles)s) searched and learnt the record exists", who=who, roles=roles)
    return _("%(who)s (%(roles)s) opened the record", who=who, roles=roles)


def time_left(expires_at: str, now: datetime | None = None) -> str:
    seconds = max(0, int((datetime.fromisoformat(expires_at) - (now or datetime.now(UTC))).total_seconds()))
    hours, minutes = divmod(seconds // 60, 60)
    if hours:
        return (
            i18n.ngettext_("%(num)s hour", "%(num)s hours", hours)
            + " "
            + i18n.ngettext_("%(num)s minute", "%(num)s minutes", minutes)
        )
    return i18n.ngettext_("%(num)s minute", "%(num)s minutes", minutes)


def date_text(value: Any) -> str:
    """A date written out, or what was typed when it is not a date (a form being corrected)."""
    if not value:
        return ""
    try:
        return i18n.long_date(value)
    except (TypeError, ValueError):
        return str(value)
