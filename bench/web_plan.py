"""Benchmark 5: the family's plan page (`GET /family/children/{id}/plan` on the web service) side by side with the
JSON API call it wraps (`GET /v1/children/{id}/plan/versions/{n}` on caseload), on the scale benchmark's cached
caseload database (1,000,000 children; --quick 10,000), caseload and web each under uvicorn.

Before timing, each sampled child gets (through caseload's API, as the SENCO of its school) a family member and a
plan the family may see, shared for comment; a child already prepared by an earlier run is reused. Each parent's
session is written straight into the web service's own session table, as signing in would leave it. Requests go
one at a time on keep-alive connections, page and API alternating per child; the first 50 of each are a warm-up.
The page makes four API calls (the child, the versions, the version, the comments), each audited by caseload;
from a message's link (`?version=n`) all four go at once, else the version after the list.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from tas_dev.testing import family_plan

from . import scale
from .report import Report, add_page_latencies
from .system import BenchSystem, sqlite_url
from .web_pages import WARM_UP, sample, web_service

TARGET_MS = 150


def prepare_child(caseload: httpx.Client, system: BenchSystem, i: int) -> tuple[str, str, int]:
    """(child id, family member id, published version) for child i, made through the API when missing."""
    cid = scale.child_id(i)
    senco = system.token("senco", "school", sub="bench-senco", org_id="bench-school", school_urns=[scale.school_urn(i)])
    members = caseload.get(f"/v1/children/{cid}/family", headers=senco).json()["items"]
    member = next((m for m in members if m["email"] == f"bench-parent-{i}@example.org"), None)
    if member is None:
        member = caseload.post(
            f"/v1/children/{cid}/family",
            headers=senco,
            json={
                "name": "Bench Parent",
                "relationship": "parent",
                "parental_responsibility": True,
                "email": f"bench-parent-{i}@example.org",
                "preferred_channel": "email",
            },
        ).json()
    versions = caseload.get(f"/v1/children/{cid}/plan/versions", headers=senco).json()["items"]
    if not versions:
        plan = caseload.get(f"/v1/children/{cid}/plan", headers=senco)
        caseload.put(
            f"/v1/children/{cid}/plan", headers={**senco, "If-Match": plan.headers["ETag"]}, json=family_plan()
        ).raise_for_status()
        published = caseload.post(
            f"/v1/children/{cid}/plan/publish", headers=senco, json={"status": "shared_for_comment"}
        )
        published.raise_for_status()
        number = published.json()["number"]
    else:
        number = versions[0]["number"]
    return cid, member["id"], number


def measure(tmp: Path, *, children: int, picks: list[int]) -> dict[str, list[float]]:
    db_path, _ = scale.cached_database(children, 10)  # the scale benchmark's database (10 entries a child)
    system = BenchSystem(tmp, services=("caseload",), database_urls={"caseload": sqlite_url(db_path)})
    results: dict[str, list[float]] = {
        "plan page (web)": [],
        "plan version (API)": [],
        "plan page from a message's link, ?version=n (web)": [],
    }
    with system:
        caseload_url = system.procs["caseload"].url
        with system.client("caseload") as caseload:
            prepared = [prepare_child(caseload, system, i) for i in picks]
        sessions: dict[str, dict[str, Any]] = {}  # child id → a session holding that child's parent's token
        for cid, member_id, _number in prepared:
            token = system.token("parent", "family", sub=member_id, org_id=f"family-{member_id}", child_ids=[cid])
            sessions[cid] = {
                "token": token["Authorization"].removeprefix("Bearer "),
                "child_ids": [cid],
                "family_member_id": member_id,
            }
        with (
            web_service(tmp, sessions, caseload_url=caseload_url) as (web_url, cookies),
            httpx.Client(base_url=web_url, timeout=30.0, trust_env=False) as page_client,
            system.client("caseload") as api_client,
        ):
            for n, (cid, _member, number) in enumerate(prepared):
                bearer = {"Authorization": f"Bearer {sessions[cid]['token']}"}
                session = {"tas_session": cookies[cid]}
                t0 = time.perf_counter()
                page = page_client.get(f"/family/children/{cid}/plan", cookies=session)
                t1 = time.perf_counter()
                api = api_client.get(f"/v1/children/{cid}/plan/versions/{number}", headers=bearer)
                t2 = time.perf_counter()
                linked = page_client.get(f"/family/children/{cid}/plan?version={number}", cookies=session)
                t3 = time.perf_counter()
                for answer in (page, linked):
                    if answer.status_code != 200 or "Follows two-step instructions" not in answer.text:
                        raise RuntimeError(f"the plan page answered {answer.status_code}")
                if api.status_code != 200:
                    raise RuntimeError(f"the API answered {api.status_code}")
                if n >= WARM_UP:
                    results["plan page (web)"].append((t1 - t0) * 1000)
                    results["plan version (API)"].append((t2 - t1) * 1000)
                    results["plan page from a message's link, ?version=n (web)"].append((t3 - t2) * 1000)
    return results


def run(report: Report, *, tmp: Path, quick: bool) -> None:
    children, picks = sample(quick=quick, samples=1000, seed=17)
    results = measure(tmp, children=children, picks=picks)
    bench = f"family plan page ({children:,} children)"
    add_page_latencies(report, bench, results, key="web_plan", target_ms=TARGET_MS, targeted="plan page")
