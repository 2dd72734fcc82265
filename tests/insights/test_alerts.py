"""Alerts: a referral past its service's target and an EHC milestone due within 7 days or overdue are raised once
per breach, to the service's team, the school's SENCO or the LA's SEND officers (never a family), one event per
recipient, a digest when there are many; a later sweep raises only what is new, and a rebuild raises nothing again."""

from __future__ import annotations

from datetime import date, timedelta

from insights.domain import alerts
from insights.rebuild import rebuild
from sqlalchemy import select

from tas_common.events import CloudEvent
from tas_common.events.facts import AlertsRaisedV1
from tas_common.tables import outbox

from .conftest import Feed, accepted, day, first_contact, school, service, submitted
from .test_answers import _ehc
from .test_rebuild import _batches


async def _sweep(feed: Feed, at, digest_from: int = 4) -> list[AlertsRaisedV1]:
    async with feed.db.transaction() as session:
        return await alerts.sweep(session, as_of=at, due_within_days=7, digest_from=digest_from)


async def test_each_breach_is_raised_once_to_the_right_organisation(feed):
    await feed(school(), day(-90))
    await feed(service(target=30), day(-90))
    for n in range(3):  # submitted on day 0: past the 30-day target from day 31; the third is contacted in time
        await feed(submitted(n, target=30), day(0))
        await feed(accepted(n), day(2))
    await feed(first_contact(2, day(20)), day(20))
    requested = day(0).date()
    await feed(_ehc(1, requested, decided=None, issued=None), day(0))  # decision due on day 42
    await feed(_ehc(2, requested, decided=30, issued=None), day(0))  # plan due on day 140

    assert await _sweep(feed, day(30)) == []  # nothing due yet
    first = {(e.recipient_type, e.recipient_id): e for e in await _sweep(feed, day(36))}
    assert set(first) == {("service", "999-salt"), ("school", "100000"), ("la", "999")}
    assert [a.kind for a in first[("service", "999-salt")].alerts] == ["referral_over_target"] * 2
    assert {a.ref_id for a in first[("school", "100000")].alerts} == {"referral-0", "referral-1"}
    ehc = first[("la", "999")].alerts
    assert [(a.kind, a.ref_id, a.due_on) for a in ehc] == [("ehc_decision_due", "ehc-1", requested + timedelta(42))]
    assert not any(e.digest for e in first.values())

    assert await _sweep(feed, day(37)) == []  # raised once, not on every sweep
    later = await _sweep(feed, day(43))  # the decision is now overdue: a new breach
    assert [(e.recipient_type, [a.kind for a in e.alerts]) for e in later] == [("la", ["ehc_decision_overdue"])]
    late = await _sweep(feed, day(134))
    # both plans are due within 7 days (the undecided request's too)
    assert [(e.recipient_type, [(a.kind, a.ref_id) for a in e.alerts]) for e in late] == [
        ("la", [("ehc_final_due", "ehc-1"), ("ehc_final_due", "ehc-2")])
    ]

    async with feed.db.reader() as session:
        published = [CloudEvent.from_bytes(row.payload) for row in (await session.execute(select(outbox))).all()]
    assert [e.type for e in published] == ["tas.insights.alerts.raised.v1"] * 5
    assert all(e.payload().recipient_type in ("service", "school", "la") for e in published)  # never a family

    # a rebuild keeps what was raised: the next sweep raises nothing again
    await rebuild(feed.db, _batches(feed.events))
    assert await _sweep(feed, day(135)) == []


async def test_many_at_once_are_one_digest(feed):
    await feed(school(), day(-90))
    await feed(service(target=10), day(-90))
    for n in range(5):
        await feed(submitted(n, target=10), day(0))
    raised = {e.recipient_type: e for e in await _sweep(feed, day(20), digest_from=4)}
    assert raised["service"].digest and len(raised["service"].alerts) == 5
    assert raised["school"].digest


async def test_no_alert_for_a_closed_or_contacted_referral(feed):
    await feed(service(target=10), day(-90))
    await feed(submitted(1, target=10), day(0))
    await feed(first_contact(1, day(5)), day(5))
    await feed(_ehc(3, date(2026, 1, 5), decided=30, issued=120), day(0))
    assert await _sweep(feed, day(60)) == []
