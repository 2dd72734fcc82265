"""The family's pages: their children, each child's plan (any published version, what changed, comments),
"about me", reviews, contact details and preferences (the team, referrals, messages and who looked at the record
are in family_record.py).
Every page calls the APIs with the family member's own token; a 404 from an API is the 404 page."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from ..clients.base import ApiError, Conflict, Forbidden, Invalid, NotFound, Unavailable
from ..clients.caseload import CaseloadClient
from ..clients.notify import NotifyClient
from ..domain import plan_view, referral_view
from ..domain.forms import FormErrors
from ..i18n import _
from ..sessions import WebSession
from ..templating import render
from .deps import Caseload, CommentForm, CsrfField, FamilySession, Notify, Referral, check_csrf
from .pages import set_language_cookie

router = APIRouter(prefix="/family")
MAX_COMMENT = 2000

ChildId = Annotated[str, "child id"]


def nav(child_id: str | None = None) -> list[dict[str, Any]]:
    items = [{"href": "/family", "text": _("Your children")}]
    return items


async def child_of(caseload: CaseloadClient, session: WebSession, child_id: str) -> dict[str, Any]:
    if len(child_id) > 36:
        raise NotFound(404)
    return await caseload.child(child_id, token=session.bearer)


@router.get("")
async def home(request: Request, session: FamilySession, caseload: Caseload) -> Response:
    children = await asyncio.gather(
        *(caseload.child(cid, token=session.bearer) for cid in session.child_ids), return_exceptions=True
    )
    visible = [c for c in children if isinstance(c, dict)]
    for failure in children:
        if isinstance(failure, BaseException) and not isinstance(failure, ApiError):
            raise failure
    return render(request, "family/home.html", children=visible, navigation=nav())


@router.get("/children/{child_id}")
async def child_page(
    request: Request, child_id: str, session: FamilySession, caseload: Caseload, referral: Referral
) -> Response:
    child = await child_of(caseload, session, child_id)
    try:
        referrals = await referral.family_referrals(child_id, token=session.bearer)
    except (NotFound, Forbidden, Unavailable):
        referrals = None  # the page still shows the rest; the section says it cannot show them now
    return render(request, "family/child.html", child=child, referrals=referrals, view=referral_view, navigation=nav())


async def _published(
    caseload: CaseloadClient, session: WebSession, child_id: str, number: int | None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The version shown and the published versions. A page that names its version (a message's link does) asks
    for the list and the version at once; otherwise the newest published one is asked for after the list."""
    if number is not None:
        versions, asked = await asyncio.gather(
            caseload.versions(child_id, token=session.bearer),
            caseload.version(child_id, number, token=session.bearer),
            return_exceptions=True,
        )
        for failed in (versions, asked):
            if isinstance(failed, BaseException):
                raise failed
        assert isinstance(versions, list) and isinstance(asked, dict)
        shown = [v for v in versions if v["status"] != "draft"]
        if not any(v["number"] == number for v in shown):
            raise NotFound(404)  # a draft is not the family's to see
        return asked, shown
    versions = await caseload.versions(child_id, token=session.bearer)
    shown = [v for v in versions if v["status"] != "draft"]
    if not shown:
        return None, versions
    return await caseload.version(child_id, shown[0]["number"], token=session.bearer), shown


async def _comments(
    caseload: CaseloadClient, session: WebSession, child_id: str, version: int | None
) -> dict[str, Any]:
    """The comments on the version shown and its comment period (none while caseload offers no comments)."""
    try:
        return await caseload.comments(child_id, token=session.bearer, version=version)
    except NotFound:
        return {"items": [], "comment_period": None}


@router.get("/children/{child_id}/plan")
async def plan_page(
    request: Request,
    child_id: str,
    session: FamilySession,
    caseload: Caseload,
    version: Annotated[int | None, Query(ge=1, le=100000)] = None,
) -> Response:
    return await _render_plan(request, caseload, session, child_id, version)


