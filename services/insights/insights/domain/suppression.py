"""Small numbers are not shown (issue 15): a count from 1 to 4, and any figure from which one could be worked out,
in the API, the CSV and the pages alike.

An answer's counts are cells of a `Sheet`; each `line` says that some cells (its parts) add up to another (its
total), as a histogram's buckets add up to the number measured, or a school's count is part of its LA's. The rules,
applied until nothing changes:

1. a count from 1 to 4 is not shown (primary suppression): "fewer than 5";
2. a line whose total is from 1 to 4 shows none of its parts, zeros included (three children, all in one
   category, would otherwise be seen to be in it);
3. a line with a shown total must not leave a protected cell as the only one hidden, nor hidden cells that add up
   to less than 5: the smallest other non-zero part is withheld too (secondary suppression: "a total minus a
   part");
4. a protected total must not be the sum of shown parts: the smallest non-zero part is withheld.

A cell may be `shown=False` (counted but not displayed, e.g. the waits within target beside the breaches): it
is hidden already, and needs protecting only when it is itself small. A withheld cell is shown as "withheld", not
"fewer than 5" (it is not). A statistic of a group of 1 to 4 (a median, a percentage) is "fewer than 5"; a
percentage is hidden with its part or its whole.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

SMALL = "fewer than 5"
WITHHELD = "withheld"
THRESHOLD = 5
NOTE = (
    "Numbers from 1 to 4 are shown as “fewer than 5”, and so is a median or a percentage of fewer than 5 "
    "children; a figure is “withheld” where, shown, it would let a number from 1 to 4 be worked out from the others."
)

Cell = int | float | str | None


def small(n: int) -> bool:
    return 0 < n < THRESHOLD


@dataclass
class _Line:
    total: Hashable
    parts: tuple[Hashable, ...]


@dataclass
class Sheet:
    counts: dict[Hashable, int] = field(default_factory=dict)
    shown: dict[Hashable, bool] = field(default_factory=dict)
    lines: list[_Line] = field(default_factory=list)
    hidden: dict[Hashable, str] = field(default_factory=dict)
    """cell → SMALL or WITHHELD, once `settle()` has run."""

    def cell(self, key: Hashable, n: int, *, shown: bool = True) -> Hashable:
        self.counts[key] = n
        self.shown[key] = shown
        return key

    def line(self, total: Hashable, parts: Iterable[Hashable]) -> None:
        self.lines.append(_Line(total, tuple(parts)))

    def settle(self) -> Sheet:
        hidden = {k: SMALL for k, n in self.counts.items() if small(n)}
        changed = True
        while changed:
            changed = False
            for line in self.lines:
                changed |= self._apply(line, hidden)
        self.hidden = hidden
        return self

    def _apply(self, line: _Line, hidden: dict[Hashable, str]) -> bool:
        counts = self.counts
        changed = False
        if small(counts[line.total]):
            for part in line.parts:
                if part not in hidden:
                    hidden[part] = SMALL
                    changed = True
            return changed

        def concealed(key: Hashable) -> bool:
            return key in hidden or not self.shown[key]

        def withhold_smallest(among: list[Hashable]) -> bool:
            candidates = [k for k in among if not concealed(k) and counts[k] > 0]
            if not candidates:
                return False
            pick = min(candidates, key=lambda k: (counts[k], str(k)))
            hidden[pick] = WITHHELD
            return True

        if concealed(line.total):
            protect_total = line.total in hidden
            if protect_total and line.parts and not any(concealed(p) for p in line.parts):
                changed |= withhold_smallest(list(line.parts))
            return changed
        covered = [p for p in line.parts if concealed(p)]
        protected = [p for p in covered if p in hidden]
        if protected and (len(covered) == 1 or small(sum(counts[p] for p in covered))):
            changed |= withhold_smallest(list(line.parts))
        return changed

    def show(self, key: Hashable) -> Cell:
        """The count as it may be shown: the number, or why not."""
        return self.hidden.get(key, self.counts[key])

    def is_hidden(self, key: Hashable) -> bool:
        return key in self.hidden

    def share(self, part: Hashable, whole: Hashable, digits: int = 1) -> Cell:
        """`part` as a percentage of `whole`: None for an empty whole; hidden with either."""
        if self.counts[whole] == 0:
            return None
        for key in (whole, part):
            if key in self.hidden:
                return self.hidden[key]
        return round(100.0 * self.counts[part] / self.counts[whole], digits)


def statistic(value: float | None, group: int) -> Cell:
    """A median, a percentile or a rate of a group: not shown for a group of 1 to 4; None when there is none."""
    if group == 0 or value is None:
        return None
    return SMALL if small(group) else value


def percentile(histogram: dict[int, int], q: float) -> float | None:
    """The q-quantile of whole-day values given as value → count, interpolating linearly between the closest ranks
    (as numpy's default and referral's waiting times do): the median of 1, 2, 3, 4 is 2.5."""
    n = sum(histogram.values())
    if n == 0:
        return None
    position = (n - 1) * q
    low, high = math.floor(position), math.ceil(position)
    values = sorted(histogram.items())

    def at(rank: int) -> int:
        seen = 0
        for value, count in values:
            seen += count
            if rank < seen:
                return value
        return values[-1][0]

    a, b = at(low), at(high)
    return round(a + (b - a) * (position - low), 1)


def median_of(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else round((ordered[middle - 1] + ordered[middle]) / 2, 1)
