"""The insights pages: which table of each answer is charted, and the chart itself, drawn server-side as SVG by
matplotlib (Agg, imported on first use: no I/O at import). A figure the API does not show ("fewer than 5",
"withheld") is not drawn; the table beside the chart gives it as the API does."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from typing import Any

from ..i18n import _

ANSWERS = ("waiting", "timeliness", "outcomes", "schools")
SCOPE_PARAMS = ("la_code", "school_urn", "service_id")
_LOCK = threading.Lock()  # pyplot's state is global: one chart at a time


@dataclass(frozen=True)
class ChartSpec:
    table: str
    label: str
    series: tuple[str, ...] | None
    """None: every column but the label and the total."""
    unit: str


CHARTS: dict[str, ChartSpec] = {
    "waiting": ChartSpec("histogram", "band", ("decision", "first_contact"), "referrals"),
    "timeliness": ChartSpec("summary", "year", ("plans_within_20_weeks_pct", "england_plans_within_20_weeks_pct"), "%"),
    "outcomes": ChartSpec("by_cycle", "cycle", None, "outcomes"),
    "schools": ChartSpec("schools", "school_urn", ("concerns_per_100",), "per 100 pupils"),
}


def chart_table(answer: dict[str, Any], name: str) -> dict[str, Any] | None:
    spec = CHARTS[name]
    return next((t for t in answer.get("tables", []) if t.get("name") == spec.table), None)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def series_of(table: dict[str, Any], spec: ChartSpec) -> tuple[list[str], list[tuple[str, list[float | None]]]]:
    keys = spec.series or tuple(
        c["key"] for c in table["columns"] if c["key"] not in (spec.label, "total") and c["label"] != "Total"
    )
    labels = {c["key"]: c["label"] for c in table["columns"]}
    categories = [str(row.get(spec.label, "")) for row in table["rows"]]
    series = [(labels.get(k, k), [_number(row.get(k)) for row in table["rows"]]) for k in keys if k in labels]
    return categories, series


def svg_chart(table: dict[str, Any], name: str, *, title: str) -> str:
    """Horizontal grouped bars, one group per row of the table, one bar per series; an SVG document as text."""
    spec = CHARTS[name]
    categories, series = series_of(table, spec)
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows = max(len(categories), 1)
    height = 1.2 + rows * (0.25 + 0.18 * len(series))
    with _LOCK:
        pyplot.rcParams["svg.fonttype"] = "none"  # text stays text (searchable, scalable)
        pyplot.rcParams["svg.hashsalt"] = "tas"  # the same data draws the same SVG
        legend_rows = (len(series) + 1) // 2 if len(series) > 1 else 0
        fig, ax = pyplot.subplots(figsize=(8, min(height + 0.25 * legend_rows, 24)), layout="constrained")
        try:
            width = 0.8 / max(len(series), 1)
            colours = ("#1d70b8", "#f47738", "#00703c", "#d4351c", "#4c2c92", "#b58840", "#5694ca", "#85994b")
            for i, (label, values) in enumerate(series):
                positions = [r + i * width for r in range(len(categories))]
                ax.barh(
                    positions,
                    [v or 0 for v in values],
                    height=width,
                    label=label,
                    color=colours[i % len(colours)],
                )
            ax.set_yticks([r + width * (len(series) - 1) / 2 for r in range(len(categories))], categories)
            ax.invert_yaxis()
            ax.set_xlabel(_(spec.unit))
            ax.set_title(title, loc="left", fontsize=11)
            ax.spines[["top", "right"]].set_visible(False)
            if len(series) > 1:  # below the chart: never over a bar
                fig.legend(loc="outside lower left", ncols=2, fontsize=8, frameon=False)
            out = io.StringIO()
            fig.savefig(out, format="svg")
        finally:
            pyplot.close(fig)
    svg = out.getvalue()
    return svg[svg.index("<svg") :]
