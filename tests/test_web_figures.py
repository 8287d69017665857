"""The board figures page, the board pack download and the cases behind a figure."""

from __future__ import annotations

import json

import pytest

from tests.support import NOW, Walker, assessment
from tests.web_support import sign_in


@pytest.fixture
def history(session, registry, users):
    """Two cases referred on Monday 2 March 2026: one assessed on time, one never."""
    walker = Walker(session, registry, users)
    on_time = walker.create(police_reference="FIG/1", given_name="Hidden", family_name="Name")
    walker.to_assessing(on_time)
    walker.fire(on_time, "submit_assessment", "case_manager", assessment())
    never = walker.create(police_reference="FIG/2")
    return on_time, never


@pytest.fixture
def later(clock):
    clock[0] = NOW.replace(month=6, day=30)  # the assessment of FIG/2 is long overdue


def test_the_board_sees_suppressed_figures_and_no_names(client, history, later):
    sign_in(client, "board")
    page = client.get("/board/figures?period=2026-q1")
    assert page.status_code == 200
    t1 = next(f for f in page.context["pack"]["figures"] if f["id"] == "T1")
    assert (t1["numerator"], t1["denominator"], t1["percentage"]) == ("c", "c", "c")
    assert "Hidden" not in page.text and "FIG/1" not in page.text
    assert page.context["can_open_cases"] is False
    assert 'href="/board/pack?period=2026-q1&amp;format=pdf"' in page.text


def test_a_manager_opens_the_cases_behind_a_figure(client, history, later):
    sign_in(client, "manager")
    page = client.get("/board/figures/T1/cases?period=2026-q1")
    assert page.status_code == 200
    rows = {row["case"].police_reference: row["counted"] for row in page.context["rows"]}
    assert rows == {"FIG/1": True, "FIG/2": False}
    assert "Hidden" not in page.text  # references, not names


def test_the_board_pack_downloads_in_each_format(client, history, later):
    sign_in(client, "board")
    pack = client.get("/board/pack?period=2026-q1&format=json")
    assert pack.status_code == 200
    assert "attachment" in pack.headers["content-disposition"]
    assert [f["id"] for f in pack.json()["figures"]][:3] == ["T1", "T2", "T3"]
    pdf = client.get("/board/pack?period=2026-q1&format=pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"
    assert json.loads(client.get("/board/pack?period=2026-q1&format=json").text)["suppressed"]


@pytest.mark.parametrize("path", ["/board/figures?period=1999-q9", "/board/pack?format=docx",
                                  "/board/figures/T99/cases"])
def test_unknown_periods_formats_and_figures_are_a_proper_404(client, history, path):
    sign_in(client, "manager")
    page = client.get(path)
    assert page.status_code == 404
    assert "Traceback" not in page.text
