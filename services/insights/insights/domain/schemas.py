"""The shape of every answer: a few tables, each a list of rows of cells (a number, a date or code, null, or why a
figure is not shown: "fewer than 5", "withheld"), with the scope and period asked about. A CSV is one of these
tables as it is here."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from .suppression import NOTE, Cell

AnswerName = Literal["waiting", "timeliness", "outcomes", "schools"]
ScopeKind = Literal["la", "school", "service"]


class Column(BaseModel):
    key: str
    label: str


class Table(BaseModel):
    name: str = Field(description="`?table=` picks it for a CSV")
    title: str
    columns: list[Column]
    rows: list[dict[str, Cell]]
    notes: list[str] = []

    def column(self, key: str) -> list[Cell]:
        return [row.get(key) for row in self.rows]


class ScopePublic(BaseModel):
    kind: ScopeKind
    id: str


class PeriodPublic(BaseModel):
    label: str
    from_month: str
    to_month: str


class Answer(BaseModel):
    answer: AnswerName
    scope: ScopePublic
    period: PeriodPublic
    as_of: datetime
    suppression: str = NOTE
    tables: list[Table]

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)


def columns(*pairs: tuple[str, str]) -> list[Column]:
    return [Column(key=k, label=label) for k, label in pairs]
