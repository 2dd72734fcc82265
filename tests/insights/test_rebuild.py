"""A rebuild of the read model from a replay of the events gives the same facts and figures as the incremental
read model built while they arrived (with duplicates), and keeps the alerts already raised."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

from insights.domain import outcomes, schools, timeliness, waiting
from insights.domain.models import Alert, metadata
from insights.rebuild import read_model_tables, rebuild
from sqlalchemy import select

from tas_common.events import CloudEvent

from .conftest import Feed, accepted, day, first_contact, school, service, submitted
from .test_answers import LA, OFFICER, _ask, _ehc, _outcome_scenario


async def _batches(events: list[CloudEvent], size: int = 7) -> AsyncIterator[list[CloudEvent]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]


async def _facts(feed: Feed) -> dict[str, list[tuple[object, ...]]]:
    async with feed.db.reader() as session:
        return {t.name: sorted((await session.execute(select(t))).all(), key=repr) for t in read_model_tables()}


async def _answers(feed: Feed) -> list[object]:
    return [
        (await _ask(feed, waiting.answer, LA, "2026")).model_dump(),
        (await _ask(feed, timeliness.answer, LA, "2025")).model_dump(),
        (await _ask(feed, outcomes.answer, LA, "2026")).model_dump(),
        (await _ask(feed, schools.answer, LA, "2026", principal=OFFICER)).model_dump(),
    ]


async def test_rebuild_equals_incremental(feed):
    await _outcome_scenario(feed, children=12)
    await feed(school("100001", roll=180), day(-90))
    await feed(service("999-ep", target=60, org="la-999-ep", roles=("ep",)), day(-90))
    for n in range(100, 112):  # waits to first contact, some over the 60-day target
        await feed(submitted(n, sid="999-ep", urn="100001", target=60), day(n - 100))
        await feed(accepted(n, sid="999-ep", urn="100001"), day(n - 95))
        await feed(first_contact(n, day(n - 100 + 10 * (n - 100)), sid="999-ep", urn="100001"), day(n - 90))
    for n in range(9):
        await feed(_ehc(n, date(2025, 2, 3), decided=35 + 3 * n, issued=120 + 5 * n), day(-300))
    for event in feed.events[::3]:  # a third of the events delivered again: nothing changes
        assert await feed.deliver(event) is False
    async with feed.db.transaction() as session:
        session.add(
            Alert(
                key="k",
                kind="referral_over_target",
                ref_id="referral-100",
                recipient="team",
                raised_at=day(70),
                event_id="e",
            )
        )
    incremental, figures = await _facts(feed), await _answers(feed)
    assert incremental["tally"] and incremental["referral"] and incremental["ehc_request"]

    rebuilt = await rebuild(feed.db, _batches(feed.events))

    assert rebuilt.events == len({e.id for e in feed.events})
    assert await _facts(feed) == incremental
    assert await _answers(feed) == figures
    async with feed.db.reader() as session:
        assert [a.key for a in (await session.execute(select(Alert))).scalars()] == ["k"]
    assert {t.name for t in read_model_tables()} < set(metadata.tables)
