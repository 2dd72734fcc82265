"""Figures, the machine's description, and the outputs: `<stamp>.md`, `<stamp>.json` and `latency.png`."""

from __future__ import annotations

import json
import math
import os
import platform
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Figure:
    benchmark: str
    figure: str
    value: float | int | str | None
    unit: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""

    def shown(self) -> str:
        if self.value is None:
            return "n/a"
        if isinstance(self.value, float):
            text = f"{self.value:,.2f}" if abs(self.value) < 100 else f"{self.value:,.0f}"
        else:
            text = f"{self.value:,}" if isinstance(self.value, int) else str(self.value)
        return f"{text} {self.unit}".strip()


def at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value < limit


def at_least(value: float | None, limit: float) -> bool | None:
    return None if value is None else value >= limit


def percentile(values: Sequence[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(pct / 100.0 * len(ordered)) - 1))  # nearest rank
    return ordered[rank]


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    return {
        "count": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values) if values else None,
        "mean": sum(values) / len(values) if values else None,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=5, cwd=Path(__file__).resolve().parent, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict[str, Any]:
    try:
        import psutil

        ram_gb = round(psutil.virtual_memory().total / 1024**3, 1)
        load = [round(x, 2) for x in os.getloadavg()]
    except (ImportError, OSError):
        ram_gb, load = None, None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gb": ram_gb,
        "load_average_at_start": load,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain")),
        "argv": sys.argv[1:],
    }


