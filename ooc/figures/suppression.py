"""Small-number suppression for published tables (METRICS.md; docs/figures.md).

A count from 1 to the threshold is shown as "c". Where a row or a column of a table has exactly
one suppressed cell, its total would give that cell away, so the smallest other non-zero cell of
the line is suppressed as well; repeated until no line gives a cell away.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

SUPPRESSED = "c"


def is_small(count: int | None, threshold: int) -> bool:
    return count is not None and 1 <= count <= threshold


def suppressed_cells(cells: Mapping[Hashable, int], lines: Sequence[Sequence[Hashable]],
                     threshold: int) -> set[Hashable]:
    """The cells to hide: small ones (primary), then the others (secondary) that would let a
    hidden one be worked out from the total of a line (a row or a column)."""
    hidden = {key for key, count in cells.items() if is_small(count, threshold)}
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(key in hidden for key in line) != 1:
                continue
            others = [key for key in line if key not in hidden and cells[key] > 0]
            if others:
                hidden.add(min(others, key=lambda key: (cells[key], str(key))))
                changed = True
    return hidden


def shown(count: int | None, hidden: bool) -> str:
    if count is None:
        return "–"
    return SUPPRESSED if hidden else f"{count:,}"
