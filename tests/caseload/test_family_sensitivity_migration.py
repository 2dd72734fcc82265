"""Migration 0008: old-default (`team`) needs, outcomes and provision become `family` only where the plan was
shared with the family and the child has no safeguarding concern; everything else keeps its marking."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tas_common.migrations import upgrade

from ..conftest import fresh_database_url

MIGRATIONS = Path(__file__).parents[2] / "services/caseload/caseload/db/migrations"


def items(*sensitivities: str) -> list[dict[str, str]]:
    return [{"id": f"i-{n}-{s}", "sensitivity": s, "description": "x"} for n, s in enumerate(sensitivities)]


def content() -> dict[str, list[dict[str, str]]]:
    return {
        "about_me": [{"id": "a-1", "sensitivity": "team", "text": "x"}],
        "needs": items("team", "agency"),
        "outcomes": items("team", "restricted"),
        "provision": items("team", "family"),
    }


async def test_shared_plans_of_children_without_safeguarding_become_the_familys(tmp_path):
    url = fresh_database_url("caseload", tmp_path)
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "0007")
    engine = create_async_engine(url)
    plans = {  # child → (safeguarding, plan status, version statuses)
        "shared": (False, "shared_for_comment", ["draft", "shared_for_comment"]),
        "agreed-then-draft": (False, "draft", ["agreed"]),
        "draft-only": (False, "draft", ["draft"]),
        "safeguarding": (True, "agreed", ["agreed"]),
    }
    async with engine.begin() as conn:
        for n, (name, (safeguarding, status, versions)) in enumerate(plans.items()):
            await conn.execute(
                text(
                    "INSERT INTO child (id, upn, given_name, family_name, date_of_birth, school_urn, safeguarding, "
                    "family_contact_restricted, created_at) VALUES (:id, :upn, 'A', 'B', '2016-01-01', '100000', "
                    ":sg, :sg, '2026-01-01')"
                ),
                {"id": name, "upn": f"X{n:012d}", "sg": safeguarding},
            )
            changes = json.dumps([{"section": "needs", "item_id": "i-0-team", "sensitivity": "team"}])
            await conn.execute(
                text(
                    "INSERT INTO plan (id, child_id, status, revision, content, pending_changes, published_version, "
                    "updated_at) VALUES (:id, :id, :status, 1, :content, :changes, :n, '2026-01-01')"
                ),
                {
                    "id": name,
                    "status": status,
                    "content": json.dumps(content()),
                    "changes": changes,
                    "n": len(versions),
                },
            )
            for number, vstatus in enumerate(versions, start=1):
                await conn.execute(
                    text(
                        "INSERT INTO plan_version (id, plan_id, number, status, content, changes, changed_sections, "
                        "published_by, published_by_org, published_by_org_type, published_at) VALUES (:id, :plan, "
                        ":n, :status, :content, :changes, '[]', 'x', 'x', 'school', '2026-01-01')"
                    ),
                    {
                        "id": f"{name}-{number}",
                        "plan": name,
                        "n": number,
                        "status": vstatus,
                        "content": json.dumps(content()),
                        "changes": changes,
                    },
                )
    await engine.dispose()
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "head")
    engine = create_async_engine(url)
    async with engine.connect() as conn:

        async def marks(table: str, key: str) -> dict[str, list[str]]:
            raw = (await conn.execute(text(f"SELECT content FROM {table} WHERE id = :id"), {"id": key})).scalar_one()
            data = json.loads(raw) if isinstance(raw, str) else raw
            return {s: [i["sensitivity"] for i in data[s]] for s in ("about_me", "needs", "outcomes", "provision")}

        shared = {
            "about_me": ["team"],
            "needs": ["family", "agency"],
            "outcomes": ["family", "restricted"],
            "provision": ["family", "family"],
        }
        unchanged = {
            "about_me": ["team"],
            "needs": ["team", "agency"],
            "outcomes": ["team", "restricted"],
            "provision": ["team", "family"],
        }
        assert await marks("plan", "shared") == shared and await marks("plan", "agreed-then-draft") == shared
        assert (
            await marks("plan_version", "shared-2") == shared
            and await marks("plan_version", "agreed-then-draft-1") == shared
        )
        assert await marks("plan_version", "shared-1") == unchanged  # a draft version was never the family's
        assert (
            await marks("plan", "draft-only") == unchanged and await marks("plan_version", "draft-only-1") == unchanged
        )
        assert (
            await marks("plan", "safeguarding") == unchanged
            and await marks("plan_version", "safeguarding-1") == unchanged
        )
        raw = (await conn.execute(text("SELECT pending_changes FROM plan WHERE id = 'shared'"))).scalar_one()
        assert (json.loads(raw) if isinstance(raw, str) else raw)[0]["sensitivity"] == "family"
    await engine.dispose()