@dataclass
class Report:
    quick: bool
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    machine: dict[str, Any] = field(default_factory=machine)
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def stamp(self) -> str:
        return self.started.strftime("%Y%m%dT%H%M%SZ") + ("-quick" if self.quick else "")

    def add(self, *figures: Figure) -> None:
        self.figures.extend(figures)

    def markdown(self) -> str:
        m = self.machine
        lines = [
            f"# TAS benchmarks {'(quick smoke run: figures are indicative only)' if self.quick else ''}".strip(),
            "",
            f"Run {self.started.isoformat(timespec='seconds')} on {m['cpu']}, {m['cores']} cores, "
            f"{m['ram_gb']} GB RAM, {m['os']}; Python {m['python']}, SQLite {m['sqlite']}"
            f"{', PostgreSQL ' + m['postgresql'] if m.get('postgresql') else ''}; "
            f"git {m['git_commit']}{' (uncommitted changes)' if m['git_dirty'] else ''}; "
            f"load average at start {m['load_average_at_start']}.",
            "",
            "| benchmark | figure | value | target | met? |",
            "| --- | --- | --- | --- | --- |",
        ]
        for f in self.figures:
            met = {True: "yes", False: "**no**", None: "–"}[f.met]
            figure = f"{f.figure} ({f.note})" if f.note else f.figure
            lines.append(f"| {f.benchmark} | {figure} | {f.shown()} | {f.target or '–'} | {met} |")
        lines += _side_by_side(self.figures)
        if self.notes:
            lines += ["", "## Notes", ""] + [f"- {n}" for n in self.notes]
        for key, details in self.details.items():
            profile = details.get("profile") if isinstance(details, dict) else None
            if isinstance(profile, dict) and "inclusive" in profile:
                lines += _profile_section(key, profile)
        return "\n".join(lines) + "\n"

    def as_json(self) -> dict[str, Any]:
        return {
            "quick": self.quick,
            "started": self.started.isoformat(),
            "machine": self.machine,
            "figures": [asdict(f) for f in self.figures],
            "notes": self.notes,
            "details": self.details,
            "latency_summaries_ms": {k: summary(v) for k, v in self.latencies.items()},
        }

    def write(self, directory: Path = RESULTS, *, plot: bool = True) -> dict[str, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        md = directory / f"{self.stamp}.md"
        js = directory / f"{self.stamp}.json"
        md.write_text(self.markdown())
        js.write_text(json.dumps(self.as_json(), indent=2, default=str))
        paths = {"markdown": md, "json": js}
        if plot:
            paths["png"] = directory / "latency.png"
            plot_latencies(self.latencies, paths["png"], title=self._plot_title())
        return paths

    def _plot_title(self) -> str:
        m = self.machine
        return (
            f"TAS latency{' (quick)' if self.quick else ''} — {m['cpu']}, {m['cores']} cores, "
            f"Python {m['python']}, SQLite {m['sqlite']}, git {m['git_commit']}"
        )


ENGINE_SUFFIXES = (" (SQLite)", " (PostgreSQL)")


def _side_by_side(figures: list[Figure]) -> list[str]:
    """The figures measured on both engines (benchmark "X (SQLite)" and "X (PostgreSQL)", same figure), one row
    each: SQLite's value and met?, PostgreSQL's value and met?."""
    by_key: dict[tuple[str, str], dict[str, Figure]] = {}
    for f in figures:
        for suffix in ENGINE_SUFFIXES:
            if f.benchmark.endswith(suffix):
                by_key.setdefault((f.benchmark.removesuffix(suffix), f.figure), {})[suffix] = f
    rows = [(key, pair) for key, pair in by_key.items() if len(pair) == len(ENGINE_SUFFIXES)]
    if not rows:
        return []
    mark = {True: " (met)", False: " (**missed**)", None: ""}
    lines = [
        "",
        "## SQLite and PostgreSQL side by side",
        "",
        "| benchmark | figure | SQLite | PostgreSQL | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    for (bench, figure), pair in rows:
        lite, pg = pair[" (SQLite)"], pair[" (PostgreSQL)"]
        lines.append(
            f"| {bench} | {figure} | {lite.shown()}{mark[lite.met]} | {pg.shown()}{mark[pg.met]} "
            f"| {lite.target or pg.target or '–'} |"
        )
    return lines


def _profile_section(bench: str, profile: dict[str, Any]) -> list[str]:
    """A py-spy summary (bench/profiling.py `summarise_stacks`) as two tables: inclusive and self time."""
    lines = [
        "",
        f"## Where the {bench} time goes (py-spy, the service process under load)",
        "",
        f"{profile.get('samples', 0)} samples over all threads; collapsed stacks (for speedscope or "
        f"flamegraph.pl): `{profile.get('stacks', '')}`. {profile.get('error', '')}".strip(),
        "",
        "| % of samples (inclusive) | function |",
        "| --- | --- |",
    ]
    lines += [f"| {pct:.1f} | `{name}` |" for name, pct in profile.get("inclusive", [])]
    lines += ["", "| % of samples (self) | function |", "| --- | --- |"]
    lines += [f"| {pct:.1f} | `{name}` |" for name, pct in profile.get("self", [])]
    return lines


def add_page_latencies(
    report: Report, bench: str, results: dict[str, list[float]], *, key: str, target_ms: float, targeted: str
) -> None:
    """Each series of a page benchmark as p50 and p99 figures (the series whose name holds `targeted` held to
    `target_ms` at p99), its latencies kept for the plot, and its summary under `report.details[key]`."""
    details: dict[str, Any] = {}
    for name, latencies in results.items():
        report.latencies[f"web: {name}"] = latencies
        s = summary(latencies)
        details[name] = s
        target = f"< {target_ms:g} ms" if targeted in name else ""
        report.add(
            Figure(bench, f"{name} p50", s["p50"], "ms", note=f"{len(latencies)} requests"),
            Figure(bench, f"{name} p99", s["p99"], "ms", target, at_most(s["p99"], target_ms) if target else None),
        )
    report.details[key] = details


def plot_latencies(series: dict[str, list[float]], path: Path, *, title: str) -> None:
    """Latency distributions: empirical CDFs on a log axis (left) and box plots (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = {k: sorted(v) for k, v in series.items() if v}
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5), gridspec_kw={"width_ratios": [3, 2]})
    for name, values in shown.items():
        n = len(values)
        left.plot(values, [(i + 1) / n * 100 for i in range(n)], label=f"{name} (n={n:,})")
    left.set_xscale("log")
    left.set_xlabel("latency (ms, log scale)")
    left.set_ylabel("percent of requests at or below")
    left.axhline(50, color="grey", lw=0.5, ls=":")
    left.axhline(99, color="grey", lw=0.5, ls=":")
    left.grid(True, which="both", alpha=0.3)
    if shown:
        left.legend(fontsize=8, loc="lower right")
        right.boxplot(list(shown.values()), whis=(1, 99), showfliers=False)
        right.set_xticks(range(1, len(shown) + 1), list(shown), rotation=30, ha="right", fontsize=8)
        right.set_yscale("log")
    right.set_ylabel("latency (ms; box p25–p75, whiskers p1–p99)")
    right.grid(True, axis="y", which="both", alpha=0.3)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
