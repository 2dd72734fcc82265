"""GET /v1/caseload: the children each kind of caller can work with, by name, paged without duplicates or gaps,
merged-away records left out, every child listed audited, and each query an index range on a large table."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from caseload.domain.caseload_list import my_caseload
from tas_common.auth import OrgType, Principal
from tas_common.db import Database
from tas_common.events.schemas import ReferralSubmittedV1
from tas_common.migrations import upgrade
from tas_common.tables import audit_log

from ..conftest import migrations_dir, sqlite_url

URL = "/v1/caseload"


async def caseload(system: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    r = await system.caseload.get(URL, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for i in items]


async def newest_seen(system: Any, headers: dict[str, str], child_id: str) -> datetime | None:
    """The newest chronology entry this caller sees on the child's own chronology."""
    r = await system.caseload.get(f"/v1/children/{child_id}/chronology", params={"limit": 1}, headers=headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    return datetime.fromisoformat(items[0]["at"]) if items else None


def at(item: dict[str, Any]) -> datetime | None:
    return datetime.fromisoformat(item["last_activity_at"]) if item["last_activity_at"] else None


def by_name(children: list[dict[str, Any]]) -> list[str]:
    return [c["id"] for c in sorted(children, key=lambda c: (c["family_name"], c["given_name"], c["id"]))]


async def test_school_leads_and_la_officers_see_their_schools_and_las_children_by_name(system, h):
    ours = [await h.child(n) for n in (1, 2, 3)]
    sister = await h.child(4, school="100001")  # same LA (999), another school
    elsewhere = await h.child(5, school="200000", la="998")
    items = await caseload(system, h.senco)
    assert ids(items) == by_name(ours)
    first = items[0]
    child = next(c for c in ours if c["id"] == first["id"])
    assert {k: first[k] for k in ("given_name", "family_name", "date_of_birth", "year_group", "school_urn")} == {
        k: child[k] for k in ("given_name", "family_name", "date_of_birth", "year_group", "school_urn")
    }
    assert (first["on_team"], first["team_role"], first["lead"]) == (False, None, False)
    assert first["last_activity_at"] is not None  # the concern is on the chronology
    # a lead of two schools: both, or one of them by filter; a school that is not theirs is refused
    both = h.token("dsl", "school", org_id="trust-1", sub="dsl-7", school_urns=["100000", "100001"])
    assert ids(await caseload(system, both)) == by_name([*ours, sister])
    assert ids(await caseload(system, both, school_urn="100001")) == [sister["id"]]
    refused = await system.caseload.get(URL, params={"school_urn": "200000"}, headers=h.senco)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    # the LA's SEND officer: the LA's children, not another LA's; one school by filter
    assert ids(await caseload(system, h.la)) == by_name([*ours, sister])
    assert ids(await caseload(system, h.la, school_urn="100001")) == [sister["id"]]
    other_la = h.token("send_officer", "local_authority", org_id="la-998", sub="la-8", la_code="998")
    assert ids(await caseload(system, other_la)) == [elsewhere["id"]]
    # a teacher (not a lead) sees only children whose team they are on: none
    assert await caseload(system, h.token("teacher", "school", sub="t-1", school_urns=["100000"])) == []


async def test_a_practitioner_sees_the_children_on_whose_team_they_are_with_role_and_lead(system, h):
    a, b, c = [await h.child(n) for n in (11, 12, 13)]
    await h.accept(a)  # slt-1 of nhs-trust-1 joins by referral
    member = {
        "sub": "slt-1",
        "name": "Pat slt-1",
        "org_id": "nhs-trust-1",
        "org_type": "health",
        "role": "speech and language therapist",
    }
    r = await system.caseload.post(f"/v1/children/{b['id']}/team", json=member, headers=h.senco)
    assert r.status_code == 201, r.text
    assert (
        await system.caseload.put(
            f"/v1/children/{b['id']}/team/lead", json={"member_id": r.json()["id"]}, headers=h.senco
        )
    ).status_code == 200
    items = await caseload(system, h.slt)
    assert ids(items) == by_name([a, b])  # not c: not on its team
    assert all(i["on_team"] and i["team_role"] == "speech and language therapist" for i in items)
    assert {i["id"]: i["lead"] for i in items} == {a["id"]: False, b["id"]: True}
    # matched by sub AND organisation: a colleague, or the same sub in another organisation, see nothing
    assert await caseload(system, h.ot) == []
    assert await caseload(system, h.token("slt", "health", org_id="nhs-trust-2", sub="slt-1")) == []
    # the SENCO sees the lead flag only for their own membership: none
    assert not any(i["on_team"] for i in await caseload(system, h.senco))
    # the last activity is the newest entry each caller may see: a safeguarding referral to social care is
    # restricted to its service and the school's DSL/SENCO, so the therapist's figure stays at an earlier entry
    d = await h.child(14, safeguarding=True)
    assert (await system.caseload.post(f"/v1/children/{d['id']}/team", json=member, headers=h.senco)).status_code == 201
    submitted = ReferralSubmittedV1(
        referral_id=str(uuid.uuid4()),
        concern_id=d["concern_id"],
        child_id=d["id"],
        service_id="svc-sc",
        school_urn="100000",
        safeguarding=True,
        service_org_id="council-sc",
        service_org_type="social_care",
    )
    await h.processed((await h.publish_referral(submitted)).id)
    await system.settled()  # notify's events about the children's families land on their chronologies meanwhile
    newest = {}
    for headers in (h.slt, h.senco):
        items = await caseload(system, headers)
        assert d["id"] in ids(items)
        for item in items:
            assert at(item) == await newest_seen(system, headers, item["id"]), item
        newest[headers["Authorization"]] = next(at(i) for i in items if i["id"] == d["id"])
    assert newest[h.slt["Authorization"]] < newest[h.senco["Authorization"]]
    # leaving the team takes the child off the list
    assert (
        await system.caseload.delete(f"/v1/children/{b['id']}/team/{r.json()['id']}", headers=h.senco)
    ).status_code == 204
    assert ids(await caseload(system, h.slt)) == by_name([a, d])
    # a school lead who is also on a child's team sees the flag on that child
    as_member = {
        "sub": "senco-1",
        "name": "Sam Senco",
        "org_id": "school-100000",
        "org_type": "school",
        "role": "SENCO",
    }
    assert (
        await system.caseload.post(f"/v1/children/{c['id']}/team", json=as_member, headers=h.senco)
    ).status_code == 201
    flags = {i["id"]: (i["on_team"], i["team_role"]) for i in await caseload(system, h.senco)}
    assert flags[c["id"]] == (True, "SENCO") and flags[a["id"]] == (False, None)


async def test_families_and_school_systems_are_refused_and_bad_input_names_the_field(system, h, token):
    child = await h.child(21)
    for headers in (h.family(child["id"]), token("mis_client", "mis", school_urns=["100000"]), {}):
        r = await system.caseload.get(URL, headers=headers)
        assert r.status_code == (401 if not headers else 403)
        assert child["id"] not in r.text
    for params, field in (
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"school_urn": "abc"}, "school_urn"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "WzEsMiwzXQ"}, "cursor"),
    ):
        r = await system.caseload.get(URL, params=params, headers=h.senco)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        assert field in r.text, (params, r.text)


