"""`ooc report board`: the same suppressed content in every format, readable by ordinary readers,
and clear refusals of bad periods."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from ooc.cli import app
from ooc.demo import load_demo
from ooc.figures import FIGURE_IDS
from ooc.plan import ActionFields, objective_named, save_action
from tests.conftest import unavailable

runner = CliRunner()
TODAY = date(2026, 6, 30)


@pytest.fixture
def demo(engine, session, registry, monkeypatch):
    monkeypatch.setenv("OOC_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    load_demo(session, registry=registry, cases=60, seed=3, today=TODAY)
    session.commit()
    return engine


def report(tmp_path, fmt: str, *extra: str):
    out = tmp_path / f"board.{fmt}"
    result = runner.invoke(app, ["report", "board", "--from", "2026-01-01", "--to", "2026-06-30",
                                 "--format", fmt, "--out", str(out), *extra])
    assert "Traceback" not in result.output
    return result, out


def test_the_json_pack_gives_every_figure_by_its_metrics_id(demo, tmp_path):
    result, out = report(tmp_path, "json")
    assert result.exit_code == 0, result.output
    pack = json.loads(out.read_text())
    ids = [f["id"] for f in pack["figures"]]
    assert ids == [i for i in FIGURE_IDS if i in ids] and {"T1", "D2", "V4", "O1"} <= set(ids)
    t1 = next(f for f in pack["figures"] if f["id"] == "T1")
    assert set(t1) >= {"numerator", "denominator", "percentage", "rag", "target"}
    assert pack["period"] == {"from": "2026-01-01", "to": "2026-06-30",
                              "as_of": "2026-06-30T23:00:00+00:00"}  # midnight in summer time
    # Suppressed: no count from 1 to 4 anywhere in the pack's figures or breakdowns.
    for figure in pack["figures"]:
        cells = [figure] + [row for rows in figure["breakdowns"].values() for row in rows]
        for cell in cells:
            for key in ("numerator", "denominator"):
                assert not (isinstance(cell[key], int) and 1 <= cell[key] <= 4), (figure["id"],
                                                                                  cell)
    assert len(pack["trends"]) == 4


def test_the_pack_lists_the_plan_ratings_that_changed(demo, session, tmp_path):
    objective = objective_named(session, "Present cases on time", "Recommendation 1",
                                datetime(2026, 1, 5, tzinfo=UTC))
    save_action(session, objective=objective, now=datetime(2026, 1, 5, tzinfo=UTC),
                fields=ActionFields("Weekly panel slots", "Head of service", date(2026, 3, 31)))
    session.commit()
    result, out = report(tmp_path, "json")
    assert result.exit_code == 0, result.output
    changes = json.loads(out.read_text())["plan_changes"]
    # Past its original due date, not complete, no revised date: red (METRICS.md).
    assert [(c["objective"], c["action"], c["to"]) for c in changes][-1] == (
        "Present cases on time", "Weekly panel slots", "red")
    html = report(tmp_path, "html")[1].read_text()
    assert "Improvement plan ratings that changed" in html
    assert "Weekly panel slots (Present cases on time)" in html


def test_csv_and_xlsx_hold_the_same_numbers_as_the_json(demo, tmp_path):
    _, json_out = report(tmp_path, "json")
    figures = {f["id"]: f for f in json.loads(json_out.read_text())["figures"]}
    result, csv_out = report(tmp_path, "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(csv_out.read_text(encoding="utf-8-sig"))))
    t2 = next(r for r in rows if r["figure"] == "T2" and not r["breakdown"])
    assert t2["denominator"] == str(figures["T2"]["denominator"])
    result, xlsx_out = report(tmp_path, "xlsx")
    assert result.exit_code == 0
    book = load_workbook(xlsx_out)
    assert {"Figures", "Trends", "Improvement plan"} <= set(book.sheetnames)
    assert "Overdue" not in book.sheetnames  # the board's pack names no child
    sheet_rows = list(book["Figures"].iter_rows(values_only=True))
    d2 = next(r for r in sheet_rows if r[0] == "D2" and not r[2])
    assert d2[4] == figures["D2"]["numerator"] and d2[6] == figures["D2"]["percentage"]


def test_the_pdf_opens_in_an_ordinary_reader(demo, tmp_path):
    if shutil.which("pdftotext") is None:
        unavailable("pdftotext (Debian's poppler-utils) is not installed")
    result, out = report(tmp_path, "pdf")
    assert result.exit_code == 0
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "Out-of-court disposals: board report" in text
    assert "Assessment on time" in text and "Trends by quarter" in text


def test_the_html_pack_has_charts_with_their_data_tables(demo, tmp_path):
    result, out = report(tmp_path, "html")
    assert result.exit_code == 0
    html = out.read_text()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') >= 4
    assert "T1 Assessment on time by quarter</caption>" in html


@pytest.mark.parametrize("args, message", [
    (["--from", "2026-06-30", "--to", "2026-01-01"], "after it ends"),
    (["--from", "31/01/2026", "--to", "2026-06-30"], "--from '31/01/2026' is not a date"),
    (["--from", "2026-01-01", "--to", "2026-06-30", "--format", "docx"], "not one of html"),
])
def test_bad_periods_and_formats_are_refused_and_write_nothing(demo, tmp_path, args, message):
    out = tmp_path / "never.html"
    result = runner.invoke(app, ["report", "board", *args, "--out", str(out)])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()
