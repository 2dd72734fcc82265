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


def access_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The family's access log in plain words: which kind of organisation (its name when caseload gives one,
    never an id, a person or a reason), what it did, when; the family's own visits and TAS's own automatic steps
    left out; the same organisation doing the same thing in the same minute shown once, with how many times."""
    rows: list[dict[str, Any]] = []
    for entry in entries:
        org_type = str(entry.get("actor_org_type", ""))
        if org_type == "family" or entry.get("actor_org") == "system":
            continue
        kind = org_type_text(org_type)
        name = entry.get("actor_org_name")
        who = f"{name} ({kind.lower()})" if name else kind
        what = i18n.gettext_(ACTIONS.get(str(entry.get("action")), USED_THE_RECORD))
        when = i18n.long_datetime(entry.get("at"))
        if rows and rows[-1]["who"] == who and rows[-1]["what"] == what and rows[-1]["when"] == when:
            rows[-1]["times"] += 1
            continue
        rows.append({"when": when, "who": who, "what": what, "times": 1})
    return rows


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
