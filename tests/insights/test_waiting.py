"""Waiting (issue 15, question 1) from referral's events: the distributions, the months, the waits over target and
the referrals waiting now, exactly as the facts fed in say; and the same event twice, or the events in another
order, give the same figures."""

from __future__ import annotations

import random

from insights.domain import waiting
from insights.domain.access import Scope
from insights.domain.periods import parse_period
from insights.domain.suppression import SMALL

from tas_common import clock

from .conftest import T0, Feed, accepted, concern, day, first_contact, school, service, submitted

# 12 referrals to speech and language therapy (target 126 days), all submitted on T0; first contact after these
# many days (decided the day before); the last 5 go over the target. Two more still wait: one 150 days, one 10.
WAITS = [20, 30, 35, 40, 50, 60, 90, 130, 140, 150, 160, 170]


async def _scenario(feed: Feed) -> None:
    await feed(school(), day(-90))
    await feed(service(), day(-90))
    for n, wait in enumerate(WAITS):
        await feed(concern(n), T0)
        await feed(submitted(n), T0)
        await feed(accepted(n), day(wait - 1))
        await feed(first_contact(n, day(wait)), day(wait))
    for n, since in ((100, 150), (101, 10)):
        await feed(concern(n), day(200 - since))
        await feed(submitted(n), day(200 - since))


async def _answer(feed: Feed, scope: Scope, period: str = "2026"):
    with clock.at(day(200)):
        async with feed.db.reader() as session:
            return await waiting.answer(session, scope=scope, period=parse_period(period, today=day(200).date()))


async def test_waits_are_measured_from_the_facts(feed):
    await _scenario(feed)
    answer = await _answer(feed, Scope("service", "999-salt", "999"))
    summary = {row["measure"]: row for row in answer.table("summary").rows}
    contact = summary["Referral to first contact"]
    assert contact["referrals"] == 12
    assert contact["median_days"] == 75.0  # between 60 and 90
    assert contact["p90_days"] == 159.0  # rank 9.9 of 0..11: 150 + 0.9 × (160 - 150)
    assert contact["over_target"] == 5 and contact["over_target_pct"] == round(500 / 12, 1)
    decision = summary["Referral to decision"]
    assert decision["referrals"] == 12 and decision["median_days"] == 74.0
    histogram = {row["band"]: row["first_contact"] for row in answer.table("histogram").rows}
    assert histogram["15 to 28 days"] == SMALL  # one wait of 20 days
    assert histogram["29 to 42 days"] == SMALL  # 30, 35, 40: three
    assert histogram["127 to 182 days"] == 5
    months = {row["month"]: row for row in answer.table("by_month").rows}
    assert len(months) == 12 and months["2026-08"]["first_contacts"] == SMALL  # 150, 160, 170 days after 2 March
    now = {row["band"]: row for row in answer.table("waiting_now").rows}
    assert now["All"]["waiting"] == SMALL  # two waiting: never shown as 2
    assert all(row["waiting"] in (0, SMALL) for row in answer.table("waiting_now").rows)


async def test_a_duplicate_changes_nothing_and_the_order_of_arrival_does_not_matter(feed, insights_db, tmp_path):
    await _scenario(feed)
    before = await feed.tallies()
    for event in feed.events:
        assert await feed.deliver(event) is False
    assert await feed.tallies() == before

    from tas_common.db import Database

    from ..conftest import fresh_database_url, migrate
    from .conftest import Feed as Fresh

    url = fresh_database_url("insights-shuffled", tmp_path)
    await migrate("insights", url)
    other = Database(url)
    try:
        shuffled = Fresh(other)
        events = list(feed.events)
        random.Random(7).shuffle(events)
        for event in events:
            await shuffled.deliver(event)
        assert await shuffled.tallies() == before
    finally:
        await other.dispose()
