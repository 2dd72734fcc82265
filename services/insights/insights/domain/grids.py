"""A table of counts by two things (review cycle × achievement status, status at the end × status after), with
row totals and, when its rows part the whole, an "All" row: its cells and lines go on a `Sheet`, so that small
numbers are hidden across rows and columns alike, and its rows are read back once the sheet has settled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .suppression import Cell, Sheet

ALL = "all"
TOTAL = "total"


def add_grid(
    sheet: Sheet,
    name: str,
    rows: Sequence[str],
    cols: Sequence[str],
    counts: Mapping[tuple[str, str], int],
    *,
    all_row: bool,
) -> None:
    """Each row's cells add up to its total; with `all_row` (the rows part the whole: each thing counted in one
    row), each column adds up to the All row's cell, and the row totals to the grand total."""
    for r in rows:
        parts = [sheet.cell((name, r, c), counts.get((r, c), 0)) for c in cols]
        total = sheet.cell((name, r, TOTAL), sum(counts.get((r, c), 0) for c in cols))
        sheet.line(total, parts)
    if not all_row:
        return
    for c in cols:
        column = sheet.cell((name, ALL, c), sum(counts.get((r, c), 0) for r in rows))
        sheet.line(column, [(name, r, c) for r in rows])
    grand = sheet.cell((name, ALL, TOTAL), sum(counts.values()))
    sheet.line(grand, [(name, ALL, c) for c in cols])
    sheet.line(grand, [(name, r, TOTAL) for r in rows])


def grid_rows(
    sheet: Sheet,
    name: str,
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    row_key: str,
    row_labels: Mapping[str, str],
    all_row: bool,
) -> list[dict[str, Cell]]:
    out: list[dict[str, Cell]] = []
    for r in [*rows, *([ALL] if all_row else [])]:
        row: dict[str, Cell] = {row_key: row_labels.get(r, r)}
        row.update({c: sheet.show((name, r, c)) for c in [*cols, TOTAL]})
        out.append(row)
    return out