async def _render_plan(
    request: Request,
    caseload: CaseloadClient,
    session: WebSession,
    child_id: str,
    version: int | None,
    *,
    errors: FormErrors | None = None,
    drafts: dict[str, str] | None = None,
) -> Response:
    # one round of calls in parallel (each API checks the person on its own), then the version itself
    child, (shown, versions), comments = await asyncio.gather(
        child_of(caseload, session, child_id),
        _published(caseload, session, child_id, version),
        _comments(caseload, session, child_id, version),
    )
    period = comments.get("comment_period") or None
    comments_open = bool(
        shown is not None and period and period.get("open") and period.get("version") == shown["number"]
    )
    errors = errors or FormErrors()
    return render(
        request,
        "family/plan.html",
        status_code=400 if errors else 200,
        child=child,
        plan=shown,
        versions=versions,
        latest=versions[0]["number"] if versions else None,
        comments=plan_view.comments_by_item(comments.get("items") or []),
        comments_open=comments_open,
        comment_period=period,
        view=plan_view,
        navigation=nav(child_id),
        errors=errors.summary() or None,
        form_errors=errors,
        drafts=drafts or {},
    )


@router.post("/children/{child_id}/plan/comments")
async def add_comment(
    request: Request,
    child_id: str,
    session: FamilySession,
    caseload: Caseload,
    comment: CommentForm,
    csrf_token: CsrfField = None,
) -> Response:
    check_csrf(session, csrf_token)
    item_id = comment.item_id
    field_id = f"comment-{item_id}"
    errors = FormErrors()
    if not comment.text:
        errors.add(field_id, _("Enter your comment"))
    elif len(comment.text) > MAX_COMMENT:
        errors.add(field_id, _("Your comment must be 2000 characters or fewer"))
    else:
        try:
            await caseload.add_comment(child_id, comment, token=session.bearer)
        except (Invalid, Conflict, Forbidden) as exc:
            if isinstance(exc, Invalid):
                errors.from_api(
                    exc.errors,
                    {
                        "text": (field_id, _("Your comment must be 2000 characters or fewer")),
                        "*": (field_id, _("This comment could not be saved. Check it and try again")),
                    },
                    fallback=field_id,
                )
            else:
                errors.add(field_id, _("Comments on this plan have closed"))
    if errors:
        drafts = {item_id: comment.text}
        return await _render_plan(request, caseload, session, child_id, None, errors=errors, drafts=drafts)
    return RedirectResponse(f"/family/children/{child_id}/plan?commented={item_id}#item-{item_id}", status_code=303)


@router.get("/children/{child_id}/about-me")
async def about_me_page(request: Request, child_id: str, session: FamilySession, caseload: Caseload) -> Response:
    child = await child_of(caseload, session, child_id)
    plan, _etag = await caseload.plan(child_id, token=session.bearer)
    ours = [i for i in plan["sections"]["about_me"] if i.get("org_type") == "family"]
    values = {v: next((i["text"] for i in ours if i.get("voice") == v), "") for v in ("child", "family")}
    return render(
        request,
        "family/about_me.html",
        child=child,
        values=values,
        navigation=nav(child_id),
        errors=None,
        form_errors=FormErrors(),
    )


