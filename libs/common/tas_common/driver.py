"""Core statements compiled once per dialect and run on the database driver's own connection, inside the
session's transaction.

Through `AsyncSession.execute` every statement pays for SQLAlchemy's execution machinery (a greenlet hop, the
compiled cache's key, an execution context, a result object, the aiosqlite adapter's cursor calls), about 0.1 ms of
CPU whatever it does; the statement itself, on SQLite, costs a few microseconds (bench/NOTES.md, issue 18). A
`DriverStatement` keeps what SQLAlchemy would produce — the SQL string of the session's dialect, its parameter order,
the bind processors of each column's type (timestamps, JSON, booleans are stored exactly as SQLAlchemy stores them)
and the result processors — and runs it on:

- SQLite: the `sqlite3` connection itself when `sqlite_inline` would run the statement inline anyway (a SELECT, or a
  write on the connection that holds the write lock); otherwise through aiosqlite's thread, as before;
- PostgreSQL (asyncpg): SQLAlchemy's asyncpg adapter's own cursor coroutines, so its connection mutex, its lazily
  started transaction, its prepared-statement cache and its exception translation all still apply;
- any other driver: `session.execute`, unchanged.

It is the same transaction (and savepoint) as the session's ORM work: the session's connection is asked for first.
Engine `before_cursor_execute` listeners still see each statement (tests and diagnostics count statements). Errors
are raised as SQLAlchemy's (`sqlalchemy.exc.IntegrityError` and so on, parameters hidden), as `session.execute`
would raise them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.engine.interfaces import DBAPIModule
from sqlalchemy.ext.asyncio import AsyncSession as SAAsyncSession
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ClauseElement

from .sqlite_inline import InlineConnection
from .sqlite_inline import in_transaction as sqlite_in_transaction

Params = Mapping[str, Any]
T = TypeVar("T")
SIZES = (1, 2, 4, 8, 16, 32, 64)
"""The list sizes an `IN (?, ?, …)` statement is compiled for when it runs on the driver (no expanding IN here)."""
_MISSING = object()
_KEY = "tas_driver"


def require_python_defaults(table: Any, columns: Sequence[str]) -> None:
    """An INSERT on the driver passes every column with a Python-side default (the driver never applies them):
    ValueError naming those `columns` leaves out."""
    missing = [c.name for c in table.columns if c.name not in columns and c.default is not None and not c.primary_key]
    if missing:
        raise ValueError(f"columns with a Python-side default must be passed: {missing}")


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    binds: tuple[tuple[str, Callable[[Any], Any] | None, Any], ...]
    """(name, bind processor, value when the caller passes none) for each positional parameter, in order."""
    results: tuple[Callable[[Any], Any] | None, ...]
    returns_rows: bool
    reads_only: bool
    """A SELECT: on SQLite it never waits for a lock (WAL), so it may run inline without the write lock."""

    def row(self, params: Params) -> tuple[Any, ...]:
        out = []
        for name, process, default in self.binds:
            value = params.get(name, default)
            if value is _MISSING:
                raise KeyError(f"no value for the statement's parameter {name!r}")
            out.append(process(value) if process is not None and value is not None else value)
        return tuple(out)

    def result(self, row: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            value if p is None or value is None else p(value) for p, value in zip(self.results, row, strict=True)
        )


@dataclass(slots=True)
class _Driver:
    kind: str  # "sqlite", "asyncpg" or "other"
    sync: Connection
    dialect: Dialect
    handle: Any
    """sqlite: the aiosqlite connection; asyncpg: SQLAlchemy's adapted DBAPI connection."""


