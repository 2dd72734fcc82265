"""MIS push: a school's management information system sends concerns, one or up to 1,000 at a time.

Each item carries the MIS's own record id; (MIS client, record id) is unique, so re-sending a batch creates
nothing twice: an unchanged re-send is a duplicate, a changed one updates the concern or is a conflict
(mis_resend.py). Items are validated one by one: the good ones are stored, each bad one is reported with its
fields. An item for a school outside the client's scope refuses the whole request (403) and stores nothing.
The batch is one transaction with multi-row inserts (concerns, contacts, audit rows, outbox events).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.errors import Forbidden, validation_errors
from tas_common.outbox import add_events

from . import concern_store, concerns, mis_resend, schools
from .exceptions import BatchTooLarge, invalid_field
from .mis_schemas import MisConcernIn, MisItemResult, MisPushResult
from .models import Concern

MAX_BATCH = 1000


def _items(payload: dict[str, Any]) -> tuple[list[Any], bool]:
    if "items" not in payload:
        return [payload], False
    items = payload["items"]
    if set(payload) != {"items"}:
        raise invalid_field("body", 'a batch is {"items": [...]} and nothing else')
    if not isinstance(items, list) or not items:
        raise invalid_field("body.items", "a non-empty list of concerns")
    if len(items) > MAX_BATCH:
        raise BatchTooLarge(f"{len(items)} items; send at most {MAX_BATCH} per request", max_items=MAX_BATCH)
    return items, True


def _check_scope(principal: Principal, items: list[Any]) -> None:
    outside = sorted(
        {
            str(item["school_urn"])
            for item in items
            if isinstance(item, dict)
            and isinstance(item.get("school_urn"), str | int)
            and str(item["school_urn"]) not in principal.school_urns
        }
    )
    if outside:
        raise Forbidden(
            f"this MIS client may not push for {len(outside)} of the schools in the request; nothing was stored"
        )


def _record_id(item: Any) -> str | None:
    value = item.get("mis_record_id") if isinstance(item, dict) else None
    return value if isinstance(value, str) else None


async def push(session: AsyncSession, *, principal: Principal, payload: dict[str, Any]) -> tuple[MisPushResult, bool]:
    """Returns the per-item results and whether the request was a batch. New record ids are created together;
    then each item re-sending a record id (sent before, or earlier in this batch) is compared with what the MIS
    sent last (mis_resend.py), in the order of the batch."""
    items, is_batch = _items(payload)
    _check_scope(principal, items)
    results: list[MisItemResult | None] = [None] * len(items)
    valid: list[tuple[int, MisConcernIn]] = []
    for index, item in enumerate(items):
        try:
            valid.append((index, MisConcernIn.model_validate(item)))
        except ValidationError as exc:
            results[index] = MisItemResult(
                index=index,
                mis_record_id=_record_id(item),
                status="invalid",
                errors=validation_errors(list(exc.errors())),
            )
    registry = await schools.lookup_many(session, {data.school_urn for _, data in valid})
    existing = await _stored(session, principal, sorted({data.mis_record_id for _, data in valid}))
    new_concerns: list[dict[str, Any]] = []
    new_contacts: list[dict[str, Any]] = []
    events = []
    resent: list[tuple[int, MisConcernIn, str]] = []
    for index, data in valid:
        school = registry.get(data.school_urn)
        if school is None:
            results[index] = MisItemResult(
                index=index,
                mis_record_id=data.mis_record_id,
                status="invalid",
                errors=[{"field": "school_urn", "message": "no school with this URN in the register"}],
            )
            continue
        stored = existing.get(data.mis_record_id)
        if stored is not None:
            concern_id, version, fields = stored
            if fields and not mis_resend.differing(fields, mis_resend.digests(mis_resend.content_of(data))):
                results[index] = MisItemResult(
                    index=index,
                    mis_record_id=data.mis_record_id,
                    status="duplicate",
                    concern_id=concern_id,
                    version=version,
                )
            else:
                resent.append((index, data, concern_id))
            continue
        concern, contacts = concerns.concern_rows(
            principal=principal, data=data, school=school, mis_record_id=data.mis_record_id
        )
        concern["mis_fields"] = mis_resend.digests(mis_resend.content_of(data))
        existing[data.mis_record_id] = (concern["id"], 1, None)  # a repeat later in the batch is a re-send
        new_concerns.append(concern)
        new_contacts.extend(contacts)
        events.append(concerns.raised_event(concern, contacts, school))
        results[index] = MisItemResult(
            index=index, mis_record_id=data.mis_record_id, status="created", concern_id=concern["id"], version=1
        )
    if new_concerns:
        await concern_store.insert_concerns(session, new_concerns, new_contacts)
        await audit.record_many(
            session,
            actor=principal,
            entries=[
                {"action": "create", "resource_type": "concern", "resource_id": c["id"], "reason": "mis push"}
                for c in new_concerns
            ],
        )
        await add_events(session, events)
        for concern in new_concerns:
            if concern["safeguarding"]:
                stored_concern = await session.get(Concern, concern["id"])
                assert stored_concern is not None
                await concerns.route_safeguarding(session, principal=principal, concern=stored_concern)
    for index, data, concern_id in resent:
        found = await session.get(Concern, concern_id)
        assert found is not None
        results[index] = await mis_resend.resend(session, principal=principal, concern=found, data=data, index=index)
    final = [r for r in results if r is not None]
    return MisPushResult(
        created=sum(r.status == "created" for r in final),
        duplicates=sum(r.status == "duplicate" for r in final),
        updated=sum(r.status == "updated" for r in final),
        conflicts=sum(r.status == "conflict" for r in final),
        invalid=sum(r.status == "invalid" for r in final),
        results=final,
    ), is_batch


async def _stored(
    session: AsyncSession, principal: Principal, record_ids: list[str]
) -> dict[str, tuple[str, int, dict[str, str] | None]]:
    """The client's concerns with these record ids: id, version and the digests of what it sent last."""
    found: dict[str, tuple[str, int, dict[str, str] | None]] = {}
    for start in range(0, len(record_ids), 500):
        rows = (
            await session.exec(
                select(
                    col(Concern.mis_record_id), col(Concern.id), col(Concern.version), col(Concern.mis_fields)
                ).where(
                    Concern.mis_client == principal.sub, col(Concern.mis_record_id).in_(record_ids[start : start + 500])
                )
            )
        ).all()
        found.update({rid: (cid, version, fields) for rid, cid, version, fields in rows if rid})
    return found
