"""The shape of one route's access rule (the tables: rules.py) and the groups of callers the tables name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Body = Callable[[dict[str, str], str], Any]


def S(status: int, actors: str) -> dict[str, int]:
    return dict.fromkeys(actors.split(), status)


@dataclass(frozen=True)
class Rule:
    who: str  # for docs/access.md
    ok: dict[str, int] = field(default_factory=dict)
    out: dict[str, int] = field(default_factory=dict)
    deny: str = ""
    other: int = 404
    child: bool = True
    anyone: int | None = None  # every caller passing the guard gets this (lists, public data)
    public: int | None = None  # the route is open: everyone, even without a token, gets this
    body: Body | None = None
    params: Callable[[dict[str, str], str], dict[str, Any]] | None = None
    ids: dict[str, str] = field(default_factory=dict)  # path parameter → key in the world's ids
    headers: dict[str, str] = field(default_factory=dict)
    sees_in: str | None = None  # a list: who may see the in-scope child in it
    sees_out: str = ""
    audited: bool = True  # a 2xx about a child writes an audit row naming caller and child


LEADS = "senco dsl head"
CASE = f"{LEADS} health_member la_officer"  # caseload: the school's leads, the team, the LA's SEND officer
CASE_FAM = f"{CASE} family"
REF_STAFF = "senco dsl head teacher"  # referral: the referring school's staff
REF_ALL = f"{REF_STAFF} health_member la_officer"
CROSS_BOUNDARY = "social_worker"  # break-glass roles that work across local authorities (the child's is 999 or 998)

OPEN_ROUTES: dict[str, Rule] = {
    "GET /healthz": Rule("anyone", public=200, child=False),
    "GET /readyz": Rule("anyone", public=200, child=False),
    "GET /metrics": Rule("anyone", public=200, child=False),
    "GET /docs": Rule("anyone (off in prod)", public=200, child=False),
    "GET /redoc": Rule("anyone (off in prod)", public=200, child=False),
}
"""Every service's probes, metrics and API docs: open to anyone."""
