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

import hashlib
import json
import random
import secrets
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tas_common.migrations import upgrade
from tas_dev.testing import family_plan

from . import scale
from .procs import uvicorn
from .report import Report, add_page_latencies
from .system import BenchSystem, migrations_dir, sqlite_url

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


def write_sessions(db: Path, parents: list[tuple[str, str, str]]) -> dict[str, str]:
    """child id → the cookie of a session holding that child's parent's token (as sign-in leaves it)."""
    cookies: dict[str, str] = {}
    now = datetime.now(UTC).isoformat(sep=" ")
    with sqlite3.connect(db) as conn:
        for child_id, member_id, token in parents:
            cookie = secrets.token_urlsafe(32)
            data = {
                "token": token,
                "token_expires_at": time.time() + 8 * 3600,
                "child_ids": [child_id],
                "family_member_id": member_id,
            }
            conn.execute(
                "INSERT INTO web_session (id_hash, csrf, data, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)",
                (hashlib.sha256(cookie.encode()).hexdigest(), secrets.token_urlsafe(32), json.dumps(data), now, now),
            )
            cookies[child_id] = cookie
    return cookies


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
        parents = []
        for cid, member_id, _number in prepared:
            token = system.token("parent", "family", sub=member_id, org_id=f"family-{member_id}", child_ids=[cid])
            parents.append((cid, member_id, token["Authorization"].removeprefix("Bearer ")))
        web_db = tmp / "web.db"
        upgrade(migrations_dir("web"), sqlite_url(web_db))
        cookies = write_sessions(web_db, parents)
        web = uvicorn(
            "web",
            "web.main:create_app",
            workdir=tmp / "web",
            env={
                "TAS_ENV": "dev",
                "TAS_SERVICE_NAME": "web",
                "TAS_DATABASE_URL": sqlite_url(web_db),
                "TAS_CASELOAD_URL": caseload_url,
                "TAS_DEV_KEY_DIR": str(tmp / "dev-issuer"),
            },
            ready_path="/readyz",
        )
        try:
            with (
                httpx.Client(base_url=web.url, timeout=30.0, trust_env=False) as page_client,
                system.client("caseload") as api_client,
            ):
                for n, (cid, _member, number) in enumerate(prepared):
                    bearer = {"Authorization": f"Bearer {parents[n][2]}"}
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
                    if n >= 50:  # the first 50: warm-up
                        results["plan page (web)"].append((t1 - t0) * 1000)
                        results["plan version (API)"].append((t2 - t1) * 1000)
                        results["plan page from a message's link, ?version=n (web)"].append((t3 - t2) * 1000)
        finally:
            web.stop()
    return results


def run(report: Report, *, tmp: Path, quick: bool) -> None:
    children, samples = (10_000, 150) if quick else (1_000_000, 1000)
    rng = random.Random(17)
    picks = rng.sample(range(children), samples + 50)
    results = measure(tmp, children=children, picks=picks)
    bench = f"family plan page ({children:,} children)"
    add_page_latencies(report, bench, results, key="web_plan", target_ms=TARGET_MS, targeted="plan page")
