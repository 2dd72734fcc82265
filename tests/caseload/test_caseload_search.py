"""GET /v1/caseload?q=: find a child on one's own caseload by name (accents and case aside), date of birth, UPN or
NHS number; never a child the caller may not see. And GET /v1/tasks: reviews coming up, EHC milestones and
break-glass to review, each child named and audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from caseload.domain.search import fold, parse
from tas_common.tables import audit_log

URL = "/v1/caseload"


async def found(system: Any, headers: dict[str, str], q: str) -> list[str]:
    r = await system.caseload.get(URL, params={"q": q}, headers=headers)
    assert r.status_code == 200, r.text
    return [f"{c['given_name']} {c['family_name']}" for c in r.json()["items"]]


def test_names_fold_to_letters_and_digits_without_accents_or_case():
    assert fold("Zoë O'Brien-Smith") == "zoeobriensmith"
    assert fold("ÅSA") == fold("asa") == "asa"
    assert fold("Straße") == "strasse"
    assert parse("k 99900001 9001").upn == "K999000019001"  # spaces and case as typed
    assert parse("31/01/2016").date_of_birth is not None
    assert parse("943 476 5919").nhs_number == "9434765919"


async def test_search_by_name_accents_and_case_aside_within_the_callers_caseload(system, h):
    zoe = await h.child(1, child_fields={"given_name": "Zoë", "family_name": "O'Brien"})
    await h.child(2, child_fields={"given_name": "Zac", "family_name": "Brien"})
    await h.child(3, child_fields={"given_name": "Amélie", "family_name": "Zorro"})
    # another school of the same LA, and another LA: never found by the SENCO of 100000
    await h.child(4, school="100001", child_fields={"given_name": "Zoe", "family_name": "Obrien"})
    await h.child(5, school="200000", la="998", child_fields={"given_name": "Zoe", "family_name": "Obrien"})

    assert await found(system, h.senco, "zoe") == ["Zoë O'Brien"]
    assert await found(system, h.senco, "ZOË") == ["Zoë O'Brien"]
    assert await found(system, h.senco, "o'brien") == ["Zoë O'Brien"]
    assert await found(system, h.senco, "obr") == ["Zoë O'Brien"]
    assert sorted(await found(system, h.senco, "z")) == ["Amélie Zorro", "Zac Brien", "Zoë O'Brien"]
    assert await found(system, h.senco, "zoe obrien") == ["Zoë O'Brien"]
    assert await found(system, h.senco, "obrien zoe") == ["Zoë O'Brien"]
    assert await found(system, h.senco, "amelie") == ["Amélie Zorro"]
    assert await found(system, h.senco, "nobody") == []
    # the LA's SEND officer: the LA's children (two schools), not another LA's
    assert sorted(await found(system, h.la, "zoe obrien")) == ["Zoe Obrien", "Zoë O'Brien"]
    # a practitioner with no team: nothing, however good the guess
    assert await found(system, h.outsider, "zoe") == []
    # by UPN, NHS number and date of birth
    upn, nhs = zoe["upn"], zoe["nhs_number"]
    assert await found(system, h.senco, upn.lower()) == ["Zoë O'Brien"]
    assert await found(system, h.senco, f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}") == ["Zoë O'Brien"]
    dob = datetime.fromisoformat(zoe["date_of_birth"])
    assert "Zoë O'Brien" in await found(system, h.senco, dob.strftime("%d/%m/%Y"))
    assert await found(system, h.outsider, upn) == []


async def test_a_therapist_finds_only_children_on_their_teams(system, h):
    mine = await h.child(11, child_fields={"given_name": "Ada", "family_name": "Lovelace"})
    await h.child(12, child_fields={"given_name": "Ada", "family_name": "Byron"})
    await h.accept(mine)
    assert await found(system, h.slt, "ada") == ["Ada Lovelace"]
    assert await found(system, h.slt, "byron") == []
    too_long = await system.caseload.get(URL, params={"q": "x" * 101}, headers=h.slt)
    assert too_long.status_code == 422


async def test_my_tasks_lists_reviews_coming_up_and_missed_on_my_caseload_and_audits_them(system, h):
    child = await h.child(21)
    other = await h.child(22)
    await h.accept(child)
    soon = datetime.now(UTC) + timedelta(days=5)
    later = datetime.now(UTC) + timedelta(days=40)
    for when, who in ((soon, child), (later, child), (soon, other)):
        r = await system.caseload.post(
            f"/v1/children/{who['id']}/reviews",
            json={"scheduled_for": when.isoformat(), "place": "School", "attendees": [{"name": "Sam Senco"}]},
            headers=h.senco,
        )
        assert r.status_code == 201, r.text
    mine = (await system.caseload.get("/v1/tasks", headers=h.slt)).json()
    assert [(r["child"]["id"], r["missed"]) for r in mine["reviews_due"]] == [(child["id"], False)]
    assert mine["reviews_due"][0]["child"]["given_name"] == child["given_name"]
    assert mine["ehc_due"] == [] and mine["break_glass_to_review"] == []
    school = (await system.caseload.get("/v1/tasks", headers=h.senco)).json()
    assert sorted(r["child"]["id"] for r in school["reviews_due"]) == sorted([child["id"], other["id"]])
    assert (await system.caseload.get("/v1/tasks", headers=h.outsider)).json()["reviews_due"] == []
    assert (await system.caseload.get("/v1/tasks", headers=h.family(child["id"]))).status_code == 403
    async with system.runtime("caseload").db.reader() as session:
        rows = (
            await session.execute(
                select(audit_log.c.actor, audit_log.c.child_id).where(audit_log.c.resource_type == "review")
            )
        ).all()
    assert ("slt-1", child["id"]) in {(r.actor, r.child_id) for r in rows}


async def test_my_tasks_for_a_send_officer_names_the_children_of_ehc_milestones_and_break_glass(system, h):
    child = await h.child(31)
    r = await system.caseload.post(
        f"/v1/children/{child['id']}/ehc-requests",
        json={"requested_on": (datetime.now(UTC).date() - timedelta(days=40)).isoformat()},
        headers=h.la,
    )
    assert r.status_code == 201, r.text
    grant = await system.caseload.post(
        f"/v1/children/{child['id']}/break-glass", json={"reason": "Out of hours call from A&E"}, headers=h.social
    )
    assert grant.status_code == 201, grant.text
    tasks = (await system.caseload.get("/v1/tasks", headers=h.la)).json()
    assert [e["child"]["id"] for e in tasks["ehc_due"]] == [child["id"]]
    clock = tasks["ehc_due"][0]["clock"]
    assert clock["breached"] is False and clock["next_due"] is not None  # the decision is due in 2 days
    assert [g["child"]["family_name"] for g in tasks["break_glass_to_review"]] == [child["family_name"]]
    dsl = (await system.caseload.get("/v1/tasks", headers=h.dsl)).json()
    assert [g["grant"]["id"] for g in dsl["break_glass_to_review"]] == [grant.json()["id"]]
