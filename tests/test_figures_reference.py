"""The SQL figures (`ooc/figures/`) agree with a plain-Python recomputation of the definitions
(`tests/figures_reference.py`) on the demo data, on SQLite and PostgreSQL: every numerator,
denominator and list of cases, for a year, a quarter, and a quarter seen from part-way through.

The demo's events all happen in working hours, so a few cases are added with events late in the
evening (UTC) of summer-time days, whose local date is the next day, around the changes of clock,
at the end of a quarter, and exactly at an `as_of` instant."""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from ooc import service
from ooc.audit import export_events
from ooc.calendar import LONDON
from ooc.demo import load_demo
from ooc.figures import Period, compute_figures
from ooc.models import Case, PanelMeeting, User
from ooc.panels import record_meeting
from tests.figures_reference import reference_figures
from tests.support import QUORATE, assessment, decision, empty_database, referral

TODAY = date(2026, 11, 20)  # the demo's last day
DEMO_CASES, DEMO_SEED = 250, 2026

# Part-way through a panel day, Tuesday 12 May 2026 (between the May bank holidays).
AS_OF = datetime.combine(date(2026, 5, 12), time(11, 17, 30), tzinfo=LONDON)

PERIODS = {
    "year": Period.of(date(2025, 11, 21), TODAY),
    # Across the change to summer time (29 March 2026) and the Easter bank holidays.
    "quarter": Period.of(date(2026, 1, 1), date(2026, 3, 31)),
    # Seen part-way through a panel day, Tuesday 12 May 2026 at 11:17:30 (between the May bank
    # holidays): of the cases referred that morning one exists and one does not yet (with this
    # seed), some decisions of that panel are made and some are not.
    "quarter-as-of": Period.of(date(2026, 4, 1), date(2026, 6, 30), AS_OF),
}


