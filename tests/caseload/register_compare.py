"""Comparing two databases up to generated ids and timestamps (test_register_concern.py)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from sqlalchemy import select, text

from tas_common import audit
from tas_common.db import Database
from tas_common.tables import audit_log, outbox

UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|00-[0-9a-f]{32}-[0-9a-f]{16}-01"
)
GENERATED = {"at", "changed_at", "created_at", "updated_at", "time", "merged_at", "hash", "prev_hash", "seq"}


class Normaliser:
    """Replaces each generated uuid by its order of first appearance, so two runs compare equal when they made
    the same things in the same places."""

    def __init__(self, fixed: set[str]) -> None:
        self.names: dict[str, str] = {}
        self.fixed = fixed

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: "<generated>" if k in GENERATED else self(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        if isinstance(value, str):
            return UUID.sub(
                lambda m: (
                    m.group(0)
                    if m.group(0) in self.fixed
                    else self.names.setdefault(m.group(0), f"<id{len(self.names)}>")
                ),
                value,
            )
        return value


async def snapshot(database: Database, fixed: set[str]) -> dict[str, Any]:
    """The rows and outbox events, every generated id named by its order of first appearance except the `fixed`
    ones (given by the scenario)."""
    async with database.reader() as session:

        async def rows(sql: str) -> list[dict[str, Any]]:
            return [dict(r._mapping) for r in (await session.execute(text(sql))).all()]

        events = [
            json.loads(r.payload) | {"headers": json.loads(r.headers)}
            for r in (await session.execute(select(outbox.c.payload, outbox.c.headers).order_by(outbox.c.seq))).all()
        ]
        audits = [dict(r._mapping) for r in (await session.execute(select(audit_log).order_by(audit_log.c.seq))).all()]
        data = {
            "child": await rows("SELECT * FROM child ORDER BY upn"),
            "family_member": await rows(
                "SELECT f.* FROM family_member f JOIN child c ON c.id = f.child_id "
                "ORDER BY c.upn, f.name, f.relationship, f.email, f.mobile"
            ),
            "plan": await rows("SELECT p.* FROM plan p JOIN child c ON c.id = p.child_id ORDER BY c.upn"),
            "restriction": await rows(
                "SELECT r.* FROM family_contact_restriction r JOIN child c ON c.id = r.child_id ORDER BY c.upn"
            ),
            "chronology": await rows(
                "SELECT e.* FROM chronology_entry e JOIN child c ON c.id = e.child_id ORDER BY c.upn, e.kind, e.ref_id"
            ),
            "audit": audits,
            "events": events,
        }
        verified = await audit.verify_chain(session)
    assert verified == []
    # children first, in UPN order, so that the ids are named in the same order in both databases
    normalise = Normaliser(fixed | {str(uuid.UUID(int=1))})
    normalise([c["id"] for c in data["child"]])
    return {k: normalise(v) for k, v in data.items()}
