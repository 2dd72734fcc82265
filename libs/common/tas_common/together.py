"""A use case's new rows — in several tables — with its audit row and its events, written together: on PostgreSQL in
ONE statement (data-modifying CTEs, as referral's intake writes a concern: referral/domain/concern_store.py);
elsewhere one multi-row insert a table, then `audit.record`'s and the outbox's own statements.

On PostgreSQL each statement is a round trip, and a round trip costs about as much CPU (client and server) as the
insert it carries (bench/NOTES.md, issue 18 session 12): caseload's intake of a concern wrote a child, its plan, its
family, a chronology entry, an audit row and three events in six. The rows are gathered as the use case decides
them (`NewRows.add`) and written by `NewRows.write`. A data-modifying CTE runs whether or not the statement reads
it, and foreign keys are checked at the end of the statement, so a row may refer to one added before it in the same
write. Service functions never commit: the caller's unit of work does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert, literal, select
from sqlmodel.ext.asyncio.session import AsyncSession

from . import audit
from .driver import DriverStatement, flush_pending, require_python_defaults
from .events import CloudEvent
from .outbox import add_events, pending_row
from .tables import outbox

Shape = tuple[tuple[str, tuple[str, ...], int], ...]
"""(table, columns, rows) of each table, in order: what a statement is compiled for."""

_ONE_STATEMENT: dict[tuple[Shape, bool], DriverStatement] = {}
_EACH_TABLE: dict[tuple[str, tuple[str, ...]], DriverStatement] = {}


class NewRows:
    """Rows to insert, gathered in the order they are added (a row may refer to one added before it), grouped by
    table. `add` keeps the caller's dict itself, not a copy: a change to it before `write` (a contact merged
    into a member added just before) is what gets written."""

    def __init__(self) -> None:
        self._tables: dict[str, tuple[Table, list[dict[str, Any]]]] = {}

    def add(self, table: Table, row: dict[str, Any]) -> dict[str, Any]:
        self._tables.setdefault(table.name, (table, []))[1].append(row)
        return row

    def holds(self, row: Mapping[str, Any]) -> bool:
        """Whether `row` (this very dict) is waiting to be written."""
        return any(row is r for _, rows in self._tables.values() for r in rows)

    async def write(
        self,
        session: AsyncSession,
        *,
        audited: Mapping[str, str | None] | None = None,
        events: Sequence[CloudEvent] = (),
    ) -> None:
        """Insert the gathered rows, then the audit row `audited` (the fields of `audit.record`, by the system)
        and `events` (in order, each with the current trace as `add_events(traced=True)` gives it), in the
        session's transaction; the gathered rows are then forgotten, so `write` may be called again for rows
        added after. Every row of a table must have the same keys."""
        await flush_pending(session)  # ORM changes of this unit of work the new rows may refer to
        tables = [(table, rows) for table, rows in self._tables.values() if rows]
        self._tables = {}
        if session.get_bind().dialect.name == "postgresql":
            await _in_one_statement(session, tables, audited, events)
            return
        for table, rows in tables:
            await _each_table(table, tuple(rows[0])).execute(session, rows)
        if audited is not None:
            await audit.record(session, actor=None, **_audit_fields(audited))
        await add_events(session, list(events), traced=True)


def _audit_fields(audited: Mapping[str, str | None]) -> dict[str, Any]:
    return {k: audited.get(k) for k in ("action", "resource_type", "resource_id", "child_id", "reason")}


def _each_table(table: Table, columns: tuple[str, ...]) -> DriverStatement:
    found = _EACH_TABLE.get((table.name, columns))
    if found is None:
        found = _EACH_TABLE[(table.name, columns)] = DriverStatement(insert(table), columns=columns)
    return found


async def _in_one_statement(
    session: AsyncSession,
    tables: list[tuple[Table, list[dict[str, Any]]]],
    audited: Mapping[str, str | None] | None,
    events: Sequence[CloudEvent],
) -> None:
    event_rows = [pending_row(session, event) for event in events]
    if event_rows:
        tables = [*tables, (outbox, event_rows)]
    shape: Shape = tuple((table.name, tuple(rows[0]), len(rows)) for table, rows in tables)
    params: dict[str, Any] = {}
    for t, (_, rows) in enumerate(tables):
        for r, row in enumerate(rows):
            params |= {f"t{t}r{r}_{column}": value for column, value in row.items()}
    if audited is not None:
        params |= audit.appending_params(actor=None, prefix="a_", **_audit_fields(audited))
    statement = _statement(shape, [table for table, _ in tables], audited is not None)
    await statement.first(session, params)


def _statement(shape: Shape, tables: list[Table], audited: bool) -> DriverStatement:
    """PostgreSQL: the inserts of `shape` (each table's rows one multi-row insert) and the audit row
    (`audit.appending`, which takes the chain's lock: the statement is the use case's last) as the CTEs of one
    SELECT. Compiled once a shape."""
    found = _ONE_STATEMENT.get((shape, audited))
    if found is not None:
        return found
    if audited:
        appended = audit.appending("a_").cte("new_audit")
        statement = select(appended.c.hash)
    else:
        statement = select(literal(1))
    for t, ((_, columns, count), table) in enumerate(zip(shape, tables, strict=True)):
        require_python_defaults(table, columns)
        rows = [{c: bindparam(f"t{t}r{r}_{c}", type_=table.c[c].type) for c in columns} for r in range(count)]
        statement = statement.add_cte(insert(table).values(rows if count > 1 else rows[0]).cte(f"new_{t}"))
    found = _ONE_STATEMENT[(shape, audited)] = DriverStatement(statement)
    return found
