"""The insights pages (issue 15): each of insights' four answers as a chart (SVG drawn by matplotlib, served from a
route with the page's own access check) beside its tables, each table downloadable as CSV. Every call goes to
insights with the signed-in practitioner's own token: insights decides who may see which LA, school or service, and
its 403/404 is the page's 403/404."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from tas_common.access import GUARD_ATTR

from ..clients.base import Forbidden, Invalid, NotFound
from ..clients.insights import InsightsClient
from ..domain import insights_period, insights_view, insights_words
from ..sessions import WebSession
from ..templating import render


class InsightsSignIn(Exception):
    """Not signed in: practitioners sign in at /sign-in, then come back."""


async def signed_in_session(request: Request) -> WebSession:
    session: WebSession | None = request.state.session
    if session is None or not session.signed_in:
        raise InsightsSignIn
    return session


setattr(
    signed_in_session,
    GUARD_ATTR,
    {
        "org_types": None,
        "roles": None,
        "description": "anyone signed in; insights then decides (LA SEND officers, school leads, a service's "
        "practitioners; families and MIS clients get 403)",
    },
)


async def get_insights(request: Request) -> InsightsClient:
    client: InsightsClient = request.app.state.insights
    return client


Session = Annotated[WebSession, Depends(signed_in_session)]
Insights = Annotated[InsightsClient, Depends(get_insights)]
ScopeQuery = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
PeriodQuery = Annotated[str | None, Query(max_length=20, pattern=r"^[0-9a-z/.-]+$")]
TableQuery = Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$")]

FormField = Annotated[str | None, Query(max_length=8)]
MAX_SERVICE_PAGES = 5


@dataclass(frozen=True)
class Asked:
    """What a page, its chart and its CSV are asked for: the scope given (`?la_code=`, `?school_urn=` or
    `?service_id=`; the token's own when none) and the period."""

    la_code: str | None
    school_urn: str | None
    service_id: str | None
    period: str | None

    def given(self) -> dict[str, str]:
        """The first scope named in the query, if any."""
        for name, value in (
            ("la_code", self.la_code),
            ("school_urn", self.school_urn),
            ("service_id", self.service_id),
        ):
            if value:
                return {name: value}
        return {}


async def asked(
    la_code: ScopeQuery = None, school_urn: ScopeQuery = None, service_id: ScopeQuery = None, period: PeriodQuery = None
) -> Asked:
    return Asked(la_code=la_code, school_urn=school_urn, service_id=service_id, period=period)


AskedDep = Annotated[Asked, Depends(asked)]

router = APIRouter(prefix="/insights")
T = TypeVar("T")


def _claims(token: str) -> dict[str, Any]:
    """The token's claims, unverified: only to choose the scope a page opens on (insights checks the token)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _scope(session: WebSession, asked: Asked) -> dict[str, str]:
    given = asked.given()
    if given:
        return given
    claims = _claims(session.token or "")
    if claims.get("la_code"):
        return {"la_code": str(claims["la_code"])}
    urns = claims.get("school_urns") or []
    if urns:
        return {"school_urn": str(urns[0])}
    return {}


async def _my_services(request: Request, session: WebSession) -> list[dict[str, str]]:
    """The services whose practitioner (or manager) the signed-in person is, from the local offer: their
    organisation's services that name one of their roles (all of them for a `service_manager`). Insights checks
    the token again; this only saves typing `?service_id=`."""
    claims = _claims(session.token or "")
    org_id, roles = str(claims.get("org_id") or ""), {str(r) for r in claims.get("roles") or []}
    if not org_id or not roles:
        return []
    mine: list[dict[str, str]] = []
    for page_number in range(1, MAX_SERVICE_PAGES + 1):
        try:
            found = await request.app.state.referral.services(
                token=None, params=[("per_page", 100), ("page", page_number)]
            )
        except (Forbidden, Invalid, NotFound):
            return mine
        for service in found.get("contents", []):
            if (service.get("organization") or {}).get("id") != org_id:
                continue
            if "service_manager" in roles or roles & set(service.get("practitioner_roles") or []):
                mine.append({"id": str(service["id"]), "name": str(service.get("name") or service["id"])})
        if found.get("last_page", True):
            break
    return mine


async def _page_scope(
    request: Request, session: WebSession, asked: Asked
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The scope a page shows, and the person's services to choose from (when insights would know them by
    their service only: a service's practitioner without an LA or a school in their token)."""
    scope = _scope(session, asked)
    if scope and "service_id" not in scope:
        return scope, []
    services = await _my_services(request, session)
    if not scope and services:
        scope = {"service_id": services[0]["id"]}
    return scope, services


async def _ask(request: Request, call: Awaitable[T]) -> T | Response:
    """Insights' answer, or its 403 or 404 as the page's."""
    try:
        return await call
    except Forbidden:
        return render(request, "insights/forbidden.html", status_code=403)
    except (Invalid, NotFound):
        return render(request, "errors/404.html", status_code=404)


def _params(session: WebSession, asked: Asked) -> dict[str, str]:
    """What a chart or a CSV asks insights for: the scope and the period (a page checks the period first)."""
    return _scope(session, asked) | ({"period": asked.period} if asked.period else {})


def _common(name: str) -> None:
    async def page(
        request: Request,
        session: Session,
        insights: Insights,
        asked: AskedDep,
        year: FormField = None,
        from_month: FormField = None,
        from_year: FormField = None,
        to_month: FormField = None,
        to_year: FormField = None,
    ) -> Response:
        form = {"year": year, "from_month": from_month, "from_year": from_year, "to_month": to_month}
        chosen = insights_period.choose(period=asked.period, form={**form, "to_year": to_year})
        scope, services = await _page_scope(request, session, asked)
        if not scope:
            return render(request, "insights/forbidden.html", status_code=403)
        context: dict[str, Any] = {
            "name": name,
            "answers": insights_view.ANSWERS,
            "scope": scope,
            "services": services,
            "form": chosen.values,
            "form_errors": chosen.errors,
            "scope_query": urlencode(scope),
        }
        if chosen.errors:
            context |= {"answer": None, "chart": None, "query": urlencode(scope)}
            return render(request, "insights/answer.html", status_code=400, errors=chosen.errors.summary(), **context)
        params = scope | ({"period": chosen.period} if chosen.period else {})
        answer = await _ask(request, insights.answer(name, token=session.token or "", params=params))
        if isinstance(answer, Response):
            return answer
        answer = insights_words.translated(answer)
        chart = insights_view.chart_table(answer, name)
        return render(request, "insights/answer.html", answer=answer, chart=chart, query=urlencode(params), **context)

    async def chart(request: Request, session: Session, insights: Insights, asked: AskedDep) -> Response:
        answer = await _ask(request, insights.answer(name, token=session.token or "", params=_params(session, asked)))
        if isinstance(answer, Response):
            return answer
        table = insights_view.chart_table(insights_words.translated(answer), name)
        if table is None:
            return render(request, "errors/404.html", status_code=404)
        svg = insights_view.svg_chart(table, name, title=str(table.get("title", "")))
        return Response(svg, media_type="image/svg+xml")

    async def csv(
        request: Request, session: Session, insights: Insights, asked: AskedDep, table: TableQuery = None
    ) -> Response:
        params = _params(session, asked) | ({"table": table} if table else {})
        found = await _ask(request, insights.csv(name, token=session.token or "", params=params))
        if isinstance(found, Response):
            return found
        disposition = found.headers.get("content-disposition", f'attachment; filename="insights-{name}.csv"')
        return Response(
            found.content, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition}
        )

    page.__name__, chart.__name__, csv.__name__ = f"insights_{name}", f"insights_{name}_chart", f"insights_{name}_csv"
    router.add_api_route(f"/{name}", page, methods=["GET"])
    router.add_api_route(f"/{name}.svg", chart, methods=["GET"])
    router.add_api_route(f"/{name}.csv", csv, methods=["GET"])


for _name in insights_view.ANSWERS:
    _common(_name)


@router.get("")
async def index(request: Request, session: Session) -> Response:
    return RedirectResponse("/insights/waiting" + (f"?{request.url.query}" if request.url.query else ""), 303)


def sign_in_redirect(request: Request) -> Response:
    """Practitioners sign in at /sign-in (the practitioners' pages); back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/sign-in?" + urlencode({"next": target}), status_code=303)


__all__ = ["InsightsSignIn", "router", "sign_in_redirect"]