def utc(month: int, day: int, hour: int, minute: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# (referral, steps): each step (instant, trigger, user, form, reason_code). "meeting" in a form is
# replaced by a quorate meeting held on that instant's UTC date (recorded at 17:00 UTC).
EDGE_CASES = [
    # T1 due Mon 15 June, submitted 00:30 on 16 June (late); T4 due 30 June, signed off 00:30 on
    # 1 July (late); the countersignature and decision at 23:30 and 23:45 local.
    ({"referral_date": "2026-06-01", "offence_date": "2026-05-25"},
     [(utc(6, 1, 9, 0), "create", "police1", None, None),
      (utc(6, 2, 9, 0), "take_case", "casemanager1", None, None),
      (utc(6, 15, 23, 30), "submit_assessment", "casemanager1", assessment(), None),
      (utc(6, 16, 22, 30), "countersign", "manager1", None, None),
      (utc(6, 23, 22, 45), "record_decision", "chair1", decision("meeting"), None),
      (utc(6, 30, 23, 30), "sign_off", "manager1", None, None)]),
    # T2 due Tue 31 March (from the bail date); decided at 00:30 on 1 April: late, and a decision
    # of April-June rather than January-March.
    ({"referral_date": "2026-03-09", "bail_date": "2026-03-10", "offence_date": "2026-03-01"},
     [(utc(3, 9, 9, 0), "create", "police1", None, None),
      (utc(3, 10, 10, 0), "take_case", "casemanager1", None, None),
      (utc(3, 16, 10, 0), "submit_assessment", "casemanager1", assessment(), None),
      (utc(3, 18, 10, 0), "countersign", "manager1", None, None),
      (utc(3, 31, 23, 30), "record_decision", "chair1", decision("meeting"), None)]),
    # Submitted at 23:30 on Friday 27 March (still GMT: on time); countersigned at 00:30 on
    # Monday 30 March (the first summer-time evening).
    ({"referral_date": "2026-03-13", "offence_date": "2026-03-05"},
     [(utc(3, 13, 9, 0), "create", "police1", None, None),
      (utc(3, 16, 9, 0), "take_case", "casemanager2", None, None),
      (utc(3, 27, 23, 30), "submit_assessment", "casemanager2", assessment(), None),
      (utc(3, 29, 23, 30), "countersign", "manager2", None, None)]),
    # Submitted and returned at 23:30 and 23:50 local on 31 March (in January-March), then
    # submitted again on 1 April.
    ({"referral_date": "2026-03-23", "offence_date": "2026-03-15"},
     [(utc(3, 23, 9, 0), "create", "police1", None, None),
      (utc(3, 24, 9, 0), "take_case", "casemanager2", None, None),
      (utc(3, 31, 22, 30), "submit_assessment", "casemanager2", assessment(), None),
      (utc(3, 31, 22, 50), "return_assessment", "manager1",
       {"comments": "Say more about the safety of others."}, None),
      (utc(4, 1, 8, 0), "submit_assessment", "casemanager2", assessment(), None)]),
    # T1 due Friday 23 October, submitted at 00:30 on Saturday 24 October (the last summer-time
    # weekend): late; countersigned at 23:30 on 30 October (GMT again): on time.
    ({"referral_date": "2026-10-09", "offence_date": "2026-10-01"},
     [(utc(10, 9, 9, 0), "create", "police1", None, None),
      (utc(10, 12, 9, 0), "take_case", "casemanager3", None, None),
      (utc(10, 23, 23, 30), "submit_assessment", "casemanager3", assessment(), None),
      (utc(10, 30, 23, 30), "countersign", "manager2", None, None)]),
    # Withdrawn at 00:30 on Monday 15 June, the assessment's due date itself: still counted.
    ({"referral_date": "2026-06-01", "offence_date": "2026-05-26"},
     [(utc(6, 1, 9, 30), "create", "police1", None, None),
      (utc(6, 2, 9, 30), "take_case", "casemanager3", None, None),
      (utc(6, 14, 23, 30), "withdraw", "manager1", None, "police_no_further_action")]),
    # Submitted exactly at AS_OF (due that day): done by as_of, so due and on time.
    ({"referral_date": "2026-04-27", "offence_date": "2026-04-20"},
     [(utc(4, 27, 9, 0), "create", "police1", None, None),
      (utc(4, 28, 9, 0), "take_case", "casemanager1", None, None),
      (AS_OF.astimezone(UTC), "submit_assessment", "casemanager1", assessment(), None)]),
]


def add_edge_cases(session: Session, registry) -> None:
    definition = registry.latest("oocd")
    users = {u.username: u for u in session.exec(select(User))}
    for n, (overrides, steps) in enumerate(EDGE_CASES, start=1):
        case_id = None
        for at, trigger, user, form, reason_code in steps:
            if trigger == "create":
                case = service.create_case(
                    session, registry=registry, actor=users[user], now=at,
                    referral=referral(police_reference=f"EDGE/{n:04d}", **overrides))
                case_id = case.id
                continue
            if form and form.get("meeting_id") == "meeting":
                meeting = record_meeting(session, definition=definition, held_on=at.date(),
                                         chair="chair1", agencies=QUORATE,
                                         now=datetime.combine(at.date(), time(17), tzinfo=UTC))
                form = {**form, "meeting_id": meeting.id}
            service.fire(session, registry=registry, case_id=case_id, trigger=trigger,
                         actor=users[user], now=at, data=form,
                         reason="Police took no further action." if reason_code else None,
                         reason_code=reason_code)
    session.commit()


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
        add_edge_cases(session, registry)
        out = io.StringIO()
        export_events(session, out)
        events = [json.loads(line) for line in out.getvalue().splitlines()]
        cases = [c.model_dump() for c in session.exec(select(Case))]
        meetings = [m.model_dump() for m in session.exec(select(PanelMeeting))]
    results: dict[str, tuple[dict, dict]] = {}

    def figures(name: str, side_by_side: bool = False):
        """The SQL figures and the reference's; or, `side_by_side`, the SQL figures worked
        out on several connections at once."""
        if side_by_side:
            connections = set()

            def seen(connection, *_):
                connections.add(id(connection.connection.dbapi_connection))

            event.listen(engine, "before_cursor_execute", seen)
            try:
                with Session(engine) as session:
                    found = compute_figures(session, registry=registry, period=PERIODS[name],
                                            with_cases=True, side_by_side=True)
            finally:
                event.remove(engine, "before_cursor_execute", seen)
            return found, len(connections)
        if name not in results:
            period = PERIODS[name]
            with Session(engine) as session:
                sql = compute_figures(session, registry=registry, period=period, with_cases=True)
            results[name] = sql, reference_figures(events, cases, meetings, registry, period)
        return results[name]

    yield figures
    empty_database(engine)


@pytest.mark.parametrize("period", PERIODS)
def test_the_queries_run_side_by_side_give_the_same_figures(demo, period):
    found, connections = demo(period, side_by_side=True)
    assert connections > 1 or os.cpu_count() == 1
    assert found == demo(period)[0]


@pytest.mark.parametrize("period", PERIODS)
def test_the_overdue_list_puts_the_most_overdue_first_then_by_case(demo, period):
    overdue = demo(period)[0]["T6"].overdue
    assert len({o.working_days_overdue for o in overdue}) > 1
    assert overdue == sorted(overdue, key=lambda o: (-o.working_days_overdue, o.case_id))


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


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("figure_id", CHECKED)
def test_sql_figures_agree_with_the_reference(demo, registry, figure_id, period):
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
