"""The match of a concern's child reads each kind of candidate by an index, also in the plan PostgreSQL keeps for a
prepared statement first run on an empty table (a new deployment): one `OR` of the three kinds was planned there
as a sequential scan of `child`, kept for the connection's life, and read the whole table for every concern."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import asyncpg
from sqlalchemy.dialects import postgresql, sqlite

from caseload.domain.child_matching import _MATCH

from ..conftest import ON_POSTGRES, fresh_database_url, migrate

VALUES = {
    "upn": "A123456789012",
    "nhs_number": "9434765919",
    "given_name": "Sam",
    "family_name": "Example",
    "date_of_birth": "2016-03-04",
    "school_urn": "100000",
}


async def test_the_match_searches_each_kind_of_candidate_by_an_index(tmp_path: Path):
    # a new deployment's database: migrated, never analysed (a database of the pool may have been, after other tests)
    url = fresh_database_url("caseload-plan", tmp_path)
    await migrate("caseload", url)
    if ON_POSTGRES:
        compiled = _MATCH.compiled(postgresql.asyncpg.dialect())
        literals = ", ".join(f"'{VALUES[name]}'" for name, _, _ in compiled.binds)
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(f"PREPARE match AS {compiled.sql}")
            await conn.execute("SET plan_cache_mode = force_generic_plan")  # the plan a connection keeps
            plan = "\n".join(row[0] for row in await conn.fetch(f"EXPLAIN EXECUTE match({literals})"))
        finally:
            await conn.close()
        assert "Seq Scan" not in plan, plan
        assert plan.count("Index Scan") == 3, plan
        assert "ix_child_identity" in plan, plan
    else:
        compiled = _MATCH.compiled(sqlite.dialect())
        conn = sqlite3.connect(url.removeprefix("sqlite+aiosqlite:///"))
        try:
            params = compiled.row({**VALUES, "date_of_birth": date.fromisoformat(VALUES["date_of_birth"])})
            steps = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {compiled.sql}", params)]
        finally:
            conn.close()
        searches = [step for step in steps if step.startswith(("SEARCH", "SCAN"))]
        assert len(searches) == 3 and all(step.startswith("SEARCH child USING INDEX") for step in searches), steps
        assert any("ix_child_identity" in step for step in searches), steps
