"""The board and inspection figures of METRICS.md, worked out by the database.

`compute_figures` returns every figure for a period; docs/figures.md says how each is read.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from ooc.figures.children import children_figures, cohort_cube
from ooc.figures.decisions import decision_cube, decision_figures
from ooc.figures.model import BadPeriod, Count, Figure, Period, Row, Statistic
from ooc.figures.outcomes import outcome_figures, step_cube
from ooc.figures.oversight import oversight_figures
from ooc.figures.sources import Sources
from ooc.figures.timeliness import timeliness
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


def compute_figures(session: Session, *, registry: WorkflowRegistry, period: Period,
                    config: FiguresConfig | None = None,
                    with_cases: bool = False) -> dict[str, Figure]:
    """Every figure of METRICS.md for `period`, by id, in METRICS.md's order; `with_cases`
    adds the ids of the cases behind every count (for opening them)."""
    config = config or FiguresConfig()
    src = Sources(session, period, registry, with_cases)
    cohort, decisions, steps = cohort_cube(src), decision_cube(src), step_cube(src)
    figures = [*timeliness(src, cohort), *decision_figures(src, decisions),
               *children_figures(cohort, config.population), *victim_figures(decisions),
               *oversight_figures(src, steps), *outcome_figures(src, steps)]
    by_id = {f.id: f for f in figures}
    return {i: by_id[i] for i in FIGURE_IDS if i in by_id}
