"""The SQL figures (`ooc/figures/`) agree with a plain-Python recomputation of the definitions
(`tests/figures_reference.py`) on the demo data, on SQLite and PostgreSQL: every numerator,
denominator and list of cases, for a year, a quarter, and a quarter seen from part-way through."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, time

import pytest
from sqlmodel import Session, select

from ooc.audit import export_events
from ooc.calendar import LONDON
from ooc.demo import load_demo
from ooc.figures import Period, compute_figures
from ooc.models import Case, PanelMeeting
from tests.figures_reference import reference_figures
from tests.support import empty_database

TODAY = date(2026, 11, 20)  # the demo's last day
DEMO_CASES, DEMO_SEED = 250, 2026

PERIODS = {
    "year": Period.of(date(2025, 11, 21), TODAY),
    # Across the change to summer time (29 March 2026) and the Easter bank holidays.
    "quarter": Period.of(date(2026, 1, 1), date(2026, 3, 31)),
    # Seen part-way through a panel day, Tuesday 12 May 2026 at 11:17:30 (between the May bank
    # holidays): of the cases referred that morning one exists and one does not yet (with this
    # seed), some decisions of that panel are made and some are not.
    "quarter-as-of": Period.of(date(2026, 4, 1), date(2026, 6, 30),
                               datetime.combine(date(2026, 5, 12), time(11, 17, 30),
                                                tzinfo=LONDON)),
}

SINGLE_COUNTS = ("T1", "T2", "T3", "T4", "T6", "D2", "D3", "D4", "D5", "D7", "D8",
                 "C1", "C2", "C4", "V1", "V2", "V3", "V4", "Q1", "Q2", "O1", "O3")
CHECKED = (*SINGLE_COUNTS, "T5", "D1", "D6", "O2")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql",
                                                               marks=pytest.mark.postgres)])
def demo(request, registry):
    """The demo data loaded once per database, with its export; figures worked out on demand."""
    engine = request.getfixturevalue(f"{request.param}_engine")
    empty_database(engine)
    with Session(engine) as session:
        load_demo(session, registry=registry, cases=DEMO_CASES, seed=DEMO_SEED, today=TODAY)
        session.commit()
        out = io.StringIO()
        export_events(session, out)
        events = [json.loads(line) for line in out.getvalue().splitlines()]
        cases = [c.model_dump() for c in session.exec(select(Case))]
        meetings = [m.model_dump() for m in session.exec(select(PanelMeeting))]
    results: dict[str, tuple[dict, dict]] = {}

    def figures(name: str) -> tuple[dict, dict]:
        if name not in results:
            period = PERIODS[name]
            with Session(engine) as session:
                sql = compute_figures(session, registry=registry, period=period)
            results[name] = sql, reference_figures(events, cases, meetings, registry, period)
        return results[name]

    yield figures
    empty_database(engine)


def _count(count) -> dict:
    return {"numerator": count.numerator, "denominator": count.denominator,
            "numerator_cases": sorted(count.numerator_cases),
            "denominator_cases": sorted(count.denominator_cases)}


def _plain(ref: dict) -> dict:
    return {k: ref[k] for k in ("numerator", "denominator", "numerator_cases",
                                "denominator_cases")}


def _differences(sql: dict, ref: dict) -> list[str]:
    """What differs between two counts, readably (the cases on one side only)."""
    problems = []
    for key in ("numerator", "denominator"):
        if sql[key] != ref[key]:
            problems.append(f"{key}: SQL {sql[key]}, reference {ref[key]}")
    for key in ("numerator_cases", "denominator_cases"):
        if sql[key] != ref[key]:
            only_sql = sorted(set(sql[key]) - set(ref[key]))
            only_ref = sorted(set(ref[key]) - set(sql[key]))
            problems.append(f"{key}: only in SQL {only_sql}, only in reference {only_ref}"
                            + ("" if only_sql or only_ref else " (repeats differ)"))
    return problems


def _rows(figure, breakdown: str, key: str) -> dict[str, dict]:
    return {row.group[key]: _count(row.count) for row in figure.breakdowns.get(breakdown, [])}


@pytest.mark.parametrize("period", list(PERIODS))
@pytest.mark.parametrize("figure_id", CHECKED)
def test_sql_figures_agree_with_the_reference(demo, registry, period, figure_id):
    sql_figures, ref_figures = demo(period)
    figure, ref = sql_figures[figure_id], ref_figures[figure_id]
    where = f"{figure_id} ({figure.title}), period {period}"

    if figure_id == "T5":
        got = [(s.label, s.cases, s.median, s.p90, tuple(sorted(s.case_ids)))
               for s in figure.statistics]
        assert got == ref["stages"], f"{where}:\nSQL       {got}\nreference {ref['stages']}"
        return

    problems = _differences(_count(figure.value), _plain(ref))

    if figure_id == "T6":
        labels = {d.name: d.label for d in registry.latest("oocd").deadlines}
        got = sorted((o.case_id, o.milestone, o.due_on, o.working_days_overdue)
                     for o in figure.overdue)
        want = sorted((c, labels[m], due, days) for c, m, due, days in ref["overdue"])
        if got != want:
            problems.append(f"overdue: only in SQL {sorted(set(got) - set(want))}, "
                            f"only in reference {sorted(set(want) - set(got))}")

    if figure_id == "D1":
        got = {o: (c["numerator"], c["numerator_cases"])
               for o, c in _rows(figure, "outcome", "outcome").items()}
        want = {o: (c["numerator"], c["numerator_cases"]) for o, c in ref["outcomes"].items()}
        if got != want:
            problems.append(f"outcomes: SQL {got}, reference {want}")
        formal = [_count(r.count) for r in figure.breakdowns.get("formal", [])]
        if formal != [_plain(ref["formal"])]:
            problems.append(f"formal-outcome rate: SQL {formal}, reference {ref['formal']}")
        for key in ("ethnicity", "sex", "age_band", "looked_after"):
            got = {v: (c["numerator"], c["denominator"])
                   for v, c in _rows(figure, f"formal by {key}", key).items()}
            if got != ref["breakdowns"][f"formal by {key}"]:
                problems.append(f"formal by {key}: SQL {got}, "
                                f"reference {ref['breakdowns'][f'formal by {key}']}")

    if figure_id == "D2":
        ref_d1 = ref_figures["D1"]["breakdowns"]
        for key in ("ethnicity", "sex", "age_band", "looked_after"):
            got = {v: (c["numerator"], c["denominator"])
                   for v, c in _rows(figure, key, key).items()}
            if got != ref_d1[f"D2 by {key}"]:
                problems.append(f"D2 by {key}: SQL {got}, reference {ref_d1[f'D2 by {key}']}")

    if figure_id == "C2":
        got = _rows(figure, "formal-outcome rate", "looked_after")
        if got != ref["formal"]:
            problems.append(f"formal-outcome rate: SQL {got}, reference {ref['formal']}")

    if figure_id == "D6":
        got = {a: c["numerator"] for a, c in _rows(figure, "agency", "agency").items()}
        if got != ref["agencies"]:
            problems.append(f"agencies: SQL {got}, reference {ref['agencies']}")
        wrong = {a: c["denominator"] for a, c in _rows(figure, "agency", "agency").items()
                 if c["denominator"] != ref["numerator"]}
        if wrong:
            problems.append(f"agency rows out of {ref['numerator']} meetings: SQL {wrong}")

    if figure_id == "O2":
        got = {o: c["numerator"] for o, c in _rows(figure, "panel decision", "outcome").items()}
        if got != ref["outcomes"]:
            problems.append(f"panel decisions: SQL {got}, reference {ref['outcomes']}")

    assert not problems, f"{where}:\n  " + "\n  ".join(problems)
