"""Who may call each of insights' routes (the matrix: rules.py)."""

from __future__ import annotations

from .rule_base import LEADS, OPEN_ROUTES, Rule, S


def _insights_scope(ids: dict[str, str], actor: str) -> dict[str, str]:
    """Each caller asks about the scope its kind would: school staff about the in-scope child's school, health and
    social care about the in-scope child's service (SALT of NHS trust 1), LA staff about LA 999."""
    from .conftest import ACTORS

    _, org_type, _ = ACTORS[actor]
    if org_type == "local_authority":
        return {"la_code": "999", "period": "last-12-months"}
    if org_type in ("health", "social_care"):
        return {"service_id": ids["service_id"]}
    return {"school_urn": "100000"}


INSIGHTS_READERS = f"{LEADS} health_member la_officer"
INSIGHTS: dict[str, Rule] = {
    **OPEN_ROUTES,
    **{
        f"GET /v1/insights/{answer}": Rule(
            "an LA's SEND officers (their LA, its schools and services), a school's leads (their school), a "
            "service's practitioners or `service_manager` (their service); families and MIS clients 403; audited"
            + ("" if per_service else " (per LA or school: a service's practitioners get 422)"),
            ok=S(200, INSIGHTS_READERS) if per_service else {**S(200, f"{LEADS} la_officer"), "health_member": 422},
            child=False,
            other=403,
            params=_insights_scope,
        )
        for answer, per_service in (("waiting", True), ("timeliness", False), ("outcomes", True), ("schools", False))
    },
}
