"""The plan editor: the plan item by item (need, outcome, provision, the child's and family's views), each with who
wrote it and whether the family will see it; one item edited at a time, a stale edit resolved without losing the
words typed (domain/practice/plan_edit.py); publishing a draft, for comment or as agreed with what changed; the
versions and the difference between any two; answering the family's comments."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from ...clients.base import ApiError, Conflict, Forbidden, Invalid, NotFound
from ...domain import plan_view
from ...domain.forms import FormErrors
from ...domain.practice import plan_edit, words
from ...i18n import _
from ..deps import Caseload, CommentForm, CsrfField, check_csrf
from .child import load_child, page
from .deps import MeDep, PractitionerSession

router = APIRouter(prefix="/children/{child_id}/plan")
Text = Annotated[str, Form(max_length=4000)]
Short = Annotated[str, Form(max_length=200)]


async def _comments(caseload: Any, token: str, child_id: str) -> list[dict[str, Any]] | None:
    """The comments on the newest version (the family's threads and the answers), or None when there are none to
    show (no version shared)."""
    try:
        return list((await caseload.comments(child_id, token=token)).get("items") or [])
    except (NotFound, Forbidden):
        return None


@router.get("")
async def editor(
    request: Request, child_id: str, session: PractitionerSession, me: MeDep, caseload: Caseload
) -> Response:
    child = await load_child(caseload, session, child_id)
    token = session.bearer
    (plan, etag), versions, comments = await asyncio.gather(
        caseload.plan(child_id, token=token),
        caseload.versions(child_id, token=token),
        _comments(caseload, token, child_id),
    )
    latest = await caseload.version(child_id, versions[0]["number"], token=token) if versions else None
    return page(
        request,
        "practice/plan.html",
        session,
        child,
        section="plan",
        me=me,
        plan=plan,
        etag=etag,
        versions=versions,
        changes=plan_edit.summary_of_changes(latest, plan),
        comments=plan_view.comments_by_item(comments or []),
        comments_on=comments is not None,
        areas=plan_view.AREAS,
        pv=plan_view,
        errors=None,
        form_errors=FormErrors(),
    )


def _item_form(
    request: Request,
    session: Any,
    child: dict[str, Any],
    *,
    section: str,
    item_id: str,
    values: dict[str, Any],
    etag: str,
    base: str,
    item: dict[str, Any] | None = None,
    theirs: dict[str, Any] | None = None,
    removed: bool = False,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    errors = errors or FormErrors()
    return page(
        request,
        "practice/plan_item.html",
        session,
        child,
        status_code=status_code,
        section="plan",
        part=section,
        item_id=item_id,
        item=item,
        values=values,
        etag=etag,
        base=base,
        theirs=theirs,
        removed=removed,
        areas=plan_view.AREAS,
        pv=plan_view,
        lifecycle=plan_edit.LIFECYCLE,
        name=plan_edit.section_name(section),
        errors=errors.summary() or None,
        form_errors=errors,
    )


def _check_section(section: str) -> None:
    if section not in plan_edit.SECTIONS:
        raise NotFound(404)


@router.get("/{section}/{item_id}")
async def item_page(
    request: Request, child_id: str, section: str, item_id: str, session: PractitionerSession, caseload: Caseload
) -> Response:
    _check_section(section)
    child = await load_child(caseload, session, child_id)
    plan, etag = await caseload.plan(child_id, token=session.bearer)
    if item_id == "new":
        defaults = {"sensitivity": "family", "voice": "practitioner", "lifecycle_status": "active"}
        return _item_form(request, session, child, section=section, item_id="new", values=defaults, etag=etag, base="")
    item = plan_edit.find(plan, section, item_id)
    if item is None:
        raise NotFound(404)
    return _item_form(
        request,
        session,
        child,
        section=section,
        item_id=item_id,
        item=item,
        values=item,
        etag=etag,
        base=str(item.get("updated_at")),
    )


ATTEMPTS = 3


@router.post("/{section}/{item_id}")
async def save_item(
    request: Request,
    child_id: str,
    section: str,
    item_id: str,
    session: PractitionerSession,
    caseload: Caseload,
    csrf_token: CsrfField = None,
    etag: Annotated[str, Form(max_length=200)] = "",
    base: Annotated[str, Form(max_length=60)] = "",
    action: Annotated[str, Form(max_length=10)] = "save",
    voice: Short = "",
    text: Text = "",
    area: Short = "",
    description: Text = "",
    measure: Text = "",
    target_date: Short = "",
    lifecycle_status: Short = "",
    achievement_status: Short = "",
    what: Text = "",
    agency: Short = "",
    person: Short = "",
    frequency: Short = "",
    start: Short = "",
    end: Short = "",
    funded_by: Short = "",
    sensitivity: Short = "",
) -> Response:
    check_csrf(session, csrf_token)
    _check_section(section)
    child = await load_child(caseload, session, child_id)
    form = {k: v for k, v in locals().items() if k in plan_edit.INPUT_FIELDS[section]}
    values = None if action == "remove" else plan_edit.from_form(section, form)
    new = item_id == "new"
    read_etag = etag
    for _attempt in range(ATTEMPTS):
        plan, etag_now = await caseload.plan(child_id, token=session.bearer)
        current = None if new else plan_edit.find(plan, section, item_id)
        if not new and etag_now != read_etag and plan_edit.item_changed_since(current, base):
            return _item_form(  # someone else changed this very item: theirs beside mine, mine kept in the form
                request,
                session,
                child,
                section=section,
                item_id=item_id if current is not None else "new",
                item=current,
                values={**form, "sensitivity": sensitivity},
                etag=etag_now,
                base=str(current.get("updated_at")) if current else "",
                theirs=current,
                removed=current is None,
                status_code=409,
            )
        items = plan["sections"].get(section, [])
        try:
            await caseload.update_plan(
                child_id,
                token=session.bearer,
                etag=etag_now,
                sections={section: plan_edit.section_with(section, items, None if new else item_id, values)},
            )
        except Conflict:
            read_etag = etag_now  # it changed again under us: read it again and decide again
            continue
        except (Invalid, Forbidden) as exc:
            first = f"item-{plan_edit.INPUT_FIELDS[section][0]}"
            errors = FormErrors()
            if isinstance(exc, Invalid):
                errors.from_api(
                    exc.errors,
                    {name: (f"item-{name}", _("Check this answer")) for name in plan_edit.INPUT_FIELDS[section]}
                    | {"*": (first, _("Check your answers"))},
                    fallback=first,
                )
            else:
                errors.add(
                    first,
                    _("You cannot change this: the family’s own words are theirs, and emergency access is read-only"),
                )
            return _item_form(
                request,
                session,
                child,
                section=section,
                item_id=item_id,
                item=current,
                values={**form, "sensitivity": sensitivity},
                etag=etag,
                base=base,
                errors=errors,
                status_code=400 if isinstance(exc, Invalid) else 403,
            )
        anchor = f"#item-{item_id}" if not new and values is not None else f"#{section}"
        return RedirectResponse(f"/children/{child_id}/plan?saved={section}{anchor}", status_code=303)
    raise Conflict(409, {"detail": "the plan keeps changing"})


@router.post("/publish")
async def publish(
    request: Request,
    child_id: str,
    session: PractitionerSession,
    caseload: Caseload,
    csrf_token: CsrfField = None,
    status: Annotated[str, Form(max_length=20)] = "",
    etag: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(session, csrf_token)
    await load_child(caseload, session, child_id)
    chosen = status if status in ("draft", "shared_for_comment", "agreed") else None
    try:
        version = await caseload.publish(child_id, token=session.bearer, etag=etag, status=chosen)
    except (Conflict, Forbidden) as exc:
        if exc.status == 412:
            why = "changed"
        elif "nothing changed" in str(exc.problem.get("detail", "")):
            why = "nothing"
        else:
            why = "refused"
        return RedirectResponse(f"/children/{child_id}/plan?publish={why}#publish", status_code=303)
    return RedirectResponse(f"/children/{child_id}/plan?published={version['number']}", status_code=303)


@router.get("/versions")
async def versions_page(
    request: Request,
    child_id: str,
    session: PractitionerSession,
    caseload: Caseload,
    from_: Annotated[int | None, Query(alias="from", ge=1, le=1_000_000)] = None,
    to: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> Response:
    child = await load_child(caseload, session, child_id)
    versions = await caseload.versions(child_id, token=session.bearer)
    diff = None
    if from_ is not None and to is not None:
        diff = await caseload.diff(child_id, token=session.bearer, from_=from_, to=to)
    return page(
        request,
        "practice/plan_versions.html",
        session,
        child,
        section="plan",
        versions=versions,
        diff=diff,
        chosen={"from": from_, "to": to},
        pv=plan_view,
    )


@router.post("/comments")
async def reply(
    request: Request,
    child_id: str,
    session: PractitionerSession,
    caseload: Caseload,
    comment: CommentForm,
    csrf_token: CsrfField = None,
    in_reply_to: Annotated[str, Form(max_length=36)] = "",
) -> Response:
    check_csrf(session, csrf_token)
    await load_child(caseload, session, child_id)
    item_id = comment.item_id
    if comment.text:
        try:
            await caseload.add_comment(child_id, comment, token=session.bearer, in_reply_to=in_reply_to or None)
        except ApiError as exc:
            if exc.status >= 500:
                raise
            return RedirectResponse(f"/children/{child_id}/plan?reply=refused#item-{item_id}", status_code=303)
    return RedirectResponse(f"/children/{child_id}/plan?replied=1#item-{item_id}", status_code=303)


__all__ = ["router", "words"]
