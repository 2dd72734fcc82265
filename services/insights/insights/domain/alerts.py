"""Alerts: a referral waiting for first contact past its service's target, an EHC milestone (the 6-week decision,
the 20-week final plan) due within `alert_due_within_days` or overdue. The sweep (events/alert_sweep.py) finds the
breaches in the facts, keeps those not raised before as `Alert` rows (key `<kind>:<ref>:<recipient>`: each breach is
raised once, ever, whatever the sweep's rhythm or a rebuild) and publishes them through the outbox, one
`tas.insights.alerts.raised` event per recipient, a digest when there are `digest_from` or more. Recipients are
organisations (a service's team, a school's SENCO, an LA's SEND officers), never a family.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.clock import day_of
from tas_common.events import new_event
from tas_common.events.facts import AlertFact, AlertsRaisedV1
from tas_common.outbox import add_event

from .models import Alert, EhcRequest, Referral

DECISION_DAYS, FINAL_DAYS = 42, 140
"""SEND Regulations 2014 regs. 5(3) and 13(2): 6 weeks to decide whether to assess, 20 weeks to the final plan."""
LOOKBACK_DAYS = 730
"""EHC requests older than this are not looked at (a milestone that late has long been raised)."""


@dataclass(frozen=True)
class Breach:
    fact: AlertFact
    recipient_type: str
    recipient_id: str

    @property
    def recipient(self) -> str:
        return f"{self.recipient_type}:{self.recipient_id}"


def _breach(kind: str, ref: str, due: date, to: tuple[str, str], **where: str | None) -> Breach:
    fact = AlertFact(key=f"{kind}:{ref}:{to[0]}:{to[1]}", kind=kind, ref_id=ref, due_on=due, **where)
    return Breach(fact, *to)


async def find(session: AsyncSession, *, as_of: datetime, due_within_days: int) -> list[Breach]:
    """Every breach the facts show as of `as_of` (raised before or not)."""
    today = day_of(as_of)
    found: list[Breach] = []
    waiting = (await session.execute(select(Referral).where(col(Referral.waiting)))).scalars().all()
    for r in waiting:
        if r.target_days is None or r.submitted_at is None:
            continue
        due = day_of(r.submitted_at) + timedelta(days=r.target_days)
        if today <= due:
            continue
        where = {"service_id": r.service_id, "school_urn": r.school_urn, "la_code": r.la_code, "child_id": r.child_id}
        if r.service_id:
            found.append(_breach("referral_over_target", r.id, due, ("service", r.service_id), **where))
        if r.school_urn:
            found.append(_breach("referral_over_target", r.id, due, ("school", r.school_urn), **where))
    open_requests = (
        (
            await session.execute(
                select(EhcRequest).where(
                    col(EhcRequest.requested_on) >= today - timedelta(days=LOOKBACK_DAYS),
                    or_(col(EhcRequest.decision_on).is_(None), col(EhcRequest.final_issued_on).is_(None)),
                )
            )
        )
        .scalars()
        .all()
    )
    for e in open_requests:
        if not e.la_code:
            continue
        milestones = []
        if e.decision_on is None:
            milestones.append(("ehc_decision", e.requested_on + timedelta(days=DECISION_DAYS)))
        if e.final_issued_on is None and e.decision != "not_to_assess":
            milestones.append(("ehc_final", e.requested_on + timedelta(days=FINAL_DAYS)))
        for milestone, due in milestones:
            if today < due - timedelta(days=due_within_days):
                continue
            kind = f"{milestone}_{'overdue' if today > due else 'due'}"
            where = {"school_urn": e.school_urn, "la_code": e.la_code, "child_id": e.child_id}
            found.append(_breach(kind, e.id, due, ("la", e.la_code), **where))
    return found


async def sweep(
    session: AsyncSession, *, as_of: datetime, due_within_days: int, digest_from: int
) -> list[AlertsRaisedV1]:
    """Raise the breaches not raised before: their Alert rows and one event per recipient, in the caller's
    transaction. Returns the events."""
    breaches = await find(session, as_of=as_of, due_within_days=due_within_days)
    keys = [b.fact.key for b in breaches]
    raised: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows = await session.execute(select(col(Alert.key)).where(col(Alert.key).in_(chunk)))
        raised.update(rows.scalars().all())
    by_recipient: dict[tuple[str, str], list[Breach]] = defaultdict(list)
    for b in breaches:
        if b.fact.key not in raised:
            raised.add(b.fact.key)
            by_recipient[(b.recipient_type, b.recipient_id)].append(b)
    payloads = []
    for (kind, rid), found in sorted(by_recipient.items()):
        payload = AlertsRaisedV1(
            recipient_type=kind,
            recipient_id=rid,
            alerts=tuple(b.fact for b in found),
            digest=len(found) >= digest_from,
        )
        event = new_event(payload, source="tas/insights", subject=f"{kind}:{rid}")
        await add_event(session, event)
        for b in found:
            session.add(
                Alert(
                    key=b.fact.key,
                    kind=b.fact.kind,
                    ref_id=b.fact.ref_id,
                    recipient=b.recipient,
                    due_on=b.fact.due_on,
                    raised_at=as_of,
                    event_id=event.id,
                )
            )
        payloads.append(payload)
    return payloads
