"""The authorisation matrix: every route of every service × every kind of caller × the child in scope and a child
out of scope, against the rules in tests/access/rules.py. A route without a rule fails."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
from fastapi.routing import APIRoute

from tas_common.access import iter_api_routes, route_guards

from .conftest import ACTORS, World
from .rules import RULES, Rule

SERVICES = ("referral", "notify", "insights", "caseload")  # caseload last: its break-glass rule runs last of all


def _routes(service: str, tmp_path: Any) -> dict[str, APIRoute]:
    config = importlib.import_module(f"{service}.config")
    cls = next(getattr(config, n) for n in dir(config) if n.endswith("Settings") and n != "CommonSettings")
    app = importlib.import_module(f"{service}.main").create_app(cls(env="test", dev_key_dir=tmp_path))
    return {f"{m} {r.path}": r for r in iter_api_routes(app.routes) for m in sorted(r.methods - {"HEAD"})}


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_has_an_expectation(service, tmp_path):
    routes = _routes(service, tmp_path)
    missing = [f"no expectation declared for {key} ({service})" for key in routes if key not in RULES[service]]
    stale = [f"a rule for {key} matches no route of {service}" for key in RULES[service] if key not in routes]
    assert missing + stale == []


def _passes_guard(route: APIRoute, actor: str) -> bool:
    roles, org_type, _ = ACTORS[actor]
    for guard in route_guards(route):
        if guard.get("public"):
            continue
        if guard["org_types"] is not None and org_type not in {str(o) for o in guard["org_types"]}:
            return False
        if guard["roles"] is not None and not set(roles) & set(guard["roles"]):
            return False
    return True


def expected(rule: Rule, route: APIRoute, actor: str, target: str) -> int:
    if rule.public is not None:
        return rule.public
    if actor == "anonymous":
        return 401
    if not _passes_guard(route, actor):
        return 403
    if rule.anyone is not None:
        return rule.anyone
    granted = rule.ok if target == "in" else rule.out
    if actor in granted:
        return granted[actor]
    if target == "in" and actor in rule.deny.split():
        return 403
    return rule.other


def _markers(world: World, target: str) -> list[str]:
    ids = world.ids[target]
    return [ids["child_id"], ids["upn"], ids["concern_id"]]


CASES = [(service, key) for service in SERVICES for key in RULES[service]]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("service", "key"), CASES, ids=[f"{s}:{k}" for s, k in CASES])
async def test_matrix(world: World, service: str, key: str, tmp_path: Any) -> None:
    rule = RULES[service][key]
    route = _routes(service, tmp_path)[key]
    method, path = key.split(" ", 1)
    client = world.clients[service]
    wrong: list[str] = []
    for target in ("in", "out") if rule.child else ("in",):
        ids = world.ids[target]
        params = {
            name: ids[rule.ids.get(name, name)]
            if name != "number" and name != "provider"
            else {"number": "1", "provider": "smtp"}[name]
            for name in re.findall(r"{(\w+)}", path)
        }
        url = path.format(**params)
        for actor in ACTORS:
            want = expected(rule, route, actor, target)
            before = await world.audit_head(service)
            response = await client.request(
                method,
                url,
                headers={**world.headers(actor), **rule.headers},
                params=rule.params(ids, actor) if rule.params else None,
                json=rule.body(ids, actor) if rule.body else None,
            )
            cell = f"{key} [{target}] {actor}: {response.status_code}, expected {want}"
            if response.status_code != want:
                wrong.append(f"{cell} — {response.text[:160]}")
                continue
            if response.status_code >= 300:
                continue
            text = response.text
            if rule.sees_in is not None:  # a list: who may learn of each child from it
                for t, allowed in (("in", rule.sees_in), ("out", rule.sees_out)):
                    leaked = [m for m in _markers(world, t) if m in text]
                    if leaked and actor not in allowed.split():
                        wrong.append(f"{cell} — the list reveals the {t} child ({leaked[0]})")
            elif rule.child:  # about one child: never another
                other = "out" if target == "in" else "in"
                leaked = [m for m in _markers(world, other) if m in text]
                if leaked:
                    wrong.append(f"{cell} — reveals the {other} child ({leaked[0]})")
            if rule.child and rule.audited and rule.sees_in is None and actor != "anonymous":
                rows = await world.audit_since(service, before)
                if not any(r.actor == world.sub(actor) and r.child_id == ids["child_id"] for r in rows):
                    wrong.append(
                        f"{cell} — no audit row naming {world.sub(actor)} and the child "
                        f"({[(r.actor, r.action, r.child_id) for r in rows]})"
                    )
    assert wrong == [], "\n".join(wrong)


def test_docs_access_md_is_generated_from_the_rules():
    from pathlib import Path

    from .rules import markdown

    path = Path(__file__).parents[2] / "docs" / "access.md"
    assert path.read_text() == markdown(), "regenerate: python -m tests.access.rules > docs/access.md"
