"""The board and inspection figures of METRICS.md, worked out by the database.

`compute_figures` returns every figure for a period; docs/figures.md says how each is read.
"""

from __future__ import annotations

import math
import os
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlmodel import Session

from ooc.errors import OocError
from ooc.figures.children import children_figures, cohort_cube
from ooc.figures.decisions import decision_cube, decision_figures, meeting_attendance
from ooc.figures.model import BadPeriod, Count, Figure, Period, Row, Statistic
from ooc.figures.outcomes import outcome_figures, reconsidered, step_cube
from ooc.figures.oversight import oversight_figures, quality_audit
from ooc.figures.sources import Sources
from ooc.figures.timeliness import overdue_now, stage_statistics, timeliness
from ooc.figures.victims import victim_figures
from ooc.machine import WorkflowRegistry

FIGURE_IDS = (
    "T1", "T2", "T3", "T4", "T5", "T6",
    "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8",
    "C1", "C2", "C3", "C4",
    "V1", "V2", "V3", "V4",
    "Q1", "Q2", "Q3",
    "O1", "O2", "O3",
)

__all__ = ["BadPeriod", "Count", "Figure", "FiguresConfig", "Period", "Row", "Statistic",
           "compute_figures", "FIGURE_IDS"]


@dataclass(frozen=True)
class Target:
    green: float
    amber: float
    lower_is_better: bool = False


@dataclass(frozen=True)
class FiguresConfig:
    """workflows/figures.toml: suppression threshold, population, targets."""

    suppression_threshold: int = 4
    population: dict[str, int] = field(default_factory=dict)
    targets: dict[str, Target] = field(default_factory=dict)

    @classmethod
    def load(cls, workflows_dir: Path) -> FiguresConfig:
        path = workflows_dir / "figures.toml"
        if not path.exists():
            return cls()
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as e:
            raise FiguresFileError(f"{path} is not UTF-8 text (byte {e.start + 1} cannot be "
                                   "read). Save it as UTF-8.") from None
        except tomllib.TOMLDecodeError as e:
            raise FiguresFileError(f"{path} is not valid TOML: {e}.") from None
        unknown = sorted(set(raw.get("targets", {})) - set(FIGURE_IDS))
        if unknown:
            raise FiguresFileError(f"{path.name}: there is no figure {', '.join(unknown)}. "
                                   f"Targets can be set for {', '.join(FIGURE_IDS)}.")
        problems = []
        threshold = raw.get("suppression_threshold", 4)
        if not _whole(threshold) or threshold < 0:
            problems.append(f"suppression_threshold must be a whole number from 0, not "
                            f"{threshold!r}.")
        population = raw.get("population", {})
        problems += [f"[population] {k} must be a whole number from 0, not {v!r}."
                     for k, v in population.items() if not _whole(v) or v < 0]
        targets = {}
        for figure, target in raw.get("targets", {}).items():
            bad = _target_problem(target)
            if bad:
                problems.append(f"[targets.{figure}] {bad}")
            else:
                targets[figure] = Target(**target)
        if problems:
            raise FiguresFileError(f"{path} has settings that cannot be used.", problems)
        return cls(suppression_threshold=threshold, population=population, targets=targets)


class FiguresFileError(OocError):
    """workflows/figures.toml cannot be read or has a setting that cannot be used."""


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _target_problem(target: object) -> str | None:
    """Why a target cannot be used: each threshold a percentage, `nan` and `inf` refused."""
    if not isinstance(target, dict) or set(target) - {"green", "amber", "lower_is_better"} \
            or not {"green", "amber"} <= set(target):
        return "needs green and amber (and may say lower_is_better), and nothing else."
    for name in ("green", "amber"):
        value = target[name]
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value) or not 0 <= value <= 100:
            return f"{name} must be a percentage from 0 to 100, not {value!r}."
    if not isinstance(target.get("lower_is_better", False), bool):
        return "lower_is_better must be true or false."
    return None


# The queries behind the figures (each a pass over one table, or a small read), longest first
# so that, run side by side, the last to start are the short ones.
QUERIES = {"cohort": cohort_cube, "overdue": overdue_now, "decisions": decision_cube,
           "stages": stage_statistics, "steps": step_cube, "reconsidered": reconsidered,
           "attendance": meeting_attendance, "audits": quality_audit}


def compute_figures(session: Session, *, registry: WorkflowRegistry, period: Period,
                    config: FiguresConfig | None = None, with_cases: bool = False,
                    side_by_side: bool = False) -> dict[str, Figure]:
    """Every figure of METRICS.md for `period`, by id, in METRICS.md's order; `with_cases`
    adds the ids of the cases behind every count (for opening them).

    `side_by_side` runs the queries on as many connections as there are processors, for a
    caller reading committed data (the board, the pack): the other connections do not see what
    `session` has not committed. Each query is bounded by `as_of`, so one that starts a moment
    later reads the same figures."""
    config = config or FiguresConfig()
    src = Sources(session, period, registry, with_cases)
    found = _run_side_by_side(src) if side_by_side and _can_share(session) else \
        {name: query(src) for name, query in QUERIES.items()}
    figures = [*timeliness(found["cohort"], found["stages"], found["overdue"]),
               *decision_figures(found["decisions"], found["attendance"]),
               *children_figures(found["cohort"], config.population),
               *victim_figures(found["decisions"]),
               *oversight_figures(found["steps"], found["audits"]),
               *outcome_figures(found["steps"], found["reconsidered"])]
    by_id = {f.id: f for f in figures}
    return {i: by_id[i] for i in FIGURE_IDS if i in by_id}


def _can_share(session: Session) -> bool:
    """More connections to the same database can be opened (not an in-memory SQLite one)."""
    url = session.get_bind().url
    return (os.cpu_count() or 1) > 1 and url.database not in (None, "", ":memory:")


def _run_side_by_side(src: Sources) -> dict[str, Any]:
    engine = src.session.get_bind()

    def run(query):
        with Session(engine) as session:
            return query(replace(src, session=session))

    with ThreadPoolExecutor(min(os.cpu_count() or 1, len(QUERIES))) as pool:
        futures = {name: pool.submit(run, query) for name, query in QUERIES.items()}
        return {name: future.result() for name, future in futures.items()}
