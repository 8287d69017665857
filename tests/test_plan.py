"""The improvement plan: RAG ratings by METRICS.md's rule or from a linked figure, the history
of changes, and import/export from CSV and XLSX (all rows or none)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from openpyxl import Workbook
from sqlmodel import select
from typer.testing import CliRunner

from ooc.cli import app
from ooc.figures import FiguresConfig
from ooc.models import PlanAction, PlanRagChange
from ooc.plan import (
    ActionFields,
    PlanFileError,
    export_rows,
    import_plan,
    rating,
    read_rows,
    refresh_ratings,
)
from tests.conftest import WORKFLOWS
from tests.support import Walker, assessment

NOW = datetime(2026, 7, 1, 9, tzinfo=UTC)
TODAY = NOW.date()
runner = CliRunner()


def action(**fields) -> PlanAction:
    values = {"objective_id": 1, "title": "Weekly panel tracker", "owner": "Head of service",
              "original_due": date(2026, 6, 30), "created_at": NOW, "rag": "amber"}
    return PlanAction(**{**values, **fields})


@pytest.mark.parametrize(("fields", "expected"), [
    ({"completed_on": date(2026, 6, 1)}, "green"),
    ({}, "red"),                                              # past its original due date
    ({"revised_due": date(2026, 9, 30)}, "amber"),            # revised, not yet due
    ({"revised_due": date(2026, 6, 30)}, "red"),              # past the revised date too
    ({"original_due": date(2026, 7, 1)}, "amber"),            # due today: not yet past
    ({"manual_rag": "green"}, "green"),                        # set by hand
])
def test_unlinked_actions_follow_the_rule_of_metrics_md(fields, expected):
    assert rating(action(**fields), TODAY, None)[0] == expected


@pytest.mark.parametrize(("percentage", "expected"), [(90, "green"), (89, "amber"),
                                                      (75, "amber"), (74, "red"),
                                                      (None, "amber")])
def test_linked_actions_are_rated_from_their_figure(percentage, expected):
    linked = action(figure_id="T2", green=90, amber=75, completed_on=date(2026, 1, 1))
    assert rating(linked, TODAY, percentage)[0] == expected


ROWS = [
    {"objective": "Present cases to panel on time", "recommendation": "Inspection 2026 rec 1",
     "action": "Track T2 weekly", "owner": "Panel chair", "original_due": "2026-06-30",
     "figure": "T2", "green": "90", "amber": "75", "status": "Tracker live"},
    {"objective": "Present cases to panel on time", "action": "Second weekly panel",
     "owner": "Head of service", "original_due": "2026-05-31", "revised_due": "2026-09-30",
     "status": "Room booked from September"},
]


def test_import_rates_the_actions_and_keeps_each_change(session, registry, users):
    walker = Walker(session, registry, users, now=datetime(2026, 4, 6, 9, tzinfo=UTC))
    case = walker.create(referral_date="2026-04-06", offence_date="2026-04-01")
    walker.fire(case, "take_case", "case_manager")
    walker.fire(case, "submit_assessment", "case_manager", assessment())
    assert import_plan(session, ROWS, author="manager", now=NOW) == 2
    config = FiguresConfig.load(WORKFLOWS)
    refresh_ratings(session, registry=registry, config=config, now=NOW)
    actions = {a.title: a for a in session.exec(select(PlanAction))}
    # T2 in April-June 2026: one case, its decision due 27 April and never made: 0%.
    assert actions["Track T2 weekly"].rag == "red"
    assert actions["Second weekly panel"].rag == "amber"
    later = datetime(2026, 10, 1, 9, tzinfo=UTC)  # past the revised date
    changes = refresh_ratings(session, registry=registry, config=config, now=later)
    # The revised date has passed; and July-September has no T2 figure at all (no case was
    # referred), so the linked action can only be amber.
    by_id = {a.id: title for title, a in actions.items()}
    assert {by_id[c.action_id]: (c.from_rag, c.to_rag, c.reason) for c in changes} == {
        "Second weekly panel": ("amber", "red", "past its revised due date (30 September 2026)"),
        "Track T2 weekly": ("red", "amber", "T2 has no figure for the latest quarter")}
    history = session.exec(select(PlanRagChange).where(
        PlanRagChange.action_id == actions["Second weekly panel"].id)).all()
    assert [(c.to_rag, c.at.date()) for c in history] == [("amber", TODAY),
                                                          ("red", later.date())]
    exported = export_rows(session)
    assert exported[1]["status"] == "Room booked from September"
    assert exported[0]["figure"] == "T2" and exported[0]["green"] == 90  # a number


def test_a_file_with_bad_rows_lists_each_and_imports_nothing(session):
    bad = [dict(ROWS[0], figure="T9"), dict(ROWS[1], original_due="31/05/2026"),
           {"objective": "", "action": "x", "owner": "", "original_due": ""}]
    with pytest.raises(PlanFileError) as refused:
        import_plan(session, [ROWS[0], *bad], author="manager", now=NOW)
    reasons = refused.value.reasons
    assert len(reasons) == 3
    assert reasons[0].startswith("Row 3: there is no figure 'T9'")
    assert "the original due date '31/05/2026' is not a date" in reasons[1]
    assert "missing" not in reasons[1]
    assert "the objective is missing" in reasons[2] and "the owner is missing" in reasons[2]
    assert session.exec(select(PlanAction)).all() == []


def test_plan_import_and_export_on_the_command_line_with_xlsx(engine, session, tmp_path,
                                                              monkeypatch):
    monkeypatch.setenv("OOC_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    book = Workbook()
    columns = ["objective", "recommendation", "action", "owner", "original_due", "revised_due",
               "status"]
    book.active.append(columns)
    book.active.append(["Victims told on time", "Rec 4", "Weekly victim list", "Victim lead",
                        date(2026, 12, 31), None, "Started"])
    book.save(tmp_path / "plan.xlsx")
    result = runner.invoke(app, ["plan", "import", str(tmp_path / "plan.xlsx")])
    assert result.exit_code == 0, result.output
    assert "Imported 1 action" in result.output
    exported = runner.invoke(app, ["plan", "export"])
    assert "Victims told on time,Rec 4,Weekly victim list,Victim lead,2026-12-31" \
        in exported.output
    (tmp_path / "bad.csv").write_text("objective,action\nX,Y\n")
    refused = runner.invoke(app, ["plan", "import", str(tmp_path / "bad.csv")])
    assert refused.exit_code == 1
    assert "has no column owner, original_due" in refused.output


def test_rows_are_read_from_csv_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "plan.csv"
    path.write_text("\ufeffObjective,Action,Owner,Original_due\nA,B,C,2026-01-31\n,,,\n",
                    encoding="utf-8")
    assert read_rows(path) == [{"objective": "A", "action": "B", "owner": "C",
                                "original_due": "2026-01-31"}]


def test_a_linked_action_needs_both_thresholds():
    fields = ActionFields(title="t", owner="o", original_due=TODAY, figure_id="T1", green=90)
    assert fields.problems() == ["a linked figure needs both a green and an amber threshold"]
