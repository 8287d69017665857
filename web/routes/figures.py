"""The board's figures: every figure of METRICS.md for a chosen period, suppressed, with RAG
ratings, trends by quarter, the overdue list and the board pack to download. Managers can open
the cases behind any number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlmodel import select
from starlette.responses import Response

from ooc.access import viewable
from ooc.boardpack import build_pack
from ooc.boardpack_formats import FORMATS, trend_chart, write_pack
from ooc.calendar import local_date, quarter_of
from ooc.errors import NotFound
from ooc.figures import FiguresConfig, Period, compute_figures
from ooc.models import Case, User
from web.deps import ServicesDep, SessionDep, require_roles
from web.pages import render_page, templates

router = APIRouter()
BoardViewer = Annotated[User, Depends(require_roles("board", "manager", "admin"))]
# Managers may open case pages (ooc.access.CASE_VIEWERS); the list shows no names.
CaseOpener = Annotated[User, Depends(require_roles("manager"))]
MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "csv": "text/csv; charset=utf-8", "json": "application/json"}

templates.env.globals["trend_chart"] = trend_chart


@dataclass(frozen=True)
class PeriodChoice:
    value: str
    label: str
    start: date
    end: date


def period_choices(today: date) -> list[PeriodChoice]:
    """The last 12 months, the current and last financial years (April to March) and the last
    six quarters, most recent first."""
    choices = [PeriodChoice("last-12-months", "The last 12 months",
                            today.replace(year=today.year - 1) + timedelta(days=1), today)]
    year = today.year if today.month >= 4 else today.year - 1
    for start_year in (year, year - 1):
        end = min(date(start_year + 1, 3, 31), today)
        choices.append(PeriodChoice(f"fy-{start_year}", f"Financial year {start_year} to "
                                    f"{start_year + 1}", date(start_year, 4, 1), end))
    day = today
    for _ in range(6):
        first, last = quarter_of(day)
        quarter = (first.month - 1) // 3 + 1
        choices.append(PeriodChoice(f"{first.year}-q{quarter}",
                                    f"{first:%B} to {last:%B %Y}", first, min(last, today)))
        day = first - timedelta(days=1)
    return choices


def chosen_period(value: str | None, today: date) -> PeriodChoice:
    choices = period_choices(today)
    if value is None:
        return choices[0]
    for choice in choices:
        if choice.value == value:
            return choice
    raise NotFound("There is no such reporting period. Choose one from the list.")


def _pack(session, services, choice: PeriodChoice):
    config = FiguresConfig.load(services.settings.workflows_dir)
    now = services.clock()
    period = Period.of(choice.start, choice.end, now=now)
    return config, period, build_pack(session, registry=services.registry, config=config,
                                      period=period, now=now)


@router.get("/board/figures")
def figures_page(request: Request, session: SessionDep, services: ServicesDep,
                 user: BoardViewer, period: Annotated[str | None, Query()] = None) -> Response:
    today = local_date(services.clock())
    choice = chosen_period(period, today)
    _, _, pack = _pack(session, services, choice)
    return render_page(request, "pages/figures.html", {
        "title": "Board figures", "pack": pack, "choice": choice,
        "period_items": [{"value": c.value, "text": c.label, "selected": c == choice}
                         for c in period_choices(today)],
        "formats": FORMATS,
        "can_open_cases": "manager" in user.roles,
    }, user=user)


@router.get("/board/pack")
def download_pack(session: SessionDep, services: ServicesDep, user: BoardViewer,
                  period: Annotated[str | None, Query()] = None,
                  format: Annotated[str, Query()] = "pdf") -> Response:
    if format not in FORMATS:
        raise NotFound(f"There is no '{format[:10]}' format of the board pack. Choose one of "
                       f"{', '.join(FORMATS)}.")
    choice = chosen_period(period, local_date(services.clock()))
    _, _, pack = _pack(session, services, choice)
    filename = f"board-pack-{choice.start}-{choice.end}.{format}"
    return Response(write_pack(pack, format), media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/board/figures/{figure_id}/cases")
def figure_cases(request: Request, figure_id: str, session: SessionDep, services: ServicesDep,
                 user: CaseOpener, period: Annotated[str | None, Query()] = None) -> Response:
    """The cases behind one figure: its numerator and its denominator, each a list of links."""
    now = services.clock()
    choice = chosen_period(period, local_date(now))
    config = FiguresConfig.load(services.settings.workflows_dir)
    found = compute_figures(session, registry=services.registry,
                            period=Period.of(choice.start, choice.end, now=now), config=config,
                            with_cases=True, side_by_side=True)
    figure = found.get(figure_id)
    if figure is None:
        raise NotFound(f"There is no figure '{figure_id[:10]}'. Figures are named as in the "
                       "board pack, for example T1 or D2.")
    ids = figure.case_ids()
    # Only the cases the manager's work reaches are named (ooc.access); the others are counted.
    cases = {c.id: c for c in session.exec(select(Case).where(
        Case.id.in_(ids), viewable(user, services.registry)))} if ids else {}
    numerator = set(figure.value.numerator_cases) if figure.value else set()
    return render_page(request, "pages/figure_cases.html", {
        "title": f"{figure.id} {figure.title}: the cases", "figure": figure, "choice": choice,
        "rows": [{"case": cases[i], "counted": i in numerator} for i in ids if i in cases],
        "overdue": [o for o in figure.overdue if o.case_id in cases],
        "elsewhere": len(set(ids) - set(cases)),
    }, user=user)
