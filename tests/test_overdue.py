"""One case with an overdue milestone: every page, the command line, the board's dashboard and
figure T6 in the board pack say it is overdue, and by the same number of working days.

The one rule (ooc.deadlines, METRICS.md): a milestone is overdue once its due date has passed
(done that day it would be late), and it is overdue by the working days after the due date up
to and including today, so by none on the weekend straight after a Friday due date.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from typer.testing import CliRunner

from ooc.cli import app
from tests.support import Walker, assessment
from tests.web_support import sign_in

DUE = date(2026, 3, 13)  # the countersignature: 5 working days after Friday 6 March


@pytest.fixture
def late_countersignature(session, registry, users):
    """Referred Monday 2 March, assessment submitted Friday 6 March and never countersigned."""
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.fire(case, "take_case", "case_manager")
    walker.now = datetime(2026, 3, 6, 10, tzinfo=UTC)
    walker.fire(case, "submit_assessment", "case_manager", assessment())
    return case


def everywhere(client, engine, monkeypatch, case, now) -> dict[str, tuple[int, list[int]]]:
    """Where each place says the case is: (overdue milestones, their working days overdue)."""
    seen = {}
    sign_in(client, "case_manager")
    row = next(r for r in client.get("/caseload").context["rows"] if r["case"].id == case.id)
    nxt = row["next"]
    seen["caseload"] = (int(nxt.overdue), [nxt.working_days_overdue] if nxt.overdue else [])
    page = [d for d in client.get(f"/cases/{case.id}").context["deadlines"] if d.overdue]
    seen["case page"] = (len(page), [d.working_days_overdue for d in page])

    sign_in(client, "manager")
    queues = {q["queue"].key: q["rows"] for q in client.get("/manager").context["queues"]}
    waiting = queues["countersignature"][0]["deadline"]
    seen["manager queue"] = (int(waiting.overdue),
                             [waiting.working_days_overdue] if waiting.overdue else [])

    monkeypatch.setenv("OOC_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    listed = CliRunner().invoke(app, ["deadlines", "--overdue", "--now", now.isoformat()])
    assert listed.exit_code == 0, listed.output
    lines = [line for line in listed.output.splitlines() if f"case {case.id} " in line]
    count = int(re.search(r"(\d+) open deadlines?\.", listed.output).group(1))
    seen["ooc deadlines --overdue"] = (count, [
        int(m.group(1)) if (m := re.search(r"overdue by (\d+) working day", line)) else 0
        for line in lines])

    sign_in(client, "board")
    board = client.get("/board").context["workflows"][0]
    seen["board dashboard"] = (board["cases_overdue"], [])
    shown = {row.name: row.deadlines for row in board["overdue"]}
    assert shown["countersignature"] == board["cases_overdue"]
    # The board's pack and pages name no child: T6's list of cases is the managers' to open.
    pack = client.get("/board/pack?format=json").json()
    assert "overdue" not in next(f for f in pack["figures"] if f["id"] == "T6")
    client.cookies.clear()
    sign_in(client, "manager")
    t6 = client.get("/board/figures/T6/cases").context["figure"]
    seen["T6 cases for managers"] = (len(t6.overdue),
                                     [o.working_days_overdue for o in t6.overdue])
    return seen


@pytest.mark.parametrize(("now", "days"), [
    (datetime(2026, 3, 13, 12, tzinfo=UTC), None),  # Friday 13 March: due today
    (datetime(2026, 3, 14, 12, tzinfo=UTC), 0),  # Saturday: overdue, no working day yet
    (datetime(2026, 3, 16, 12, tzinfo=UTC), 1),  # Monday 16 March
    (datetime(2026, 3, 18, 12, tzinfo=UTC), 3),  # Wednesday
], ids=["due-today", "saturday", "monday", "wednesday"])
def test_every_place_counts_the_overdue_milestone_the_same_way(
        client, engine, session, clock, monkeypatch, late_countersignature, now, days):
    clock[0] = now
    seen = everywhere(client, engine, monkeypatch, late_countersignature, now)
    expected = (0, []) if days is None else (1, [days])
    dashboard = 0 if days is None else 1
    assert seen == {**dict.fromkeys(seen, expected), "board dashboard": (dashboard, [])}


def test_a_milestone_overdue_with_no_working_day_past_says_so(session, registry, users,
                                                              late_countersignature):
    from ooc.deadlines import list_open_deadlines

    saturday = datetime(2026, 3, 14, 12, tzinfo=UTC)
    status = next(d for d in list_open_deadlines(session, registry=registry, now=saturday)
                  if d.name == "countersignature")
    assert (status.due_on, status.overdue, status.working_days_overdue) == (DUE, True, 0)
    assert status.describe() == "overdue: it was due on Friday 13 March"
