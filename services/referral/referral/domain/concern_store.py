"""Storing a new concern (referral's intake): its rows, its audit row and its `concern.raised` event — on PostgreSQL in
one statement. Service functions never commit: the caller's unit of work does, once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, Table, bindparam, insert, select, union_all
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.driver import DriverStatement
from tas_common.events import CloudEvent
from tas_common.outbox import COLUMNS as OUTBOX_COLUMNS
from tas_common.outbox import add_event, pending_row
from tas_common.tables import outbox, table_of

from . import schools
from .models import Concern, FamilyContact
from .schools import SchoolEntry

_INSERT_CONCERN = DriverStatement(insert(table_of(Concern)), columns=[c.name for c in table_of(Concern).columns])
_INSERT_CONTACT = DriverStatement(
    insert(table_of(FamilyContact)), columns=[c.name for c in table_of(FamilyContact).columns]
)
"""Compiled once, run on the driver (tas_common.driver); every row passes every column."""


async def insert_concerns(
    session: AsyncSession, concerns: list[dict[str, Any]], contacts: list[dict[str, Any]]
) -> None:
    """Multi-row inserts of concern and contact rows (one statement each, whatever the batch size)."""
    await _INSERT_CONCERN.execute(session, concerns)
    await _INSERT_CONTACT.execute(session, contacts)


_IN_ONE: dict[tuple[int, bool], DriverStatement] = {}


def _inserting(table: Table, columns: list[str], rows: list[dict[str, Any]], only_if: Any) -> Insert:
    """INSERT of `rows` (column → bind parameter); with `only_if`, from a SELECT of them that has that condition."""
    if only_if is None:
        return insert(table).values(rows if len(rows) > 1 else rows[0])
    selects = [select(*(row[c] for c in columns)).where(only_if) for row in rows]
    return insert(table).from_select(columns, selects[0] if len(selects) == 1 else union_all(*selects))


def _one_concern_statement(contacts: int, *, guarded: bool) -> DriverStatement:
    """PostgreSQL: one concern, its `contacts` family contacts, its `concern.raised` outbox row and its audit row in
    ONE statement, as data-modifying CTEs. The audit row is linked and hashed by the database under the chain's lock
    (audit.appending), so the lock is taken in the transaction's last statement and held only until its COMMIT.
    `guarded`: the school's fields come from this process's memo of the register (schools.remembered), and every
    insert is made only if the register still says the same (schools.unchanged, parameters `s_…`): the statement
    answers no row, and writes none, when it does not. Compiled once per number of contacts and guard."""
    found = _IN_ONE.get((contacts, guarded))
    if found is None:
        only_if = schools.unchanged("s_") if guarded else None
        concern_table, contact_table = table_of(Concern), table_of(FamilyContact)
        event = _inserting(
            outbox,
            list(OUTBOX_COLUMNS),
            [{c: bindparam(f"o_{c}", type_=outbox.c[c].type) for c in OUTBOX_COLUMNS}],
            only_if,
        )
        names = [c.name for c in concern_table.columns]
        concern = _inserting(
            concern_table,
            names,
            [{c.name: bindparam(f"c_{c.name}", type_=c.type) for c in concern_table.columns}],
            only_if,
        )
        audited = audit.appending("a_", only_if=only_if).cte("new_audit")
        statement = select(audited.c.hash).add_cte(concern.cte("new_concern")).add_cte(event.cte("new_event"))
        if contacts:
            rows = [
                {c.name: bindparam(f"f{i}_{c.name}", type_=c.type) for c in contact_table.columns}
                for i in range(contacts)
            ]
            contact_names = [c.name for c in contact_table.columns]
            statement = statement.add_cte(_inserting(contact_table, contact_names, rows, only_if).cte("new_contacts"))
        found = _IN_ONE[(contacts, guarded)] = DriverStatement(statement)
    return found


async def store_new_concern(
    session: AsyncSession,
    *,
    principal: Principal,
    concern: dict[str, Any],
    contacts: list[dict[str, Any]],
    school: SchoolEntry,
    event: CloudEvent,
    remembered: bool = False,
) -> bool:
    """A new concern with its contacts, its audit row and its `concern.raised` event (`event`), in the session's transaction:
    on PostgreSQL in one statement (`_one_concern_statement`); elsewhere as the inserts, `audit.record` and
    `add_event`. `remembered`: `school` is this process's memo of the register (PostgreSQL); False is returned, and
    nothing written, when the register no longer says the same."""
    if session.get_bind().dialect.name != "postgresql":
        await insert_concerns(session, [concern], contacts)
        await audit.record(
            session, actor=principal, action="create", resource_type="concern", resource_id=concern["id"]
        )
        await add_event(session, event)
        return True
    params = audit.appending_params(
        actor=principal, action="create", resource_type="concern", resource_id=concern["id"], prefix="a_"
    )
    params |= {f"c_{k}": v for k, v in concern.items()}
    for i, contact in enumerate(contacts):
        params |= {f"f{i}_{k}": v for k, v in contact.items()}
    if remembered:
        params |= schools.unchanged_params(school, "s_")
    params |= {f"o_{k}": v for k, v in pending_row(session, event).items()}
    return await _one_concern_statement(len(contacts), guarded=remembered).first(session, params) is not None
