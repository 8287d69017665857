"""The board pack: every figure for a period, suppressed, with targets, RAG ratings, trends by
quarter and the overdue list, as plain data. The dashboard shows it and `ooc report board`
writes it as HTML, PDF, XLSX, CSV or JSON (ooc/boardpack_formats.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from ooc.calendar import quarter_of
from ooc.figures import FiguresConfig, Period, compute_figures
from ooc.figures.model import local_midnight
from ooc.figures.present import present_figure
from ooc.machine import WorkflowRegistry
from ooc.plan import plan_for_board

TREND_QUARTERS = 4


def trend_quarters(period: Period, count: int = TREND_QUARTERS) -> list[tuple[date, date]]:
    """The last `count` quarters up to the end of the period (the last one may be partial)."""
    quarters = []
    day = period.end
    while len(quarters) < count:
        first, last = quarter_of(day)
        quarters.append((first, min(last, period.end)))
        day = first - timedelta(days=1)
    return list(reversed(quarters))


def quarter_label(first: date) -> str:
    return f"{first:%b %Y}"


def build_pack(session: Session, *, registry: WorkflowRegistry, config: FiguresConfig,
               period: Period, now: datetime, raw: bool = False,
               previous: Period | None = None) -> dict[str, Any]:
    """The pack's content. `previous`: the period to compare with (by default the one of the same
    length just before), for what changed since the last board. The figures are read from
    committed data (side by side, on connections of their own)."""
    figures = compute_figures(session, registry=registry, period=period, config=config,
                              with_cases=raw, side_by_side=True)
    if previous is None:
        length = period.end - period.start
        previous_end = period.start - timedelta(days=1)
        previous = Period.of(max(previous_end - length, date(2000, 1, 1)), previous_end)
    before = compute_figures(session, registry=registry, period=previous, config=config,
                             side_by_side=True)
    presented = [present_figure(f, config, raw=raw, previous=before.get(f.id))
                 for f in figures.values()]
    trends = []
    for first, last in trend_quarters(period):
        as_of = min(period.as_of, local_midnight(last + timedelta(days=1)))
        quarter = compute_figures(session, registry=registry, config=config,
                                  period=Period.of(first, last, as_of), side_by_side=True)
        trends.append({"quarter": quarter_label(first), "from": first.isoformat(),
                       "to": last.isoformat(),
                       "figures": {f.id: present_figure(f, config, raw=raw)["percentage"]
                                   for f in quarter.values() if f.id in config.targets}})
    changes = [{"id": f["id"], "title": f["title"], "before": f.get("previous_percentage"),
                "now": f["percentage"], "change": f["change"]}
               for f in presented if f.get("change")]
    plan = plan_for_board(session, since=period.start)
    return {
        "title": "Out-of-court disposals: board report",
        "plan": plan,
        "plan_changes": [{"objective": o["title"], "action": a["title"], **change}
                         for o in plan for a in o["actions"] for change in a["changes"]],
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat(),
                   "as_of": period.as_of.isoformat()},
        "previous_period": {"from": previous.start.isoformat(), "to": previous.end.isoformat()},
        "generated_at": now.isoformat(timespec="seconds"),
        "suppressed": not raw,
        "suppression_threshold": config.suppression_threshold,
        "figures": presented,
        "trends": trends,
        "changes": changes,
    }
