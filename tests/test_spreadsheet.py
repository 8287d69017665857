"""Exports are data, never formulas: every CSV and XLSX cell ooc writes that a spreadsheet could
take for a formula is written as text (OWASP's CSV injection guidance), numbers stay numbers and
dates are date cells."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from ooc.boardpack_formats import write_csv, write_xlsx
from ooc.cli import app
from ooc.models import PlanNote
from ooc.plan import ActionFields, objective_named, read_rows, save_action
from ooc.settings import PROJECT_ROOT
from ooc.spreadsheet import csv_value, safe_text, unquote, xlsx_cell

runner = CliRunner()
NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
# What a hostile or careless user could type into a plan, and a spreadsheet would run.
PAYLOADS = ['=HYPERLINK("http://example.invalid","x")', "+1", "-2+3", "@SUM(A1)", "\tX", "\rX"]


@pytest.fixture
def hostile_plan(engine, session, monkeypatch):
    """A plan whose every text field of each action is one of the payloads."""
    monkeypatch.setenv("OOC_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    objective = objective_named(session, "=1+1 objective", "@recommendation", NOW)
    for number, payload in enumerate(PAYLOADS):
        action = save_action(session, objective=objective, now=NOW, fields=ActionFields(
            title=f"{payload} {number}", owner=payload, original_due=date(2026, 12, 31),
            revised_due=date(2027, 1, 31) if number == 0 else None))
        # Straight into the table: the forms strip white space, but the export must not rely
        # on every way in doing so.
        session.add(PlanNote(action_id=action.id, at=NOW, author="manager", text=payload))
    session.commit()
    return engine


def texts_typed() -> set[str]:
    # The payloads as saved: save_action strips surrounding white space from the action's owner.
    return ({f"{p} {n}".strip() for n, p in enumerate(PAYLOADS)}
            | set(PAYLOADS)
            | {"=1+1 objective", "@recommendation"})


def assert_text_cells(rows, wanted: set[str]) -> None:
    """Every cell holding one of `wanted` is a text cell with that exact text, not a formula.
    (XML reads a carriage return back as a line feed.)"""
    wanted = {w.replace("\r", "\n") for w in wanted}
    found = set()
    for row in rows:
        for cell in row:
            if isinstance(cell.value, str) and cell.value in wanted:
                assert cell.data_type == "s", (cell.coordinate, cell.value)
                found.add(cell.value)
            assert cell.data_type != "f", (cell.coordinate, cell.value)
    assert found == wanted


def test_plan_export_to_xlsx_writes_typed_text_as_text_and_dates_as_dates(hostile_plan,
                                                                         tmp_path):
    out = tmp_path / "plan.xlsx"
    result = runner.invoke(app, ["plan", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(out).active
    formula_like = {t for t in texts_typed() if t[0] in "=+-@\t\r"}
    assert_text_cells(sheet.iter_rows(min_row=2), formula_like)
    first = [c for c in sheet[2]]
    header = [c.value for c in sheet[1]]
    due = first[header.index("original_due")]
    assert due.is_date and due.value.date() == date(2026, 12, 31)
    assert first[header.index("revised_due")].value.date() == date(2027, 1, 31)


def test_plan_export_to_csv_quotes_every_formula_like_field(hostile_plan, tmp_path):
    out = tmp_path / "plan.csv"
    result = runner.invoke(app, ["plan", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    fields = [f for row in rows[1:] for f in row]
    dangerous = [f for f in fields if f[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == []
    for payload in PAYLOADS:
        assert f"'{payload}" in fields
    assert "2026-12-31" in fields  # dates stay plain dates
    # Standard output too.
    printed = runner.invoke(app, ["plan", "export"]).stdout
    assert "'=HYPERLINK(" in printed and ',=HYPERLINK' not in printed


def test_an_exported_plan_imports_back_as_it_was_typed(hostile_plan, tmp_path):
    out = tmp_path / "plan.csv"
    runner.invoke(app, ["plan", "export", "--out", str(out)])
    rows = read_rows(out)
    assert {r["status"] for r in rows} == {p.replace("\r", "\n") for p in PAYLOADS}
    assert rows[0]["objective"] == "=1+1 objective"


def test_the_board_pack_xlsx_writes_the_plan_as_text(hostile_plan, session, registry,
                                                    tmp_path):
    out = tmp_path / "board.xlsx"
    result = runner.invoke(app, ["report", "board", "--from", "2026-01-01", "--to",
                                 "2026-03-31", "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    plan = book["Improvement plan"]
    formula_like = {t for t in texts_typed() if t[0] in "=+-@\t\r" and t != "@recommendation"}
    assert_text_cells(plan.iter_rows(min_row=2), formula_like)
    assert plan["D2"].is_date and plan["D2"].value.date() == date(2026, 12, 31)
    for sheet in book:
        for row in sheet.iter_rows():
            assert all(c.data_type != "f" for c in row), sheet.title


def test_the_board_pack_csv_quotes_formula_like_labels():
    # The CSV carries the figures' titles and group labels, which come from files admins edit.
    pack = {"figures": [{"id": "T1", "title": "=cmd|' /C calc'!A0", "numerator": -3,
                         "denominator": 10, "percentage": "c", "rag": None,
                         "breakdowns": {"group": [{"group": {"team": "@team"}, "numerator": 1,
                                                   "denominator": 2, "percentage": 50}]}}]}
    rows = list(csv.reader(io.StringIO(write_csv(pack).decode("utf-8-sig"))))
    assert rows[1][1] == "'=cmd|' /C calc'!A0"
    assert rows[1][4] == "-3"  # a negative number is a number, not a formula
    assert rows[2][3] == "'@team"
    sheet = load_workbook(io.BytesIO(write_xlsx({
        **pack, "title": "t", "period": {"from": "a", "to": "b", "as_of": "c"},
        "suppression_threshold": 4, "trends": []})))["Figures"]
    row = next(r for r in sheet.iter_rows(min_row=4) if r[0].value == "T1")
    assert row[1].data_type == "s" and row[1].value == "=cmd|' /C calc'!A0"
    assert row[4].data_type == "n" and row[4].value == -3


@pytest.mark.parametrize("value, written", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tX", "'\tX"), ("\rX", "'\rX"), ("plain", "plain"), ("a=b", "a=b"), (-2, -2),
    (2.5, "2.5"), (None, ""), (date(2026, 3, 2), "2026-03-02"),
])
def test_csv_values(value, written):
    assert csv_value(value) == written


def test_xlsx_cells_keep_numbers_and_dates_and_make_text_text():
    from openpyxl import Workbook

    sheet = Workbook().active
    assert xlsx_cell(sheet, -2).data_type == "n"
    assert xlsx_cell(sheet, "=1+1").data_type == "s"
    assert xlsx_cell(sheet, "#N/A").data_type == "s"  # text, not an error value
    assert xlsx_cell(sheet, date(2026, 3, 2)).is_date
    assert xlsx_cell(sheet, "bell\x07").value == "bell"  # XLSX cannot hold it; no crash


def test_unquote_undoes_safe_text_only():
    for text in [*PAYLOADS, "'quoted", "plain"]:
        assert unquote(safe_text(text)) == text
    assert unquote("'plain") == "'plain"


def test_every_csv_and_xlsx_file_is_written_through_ooc_spreadsheet():
    writers = re.compile(r"csv\.writer|csv\.DictWriter|\bWorkbook\(|openpyxl import Workbook")
    offenders = [str(path.relative_to(PROJECT_ROOT))
                 for folder in ("ooc", "web") for path in Path(PROJECT_ROOT, folder).rglob("*.py")
                 if path.name != "spreadsheet.py" and writers.search(path.read_text())]
    assert offenders == []
