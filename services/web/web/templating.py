"""Jinja2 with the GOV.UK Frontend macros (govuk-frontend-jinja) and gettext; a template per page."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader, select_autoescape

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
        lambda singular, plural, n: i18n.ngettext_(singular, plural, n),
        newstyle=True,
    )
    env.globals.update(i18n.jinja_globals())
    env.filters["access_row"] = access_row
    env.filters["need_option"] = need_option
    env.globals["new_key"] = lambda: uuid.uuid4().hex
    env.filters["urlquote"] = lambda value: quote(str(value), safe="")
    return env


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    env: Environment = request.app.state.templates
    session = getattr(request.state, "session", None)
    page = env.get_template(template).render(
        request=request,
        lang=i18n.current_language.get(),
        session=session,
        signed_in=bool(session and session.signed_in),
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
    return i18n.gettext_(ORG_TYPES.get(org_type, N_("An organisation")))


def access_row(entry: dict[str, Any]) -> list[dict[str, str]]:
    """One row of the family's access log: when, which organisation (never the person or the reason), what."""
    who = entry.get("actor_org_name") or entry.get("actor_org") or ""
    kind = org_type_text(str(entry.get("actor_org_type", "")))
    action = {
        "read": i18n.gettext_("Looked at"),
        "create": i18n.gettext_("Added to"),
        "update": i18n.gettext_("Changed"),
    }.get(str(entry.get("action")), i18n.gettext_("Used"))
    return [
        {"text": i18n.long_datetime(entry.get("at"))},
        {"text": f"{kind}: {who}" if who else kind},
        {"text": f"{action} {i18n.gettext_('the record')}"},
    ]


def need_option(area: str, selected: str) -> dict[str, Any]:
    from .domain.plan_view import area_name

    return {"value": area, "text": area_name(area), "selected": area == selected}
