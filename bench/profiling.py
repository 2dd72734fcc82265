"""py-spy profiles for the benchmarks: record a process in the background, summarise its collapsed stacks into the
functions with the most samples (inclusive and self), and `Profiler` for every service of a bench system at once."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .report import RESULTS, Report

if TYPE_CHECKING:
    from .system import BenchSystem


def profile_start(pid: int, seconds: float, raw_path: Path) -> subprocess.Popen[str] | None:
    """Start py-spy recording `pid` in the background (see `profile_finish`)."""
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(pyspy).exists():
        return None
    return subprocess.Popen(
        [
            pyspy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(raw_path),
            "--nonblocking",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def profile_finish(proc: subprocess.Popen[str] | None, raw_path: Path, timeout: float) -> dict[str, Any]:
    if proc is None:
        return {"error": "py-spy not installed (pip install -r requirements-bench.txt)"}
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    if not raw_path.exists():
        return {"error": (out or "")[-500:]}
    return summarise_stacks(raw_path.read_text())


def profile(pid: int, seconds: float, raw_path: Path) -> dict[str, Any]:
    """py-spy record (raw collapsed stacks) for `seconds`, summarised into the functions with the most samples; a
    failed profile is reported in the result, not raised."""
    return profile_finish(profile_start(pid, seconds, raw_path), raw_path, timeout=seconds + 60)


def _frame_name(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py)"
    name, _, where = frame.partition(" (")
    file = where.rsplit(":", 1)[0].rsplit("/", 1)[-1].rstrip(")")
    return f"{name} ({file})" if file else name


def summarise_stacks(text: str, top: int = 25) -> dict[str, Any]:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame_name(f) for f in stack.split(";") if f]
        total += n
        for name in set(frames):
            inclusive[name] += n
        if frames:
            own[frames[-1]] += n
    pct = (lambda c: [(k, 100.0 * v / total) for k, v in c.most_common(top)]) if total else (lambda c: [])
    return {"samples": total, "inclusive": pct(inclusive), "self": pct(own)}


class Profiler:
    """py-spy on every service of `system` for `seconds` (while the block runs); summaries go to `into`."""

    def __init__(
        self, system: BenchSystem, report: Report, name: str, seconds: float, into: dict[str, Any], enabled: bool
    ) -> None:
        self.system, self.report, self.name, self.seconds, self.into = system, report, name, seconds, into
        self.enabled = enabled
        self.running: dict[str, Any] = {}

    def __enter__(self) -> Profiler:
        if self.enabled:
            RESULTS.mkdir(parents=True, exist_ok=True)
            for service, proc in self.system.procs.items():
                raw = RESULTS / f"{self.report.stamp}-{self.name}-{service}-profile.txt"
                self.running[service] = (profile_start(proc.pid, self.seconds, raw), raw)
        return self

    def __exit__(self, *_exc: object) -> None:
        for service, (proc, raw) in self.running.items():
            prof = profile_finish(proc, raw, timeout=self.seconds + 60)
            prof["stacks"] = str(raw.relative_to(RESULTS.parent.parent)) if raw.exists() else ""
            self.into.setdefault("profile", {})[service] = prof
