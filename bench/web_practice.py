"""Benchmark 6: the practitioners' pages on the web service side by side with the API calls they wrap, on the scale
benchmark's cached caseload database (1,000,000 children; --quick 10,000), caseload, referral and web each under
uvicorn:

- My tasks (`GET /`) beside `GET /v1/tasks` (caseload; the page also asks referral for the referrals waiting for the
  practitioner's services),
- My caseload (`GET /caseload`, 25 children a page) beside `GET /v1/caseload?limit=25`,
- the child (`GET /children/{id}`: caseload's summary of the child, with its team, consent, reviews and EHC
  requests, and referral's list of the child's referrals, in parallel) beside `GET /v1/children/{id}/summary`,

for the SENCO of a school of children / 2,000 pupils (500) and for a speech and language therapist on 40 teams, as
in the scale benchmark. Each practitioner's session is written straight into the web service's session table, as
signing in leaves it. One request at a time on keep-alive connections, page and API alternating; the first 50 of
each series are a warm-up. Every API read is audited by caseload, as in production.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import httpx

from . import scale
from .report import Report, add_page_latencies
from .system import BenchSystem, sqlite_url
from .web_pages import WARM_UP, sample, web_service

TARGET_MS = 150
PAGES = ("My tasks", "My caseload", "the child")
API_CALL = {"My tasks": "/v1/tasks", "My caseload": "/v1/caseload", "the child": "/v1/children/{id}/summary"}


def _me(claims: dict[str, Any]) -> dict[str, Any]:
    return {
        "sub": claims["sub"],
        "name": claims.get("name", ""),
        "org_id": claims["org_id"],
        "org_type": claims["org_type"],
        "roles": claims["roles"],
        "school_urns": claims.get("school_urns", []),
        "la_code": claims.get("la_code"),
    }


def _session(token: str, claims: dict[str, Any]) -> dict[str, Any]:
    """A practitioner's session as signing in leaves it."""
    return {"kind": "practitioner", "provider": "dev", "token": token, "me": _me(claims)}


def _claims(system: BenchSystem, role: str, org_type: str, **claims: Any) -> tuple[str, dict[str, Any]]:
    header = system.token(role, org_type, **claims)
    token = header["Authorization"].removeprefix("Bearer ")
    return token, {"roles": [role], "org_type": org_type, **claims}


def measure(tmp: Path, *, children: int, picks: list[int]) -> dict[str, list[float]]:
    db_path, _ = scale.cached_database(children, 10)
    system = BenchSystem(tmp, services=("caseload", "referral"), database_urls={"caseload": sqlite_url(db_path)})
    results: dict[str, list[float]] = {}
    with system:
        people: dict[str, tuple[str, dict[str, Any]]] = {}
        rng = random.Random(5)
        therapists = sorted({rng.randrange(scale.practitioners(children)) for _ in picks})[:50]
        for k in therapists:
            sub = scale.practitioner_sub(k)
            people[sub] = _claims(system, "slt", "health", sub=sub, org_id=scale.TRUST, name=f"Pat Therapist {k}")
        urns = sorted({scale.school_urn(i) for i in picks})[:50]
        for urn in urns:
            people[urn] = _claims(
                system, "senco", "school", sub=f"bench-senco-{urn}", org_id=f"bench-school-{urn}", school_urns=[urn]
            )
        # each request: (person, the page, the API call it wraps); a therapist's child is one on their teams
        series: dict[str, list[tuple[str, str, str]]] = {name: [] for name in PAGES}
        who = [*(scale.practitioner_sub(k) for k in therapists), *urns]
        for n in range(len(picks)):
            person = who[n % len(who)]
            if person.startswith("bench-slt-"):
                k = int(person.rsplit("-", 1)[1])
                child = scale.child_id(k + scale.practitioners(children) * (n % scale.CASELOAD))
            else:
                child = scale.child_id(int(person) - 100000 + scale.SCHOOLS * (n % (children // scale.SCHOOLS)))
            series["My tasks"].append((person, "/", "/v1/tasks"))
            series["My caseload"].append((person, "/caseload", "/v1/caseload?limit=25"))
            series["the child"].append((person, f"/children/{child}", f"/v1/children/{child}/summary"))
        sessions = {person: _session(token, claims) for person, (token, claims) in people.items()}
        urls = {"caseload_url": system.procs["caseload"].url, "referral_url": system.procs["referral"].url}
        with (
            web_service(tmp, sessions, **urls) as (web_url, cookies),
            httpx.Client(base_url=web_url, timeout=30.0, trust_env=False) as pages,
            system.client("caseload") as api,
        ):
            for name in PAGES:
                page_ms, api_ms = [], []
                for n, (person, path, api_path) in enumerate(series[name]):
                    bearer = {"Authorization": f"Bearer {people[person][0]}"}
                    t0 = time.perf_counter()
                    page = pages.get(path, cookies={"tas_session": cookies[person]})
                    t1 = time.perf_counter()
                    answer = api.get(api_path, headers=bearer)
                    t2 = time.perf_counter()
                    if page.status_code != 200 or answer.status_code != 200:
                        raise RuntimeError(f"{name}: page {page.status_code}, API {answer.status_code} ({path})")
                    if n >= WARM_UP:
                        page_ms.append((t1 - t0) * 1000)
                        api_ms.append((t2 - t1) * 1000)
                results[f"{name} (web)"] = page_ms
                results[f"{name} (API {API_CALL[name]})"] = api_ms
    return results


def run(report: Report, *, tmp: Path, quick: bool) -> None:
    children, picks = sample(quick=quick, samples=600, seed=23)
    results = measure(tmp, children=children, picks=picks)
    bench = f"practitioners' pages ({children:,} children)"
    add_page_latencies(report, bench, results, key="web_practice", target_ms=TARGET_MS, targeted="(web)")