class DriverStatement:
    """A Core statement (SELECT, INSERT, UPDATE, DELETE) with named bind parameters, compiled once per dialect.

    An INSERT is compiled for exactly `columns` (every row passes those keys); a column it leaves out gets its
    server default, and leaving out a column that has a Python-side default is refused at compile time, since the
    driver never applies those."""

    __slots__ = ("_columns", "_compiled", "statement")

    def __init__(self, statement: Executable, *, columns: Sequence[str] | None = None) -> None:
        self.statement = statement
        self._columns = list(columns) if columns is not None else None
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        key = f"{dialect.name}+{dialect.driver}"
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        statement = self.statement
        if isinstance(statement, Insert):
            if self._columns is None:
                raise ValueError("an INSERT run on the driver names its columns")
            require_python_defaults(statement.table, self._columns)
            statement = statement.inline()  # no implicit RETURNING of the primary key
        compiled = cast(ClauseElement, statement).compile(dialect=dialect, column_keys=self._columns)
        assert isinstance(compiled, SQLCompiler)
        if compiled.literal_execute_params or any(b.expanding for b in compiled.binds.values()):
            raise ValueError("expanding (IN) and literal-execute parameters are not supported on the driver")
        processors = compiled._bind_processors
        names = compiled.positiontup or []
        binds = []
        for name in names:
            bind = compiled.binds[name]
            given = not bind.required and (bind.value is not None or bind.callable is not None)
            default = bind.effective_value if given else _MISSING  # an INSERT's columns are required: no default
            process = processors.get(name)
            binds.append((name, process if callable(process) else None, default))
        results: list[Callable[[Any], Any] | None] = []
        returns_rows = bool(compiled.returning) or bool(getattr(statement, "is_select", False))
        if returns_rows:
            columns = compiled.returning or statement.selected_columns  # type: ignore[attr-defined]
            results = [c.type._cached_result_processor(dialect, None) for c in columns]
        reads_only = bool(getattr(statement, "is_select", False))
        return _Compiled(compiled.string, tuple(binds), tuple(results), returns_rows, reads_only)

    async def execute(self, session: SAAsyncSession, params: Params | Sequence[Params] | None = None) -> int:
        """Run once with one set of parameters (a mapping, or None for none), or with many (a sequence of mappings:
        executemany; an empty sequence runs nothing); returns the rows affected (-1 when the driver does not say, as
        asyncpg's executemany)."""
        if params is None:
            params = {}
        elif not isinstance(params, Mapping) and not params:
            return 0
        driver = await _driver(session)
        if driver.kind == "other":
            result = await session.execute(self.statement, params if isinstance(params, Mapping) else list(params))
            return int(getattr(result, "rowcount", -1))
        compiled = self.compiled(driver.dialect)
        if isinstance(params, Mapping):
            count, _ = await _run(driver, compiled, compiled.row(params), many=False, fetch=False)
        else:
            count, _ = await _run(driver, compiled, [compiled.row(p) for p in params], many=True, fetch=False)
        return count

    async def all(self, session: SAAsyncSession, params: Params | None = None) -> list[tuple[Any, ...]]:
        driver = await _driver(session)
        if driver.kind == "other":
            return [tuple(r) for r in (await session.execute(self.statement, params or {})).all()]
        compiled = self.compiled(driver.dialect)
        _, rows = await _run(driver, compiled, compiled.row(params or {}), many=False, fetch=True)
        return [compiled.result(r) for r in rows]

    async def first(self, session: SAAsyncSession, params: Params | None = None) -> tuple[Any, ...] | None:
        rows = await self.all(session, params)
        return rows[0] if rows else None

    async def scalar(self, session: SAAsyncSession, params: Params | None = None) -> Any:
        row = await self.first(session, params)
        return row[0] if row else None


async def on_asyncpg(
    connection: Connection, driver_connection: Any, statement: DriverStatement, params: Params
) -> list[tuple[Any, ...]]:
    """Run `statement` on asyncpg's own connection (`driver_connection`, the asyncpg connection under the pooled
    `connection`), outside SQLAlchemy's adapter and its transaction: for a caller that runs asyncpg's transaction
    itself (the outbox relay's round: tas_common/outbox.py). The statement is compiled and its parameters and results
    processed as `DriverStatement` does; engine listeners see it; errors are asyncpg's own. Returns the rows (none for
    a statement that returns none)."""
    compiled = statement.compiled(connection.dialect)
    args = compiled.row(params)
    listeners = connection.dispatch.before_cursor_execute
    if listeners:
        listeners(connection, None, compiled.sql, args, None, False)
    if not compiled.returns_rows:
        await driver_connection.execute(compiled.sql, *args)
        return []
    return [compiled.result(row) for row in await driver_connection.fetch(compiled.sql, *args)]


def padded(values: Sequence[T], sizes: Sequence[int] = SIZES) -> tuple[int, list[T]] | None:
    """For a statement compiled once per size of its IN list: the smallest of `sizes` that holds `values`, and
    `values` padded to it with the last (a repeated member changes nothing in an IN); None when none holds them or
    there are none."""
    size = next((size for size in sizes if size >= len(values)), None)
    if size is None or not values:
        return None
    return size, [*values, *[values[-1]] * (size - len(values))]


async def flush_pending(session: SAAsyncSession) -> None:
    """What `session.execute` does before every statement (autoflush), for driver statements that touch rows ORM
    objects of this session may have pending changes to: flush them first. A clean session costs nothing."""
    if session.new or session.dirty or session.deleted:
        await session.flush()


def prebind(session: SAAsyncSession, connection: Connection) -> None:
    """Driver statements of `session` run on `connection` (already in the unit's transaction) for as long as the
    session has begun no transaction of its own (group_commit.GroupCommit: a unit that never touches the ORM)."""
    session.sync_session.info[_KEY] = (None, _driver_of(connection))