@router.post("/children/{child_id}/about-me")
async def save_about_me(
    request: Request,
    child_id: str,
    session: FamilySession,
    caseload: Caseload,
    csrf_token: CsrfField = None,
    child_words: Annotated[str, Form(max_length=4000)] = "",
    family_words: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    check_csrf(session, csrf_token)
    child = await child_of(caseload, session, child_id)
    plan, etag = await caseload.plan(child_id, token=session.bearer)
    current = plan["sections"]["about_me"]
    submitted: list[dict[str, Any]] = []
    for item in current:  # everything we may see goes back unchanged, except our own two entries
        if item.get("org_type") == "family" and item.get("voice") in ("child", "family"):
            continue
        submitted.append({k: item[k] for k in ("id", "voice", "text", "sensitivity")})
    for voice, words in (("child", child_words), ("family", family_words)):
        words = words.strip()
        if not words:
            continue
        existing = next((i for i in current if i.get("org_type") == "family" and i.get("voice") == voice), None)
        entry = {"voice": voice, "text": words, "sensitivity": "family"}
        if existing:
            entry["id"] = existing["id"]
        submitted.append(entry)
    errors = FormErrors()
    try:
        await caseload.update_about_me(child_id, token=session.bearer, etag=etag, about_me=submitted)
    except Conflict:
        errors.add("child_words", _("Someone changed the plan while you were writing. Check your words and save again"))
    except Invalid as exc:
        errors.from_api(
            exc.errors,
            {"text": ("child_words", _("Each answer must be 4000 characters or fewer"))},
            fallback="child_words",
        )
    if errors:
        return render(
            request,
            "family/about_me.html",
            status_code=400,
            child=child,
            values={"child": child_words, "family": family_words},
            navigation=nav(child_id),
            errors=errors.summary(),
            form_errors=errors,
        )
    return RedirectResponse(f"/family/children/{child_id}/about-me?saved=1", status_code=303)


@router.get("/children/{child_id}/reviews/{review_id}")
async def review_page(
    request: Request, child_id: str, review_id: str, session: FamilySession, caseload: Caseload
) -> Response:
    child = await child_of(caseload, session, child_id)
    reviews = await caseload.reviews(child_id, token=session.bearer)
    review = next((r for r in reviews if r["id"] == review_id), None)
    if review is None:
        raise NotFound(404)
    shown, _versions = await _published(caseload, session, child_id, None)
    outcomes = []
    for outcome in (shown or {}).get("sections", {}).get("outcomes", []):
        progress = next((h for h in outcome.get("history", []) if h.get("review_id") == review_id), None)
        outcomes.append({"outcome": outcome, "progress": progress})
    return render(
        request,
        "family/review.html",
        child=child,
        review=review,
        outcomes=outcomes,
        view=plan_view,
        navigation=nav(child_id),
    )


def _me(members: list[dict[str, Any]], session: WebSession) -> dict[str, Any] | None:
    """The signed-in person among the child's family: caseload keeps one family-member record per child."""
    mine = {session.data.get("family_member_id"), *session.data.get("member_ids", [])}
    return next((m for m in members if m["id"] in mine), None)


@router.get("/children/{child_id}/contact-details")
async def contact_page(
    request: Request, child_id: str, session: FamilySession, caseload: Caseload, notify: Notify
) -> Response:
    child = await child_of(caseload, session, child_id)
    me = _me(await caseload.family(child_id, token=session.bearer), session)
    return render(
        request,
        "family/contact.html",
        child=child,
        me=me,
        prefs=await _preferences(notify, session, me),
        navigation=nav(child_id),
        errors=None,
        form_errors=FormErrors(),
        saved=request.query_params.get("saved") == "1",
    )


async def _preferences(notify: NotifyClient, session: WebSession, me: dict[str, Any] | None) -> dict[str, Any] | None:
    """The person's channel, language and opt-out as notify (which owns them) has them; caseload's copy of them
    when notify has not heard of the contact yet."""
    if me is None:
        return None
    try:
        return await notify.preferences(me["id"], token=session.bearer)
    except NotFound:
        return {key: me.get(key) for key in ("preferred_channel", "language", "opted_out")}


@router.post("/children/{child_id}/contact-details")
async def save_preferences(
    request: Request,
    child_id: str,
    session: FamilySession,
    caseload: Caseload,
    notify: Notify,
    csrf_token: CsrfField = None,
    preferred_channel: Annotated[str, Form(max_length=10)] = "",
    language: Annotated[str, Form(max_length=2)] = "",
    opted_out: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    check_csrf(session, csrf_token)
    child = await child_of(caseload, session, child_id)
    me = _me(await caseload.family(child_id, token=session.bearer), session)
    if me is None:
        raise NotFound(404)
    change: dict[str, Any] = {}
    if preferred_channel in ("sms", "email"):
        change["preferred_channel"] = preferred_channel
    if language in ("en", "cy"):
        change["language"] = language
    if opted_out in ("yes", "no"):
        change["opted_out"] = opted_out == "yes"
    errors = FormErrors()
    try:
        await notify.update_preferences(me["id"], token=session.bearer, change=change)
    except Invalid as exc:
        errors.from_api(
            exc.errors,
            {
                "preferred_channel": (
                    "preferred_channel",
                    _("We need an email address or mobile number for that. Ask the school to add it"),
                ),
                "*": ("preferred_channel", _("We could not save that. Check your choices")),
            },
            fallback="preferred_channel",
        )
    if errors:
        return render(
            request,
            "family/contact.html",
            status_code=400,
            child=child,
            me=me,
            prefs={**(await _preferences(notify, session, me) or {}), **change},
            navigation=nav(child_id),
            errors=errors.summary(),
            form_errors=errors,
            saved=False,
        )
    response = RedirectResponse(f"/family/children/{child_id}/contact-details?saved=1", status_code=303)
    if "language" in change:
        set_language_cookie(request, response, change["language"])
    return response
