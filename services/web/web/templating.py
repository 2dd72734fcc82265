"""Jinja2 with the GOV.UK Frontend macros (govuk-frontend-jinja) and gettext; a template per page."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader, select_autoescape
from markupsafe import Markup, escape

from . import i18n


def build_environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [
                PackageLoader("web", "templates"),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message: i18n.gettext_(message),
        lambda singular, plural, n: i18n.ngettext_raw(singular, plural, n),
        newstyle=True,
    )
    env.globals.update(i18n.jinja_globals())
    env.globals["access_rows"] = access_rows
    env.globals["org_type_text"] = org_type_text
    env.globals["waiting_text"] = waiting_text
    env.filters["role_text"] = role_text
    env.filters["need_option"] = need_option
    env.filters["uk_mobile"] = uk_mobile
    env.globals["mailto"] = mailto
    env.globals["new_key"] = lambda: uuid.uuid4().hex
    env.filters["urlquote"] = lambda value: quote(str(value), safe="")
    return env


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    env: Environment = request.app.state.templates
    session = getattr(request.state, "session", None)
    practitioner = bool(session and session.signed_in and session.data.get("kind") == "practitioner")
    if practitioner:  # the practitioners' menu and sign-out, unless the page says otherwise
        from .domain.practice.navigation import practitioner_defaults

        context = {**practitioner_defaults(request, session), **context}
    page = env.get_template(template).render(
        request=request,
        lang=i18n.current_language.get(),
        session=session,
        signed_in=bool(session and session.signed_in),
        practitioner=practitioner,
        csrf_token=session.csrf if session else "",
        current_path=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        **context,
    )
    return HTMLResponse(page, status_code=status_code)


def N_(message: str) -> str:
    """Marks a message for the catalogue; translated where it is shown."""
    return message


ORG_TYPES = {
    "school": N_("A school"),
    "health": N_("A health service (NHS)"),
    "social_care": N_("Children’s social care"),
    "local_authority": N_("The council"),
    "family": N_("Your family"),
    "mis": N_("The school’s records system"),
}


def org_type_text(org_type: str) -> str:
    return i18n.gettext_(ORG_TYPES.get(org_type, ANY_ORGANISATION))


ANY_ORGANISATION = N_("An organisation")
USED_THE_RECORD = N_("Used the record")
ACTIONS = {
    "read": N_("Looked at the record"),
    "search": N_("Looked at the record"),
    "export": N_("Looked at the record"),
    "break_glass_read": N_("Looked at the record in an emergency"),
    "break_glass": N_("Opened the record in an emergency"),
    "create": N_("Added to the record"),
    "update": N_("Changed the record"),
    "publish": N_("Shared a new version of the plan"),
    "review": N_("Recorded a review"),
    "delete": N_("Removed something from the record"),
    "merge": N_("Joined two records of your child into one"),
}


CASELOAD_KINDS = frozenset(
    {
        "A school",
        "A health service",
        "Children's social care",
        "The local authority",
        "Your family",
        "The school's information system",
        "TAS itself",
        "An organisation",
        "You",
        "The family",
    }
)
"""What caseload says instead of a name when it has not heard of the organisation (caseload/domain/
organisations.py): the page says it in the reader's language (ORG_TYPES) instead."""
ROLES = {
    "School staff": N_("School staff"),
    "Local authority staff": N_("Council staff"),
    "Health professional": N_("Health professional"),
    "Social care worker": N_("Social care worker"),
}
"""Caseload's words for a person's kind of work (when they are not on the child's team), translated; a role on
the child's team is the team's own words and is shown as it is."""


ROLE_NAMES = {
    "slt": N_("Speech and language therapist"),
    "ot": N_("Occupational therapist"),
    "physio": N_("Physiotherapist"),
    "ep": N_("Educational psychologist"),
    "school_nurse": N_("School nurse"),
    "senco": N_("SENCO (special educational needs co-ordinator)"),
    "dsl": N_("Designated safeguarding lead"),
    "head": N_("Headteacher"),
    "teacher": N_("Teacher"),
    "social_worker": N_("Social worker"),
    "send_officer": N_("SEND officer at the council"),
}
"""A team role as tokens name it (`slt`), in words; a role not listed is shown as it is."""


def role_text(role: str | None) -> str:
    if not role:
        return ""
    known = ROLE_NAMES.get(role.lower())
    return i18n.gettext_(known) if known else role


def access_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The family's access log in plain words: the organisation's name (what kind it is when caseload does not know
    its name; never an id, a person or a reason), the person's role, what it did, when in UK local time; the
    family's own visits and TAS's own automatic steps left out; the same organisation and role doing the same thing
    in the same minute shown once, with how many times."""
    rows: list[dict[str, Any]] = []
    for entry in entries:
        org_type = str(entry.get("actor_org_type", ""))
        if org_type in ("family", "system", "notify") or entry.get("actor_org") == "system":
            continue
        name = entry.get("organisation_name")
        who = str(name) if name and name not in CASELOAD_KINDS else org_type_text(org_type)
        role = entry.get("role")
        role_words = i18n.gettext_(ROLES[role]) if role in ROLES else role_text(role)
        what = i18n.gettext_(ACTIONS.get(str(entry.get("action")), USED_THE_RECORD))
        when = i18n.long_datetime(entry.get("at"))
        last = rows[-1] if rows else None
        if last and (last["who"], last["role"], last["what"], last["when"]) == (who, role_words, what, when):
            last["times"] += 1
            continue
        rows.append({"when": when, "who": who, "role": role_words, "what": what, "times": 1})
    return rows


def waiting_text(waiting: dict[str, Any] | None) -> str:
    """The local offer's current wait, honest about what it is (the directory's `waiting.basis`): measured from 5
    or more recent referrals, the service's own estimate, or too few referrals to say."""
    waiting = waiting or {}
    basis, days = waiting.get("basis"), waiting.get("days")
    estimate = waiting.get("service_estimate_days")
    if basis == "measured" and days is not None:
        return i18n.gettext_("About %(days)s days: the middle wait of %(n)s recent referrals") % {
            "days": days,
            "n": waiting.get("referrals_measured") or 5,
        }
    if basis in ("service_estimate", "fewer_than_5_referrals") and (estimate or days) is not None:
        return i18n.gettext_("About %(days)s days: the service’s own estimate, not yet measured") % {
            "days": estimate if estimate is not None else days
        }
    if basis == "fewer_than_5_referrals":
        return i18n.gettext_("Not known yet: too few recent referrals to measure")
    return i18n.gettext_("Not known")


def need_option(area: str, selected: str) -> dict[str, Any]:
    from .domain.plan_view import area_name

    return {"value": area, "text": area_name(area), "selected": area == selected}


def uk_mobile(number: str | None) -> str:
    """+447700900123 → 07700 900123, as a parent writes it."""
    if not number:
        return ""
    if number.startswith("+44") and len(number) == 13:
        national = "0" + number[3:]
        return f"{national[:5]} {national[5:]}"
    return number


def mailto(address: str | None) -> Markup:
    """A link that opens the person's email app (GOV.UK link style; long addresses wrap on a phone)."""
    if not address:
        return Markup("")
    safe = escape(address)
    return Markup(f'<a class="govuk-link tas-break-word" href="mailto:{safe}">{safe}</a>')
