"""The board and inspection figures of METRICS.md, worked out by the database.

`compute_figures` returns every figure for a period; docs/figures.md says how each is read.
"""

from __future__ import annotations

import os
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlmodel import Session

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
        raw = tomllib.loads(path.read_text())
        unknown = sorted(set(raw.get("targets", {})) - set(FIGURE_IDS))
        if unknown:
            raise BadPeriod(f"{path.name}: there is no figure {', '.join(unknown)}. "
                            f"Targets can be set for {', '.join(FIGURE_IDS)}.")
        return cls(suppression_threshold=int(raw.get("suppression_threshold", 4)),
                   population={k: int(v) for k, v in raw.get("population", {}).items()},
                   targets={k: Target(**v) for k, v in raw.get("targets", {}).items()})


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
