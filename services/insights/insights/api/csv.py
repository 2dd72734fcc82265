"""`Accept: text/csv` or `?format=csv`: one table of an answer as CSV (`?table=`, the first by default), its header
the columns' keys, every figure as the JSON gives it ("fewer than 5" included)."""

from __future__ import annotations

import csv
import io

from fastapi import Request
from fastapi.responses import Response

from tas_common.errors import InvalidInput

from ..domain.schemas import Answer

CSV_TYPE = "text/csv; charset=utf-8"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def wants_csv(request: Request, format_: str | None) -> bool:
    if format_ is not None:
        return format_ == "csv"
    return "text/csv" in request.headers.get("accept", "")


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value  # a spreadsheet must not run it
    return value


def csv_response(answer: Answer, table_name: str | None) -> Response:
    table = answer.table(table_name) if table_name else answer.tables[0]
    if table is None:
        names = ", ".join(t.name for t in answer.tables)
        raise InvalidInput(f"this answer's tables are {names}", field="query.table")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.key for c in table.columns])
    for row in table.rows:
        writer.writerow([_cell(row.get(c.key)) for c in table.columns])
    filename = (
        f"insights-{answer.answer}-{answer.scope.kind}-{answer.scope.id}-{answer.period.from_month}-{table.name}.csv"
    )
    return Response(
        out.getvalue(),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