async def test_pages_cover_the_list_once_in_order_and_merged_records_never_appear(system, h):
    # same names on purpose: the id breaks the tie, and the cursor must carry all three keys
    twins = [
        await h.child(
            30 + n,
            child_fields={
                "given_name": "Alex",
                "family_name": "Smith",
                "date_of_birth": f"2016-0{1 + n}-01",
                "nhs_number": None,
            },
        )
        for n in range(4)
    ]
    others = [await h.child(n) for n in (41, 42, 43)]
    everyone = by_name(twins + others)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        r = await system.caseload.get(URL, params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=h.la)
        assert r.status_code == 200, r.text
        page = r.json()
        assert 0 < len(page["items"]) <= 2
        seen += ids(page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everyone and pages == 4
    # merge one twin into another: the duplicate leaves the list, on every page
    r = await system.caseload.post(
        f"/v1/children/{twins[0]['id']}/merge", json={"duplicate_id": twins[1]["id"]}, headers=h.la
    )
    assert r.status_code == 200, r.text
    assert ids(await caseload(system, h.la, limit=200)) == [i for i in everyone if i != twins[1]["id"]]
    assert twins[1]["id"] not in ids(await caseload(system, h.senco))


async def test_every_child_listed_is_audited_as_a_read_by_the_caller(system, h):
    children = [await h.child(n) for n in (51, 52, 53)]
    runtime = system.runtime("caseload")
    async with runtime.db.reader() as session:
        before = (await session.execute(select(audit_log.c.seq).order_by(audit_log.c.seq.desc()).limit(1))).scalar()
    items = await caseload(system, h.senco, limit=2)
    async with runtime.db.reader() as session:
        rows = (await session.execute(select(audit_log).where(audit_log.c.seq > before))).all()
    assert sorted((r.actor, r.action, r.resource_type, r.child_id) for r in rows) == sorted(
        ("senco-1", "read", "child", i) for i in ids(items)
    )
    assert len(rows) == 2 and set(ids(items)) < {c["id"] for c in children}


# --- the queries on a large table --------------------------------------------------------------------------------


def _plans(db_path: Path, statements: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    conn = sqlite3.connect(db_path)
    try:
        return [
            " / ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            for sql, params in statements
            if "FROM child" in sql
        ]
    finally:
        conn.close()


async def test_each_page_is_an_index_range_not_a_scan_or_a_sort(tmp_path):
    """On SQLite (whatever database the suite runs on): the statements the list runs, explained."""
    path = tmp_path / "caseload.db"
    await asyncio.to_thread(upgrade, migrations_dir("caseload"), sqlite_url(path))
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO child (id, upn, given_name, family_name, date_of_birth, year_group, school_urn, la_code, "
            "safeguarding, created_at) VALUES (?, ?, 'Alex', ?, '2016-01-01', 'Y4', ?, '999', 0, "
            "'2026-01-05 09:00:00')",
            [(f"c{i:05d}", f"U{i:012d}", f"Name{i % 97}", str(100000 + i % 20)) for i in range(2000)],
        )
        conn.executemany(
            "INSERT INTO team_member (id, child_id, sub, name, org_id, org_type, role, referral_ids, lead, added_by, "
            "joined_at) VALUES (?, ?, ?, 'Pat', 'nhs-trust-1', 'health', 'slt', '[]', 0, 'x', '2026-01-05 09:00:00')",
            [(f"m{i:05d}", f"c{i:05d}", f"slt-{i % 50}") for i in range(2000)],
        )
        conn.execute("ANALYZE")
    conn.close()
    db = Database(sqlite_url(path))
    statements: list[tuple[str, tuple[Any, ...]]] = []
    event.listen(
        db.engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, sql, params, *_: statements.append((sql, tuple(params))),
    )
    senco = Principal(
        sub="senco-1",
        org_id="school-100000",
        org_type=OrgType.school,
        roles=frozenset({"senco"}),
        school_urns=frozenset({"100003"}),
    )
    la = Principal(
        sub="la-1", org_id="la-999", org_type=OrgType.local_authority, roles=frozenset({"send_officer"}), la_code="999"
    )
    slt = Principal(sub="slt-7", org_id="nhs-trust-1", org_type=OrgType.health, roles=frozenset({"slt"}))
    try:
        for principal, index in ((senco, "ix_child_school_urn_name"), (la, "ix_child_la_code_name")):
            async with db.transaction() as session:
                first = await my_caseload(session, principal=principal, limit=10)
            statements.clear()
            async with db.transaction() as session:
                await my_caseload(session, principal=principal, limit=10, cursor=first.next_cursor)
            (plan,) = _plans(path, statements)
            assert f"SEARCH child USING INDEX {index}" in plan and "TEMP B-TREE" not in plan, plan
            assert "SEARCH chronology_entry USING INDEX ix_chronology_entry_child_at" in plan, plan
        statements.clear()
        async with db.transaction() as session:
            page = await my_caseload(session, principal=slt, limit=10)
        assert len(page.items) == 10 and page.next_cursor
        (plan,) = _plans(path, statements)  # sorting a practitioner's own memberships (tens) is fine
        assert "SEARCH team_member USING INDEX ix_team_member_sub_org" in plan and "SCAN" not in plan, plan
        assert "SEARCH chronology_entry USING INDEX ix_chronology_entry_child_at" in plan, plan
    finally:
        await db.dispose()