async def _driver(session: SAAsyncSession) -> _Driver:
    """The driver connection of the session's current transaction; remembered for as long as the session's
    innermost transaction (a savepoint included) is the same object, so a new savepoint is begun first."""
    sync_session = session.sync_session
    transaction = sync_session._transaction
    cached = sync_session.info.get(_KEY)
    if cached is not None and cached[0] is transaction:  # (None, driver): prebound, no ORM transaction yet
        driver: _Driver = cached[1]
        return driver
    connection = await session.connection()
    sync = connection.sync_connection
    assert sync is not None
    driver = _driver_of(sync)
    sync_session.info[_KEY] = (sync_session._transaction, driver)
    return driver


def _driver_of(sync: Connection) -> _Driver:
    dialect = sync.dialect
    fairy = sync.connection
    if dialect.name == "sqlite" and isinstance(fairy.driver_connection, InlineConnection):
        driver = _Driver("sqlite", sync, dialect, fairy.driver_connection)
    elif dialect.driver == "asyncpg":
        driver = _Driver("asyncpg", sync, dialect, fairy.dbapi_connection)
    else:
        driver = _Driver("other", sync, dialect, None)
    return driver


def _before(driver: _Driver, sql: str, params: Any, many: bool) -> None:
    listeners = driver.sync.dispatch.before_cursor_execute
    if listeners:
        listeners(driver.sync, None, sql, params, None, many)


def _wrap(driver: _Driver, sql: str, params: Any, error: Exception) -> exc.StatementError:
    """The driver's error as SQLAlchemy would raise it, including whether the connection is gone (the dialect's
    own test: PostgreSQL restarted mid-statement), so that callers tell an outage from a bug (a 503, not a 500)."""
    return exc.DBAPIError.instance(
        sql,
        params,
        error,
        driver.dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=driver.dialect.is_disconnect(cast("DBAPIModule.Error", error), driver.handle, None),
        dialect=driver.dialect,
        ismulti=isinstance(params, list),
    )


async def _run(driver: _Driver, compiled: _Compiled, params: Any, *, many: bool, fetch: bool) -> tuple[int, list[Any]]:
    sql = compiled.sql
    _before(driver, sql, params, many)
    if driver.kind == "sqlite":
        return await _run_sqlite(driver, compiled, params, many=many, fetch=fetch)
    return await _run_asyncpg(driver, sql, params, many=many, fetch=fetch)


async def _run_sqlite(
    driver: _Driver, compiled: _Compiled, params: Any, *, many: bool, fetch: bool
) -> tuple[int, list[Any]]:
    aio: InlineConnection = driver.handle
    raw = aio._connection
    sql = compiled.sql
    inline = (compiled.reads_only and not many) or (aio._write_locked and raw is not None and raw.in_transaction)
    try:
        if raw is not None and aio._running and inline:
            cursor = raw.executemany(sql, params) if many else raw.execute(sql, params)
        else:  # not holding the write lock: it may have to wait, so on aiosqlite's thread (sqlite_inline)
            cursor = await aio._execute(raw.executemany if many else raw.execute, sql, params)  # type: ignore[union-attr]
        try:
            return cursor.rowcount, cursor.fetchall() if fetch else []
        finally:
            cursor.close()
    except sqlite3.Error as error:
        raise _wrap(driver, sql, params, error) from error


async def _run_asyncpg(driver: _Driver, sql: str, params: Any, *, many: bool, fetch: bool) -> tuple[int, list[Any]]:
    cursor = driver.handle.cursor()
    try:
        if many:
            await cursor._executemany(sql, params)
            return -1, []
        await cursor._prepare_and_execute(sql, params)
        return cursor._rowcount, list(cursor._rows) if fetch else []
    except driver.dialect.loaded_dbapi.Error as error:
        raise _wrap(driver, sql, params, error) from error


def in_transaction(connection: Connection | PoolProxiedConnection) -> bool | None:
    """Whether the sqlite3 connection under a SQLAlchemy connection (or the pool's proxy of one) has a transaction
    open; None when it is not an open InlineConnection (sqlite_inline)."""
    fairy = connection.connection if isinstance(connection, Connection) else connection
    return sqlite_in_transaction(getattr(fairy, "driver_connection", None))


def run_inline(connection: Connection, sql: str) -> bool:
    """Run a parameterless statement (SAVEPOINT, RELEASE, ROLLBACK TO) on the sqlite3 connection itself when it
    holds the write lock (so it cannot wait); False when it does not apply and the caller must run it otherwise.
    Engine `before_cursor_execute` listeners see it, as they would through SQLAlchemy."""
    aio = connection.connection.driver_connection
    if not isinstance(aio, InlineConnection) or not aio._running:
        return False
    raw = aio._connection
    if raw is None or not (aio._write_locked and raw.in_transaction):
        return False
    listeners = connection.dispatch.before_cursor_execute
    if listeners:
        listeners(connection, None, sql, (), None, False)
    try:
        raw.execute(sql).close()
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(
            sql, (), error, sqlite3.Error, hide_parameters=True, dialect=connection.dialect
        ) from error
    return True
