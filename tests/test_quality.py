"""Quality audits: the quarter's random sample, the judgement on each question, figure Q3."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest

from ooc.errors import InvalidForm, OocError
from ooc.figures import Period, compute_figures
from ooc.quality import QUESTIONS, draw_sample, record_audit, sample_size
from tests.support import Walker, make_meeting
from tests.web_support import csrf_token, sign_in

QUARTER = date(2026, 1, 1)
APRIL = datetime(2026, 4, 15, 10, tzinfo=UTC)


@pytest.mark.parametrize(("closed", "sampled"), [(0, 0), (7, 7), (20, 20), (50, 20), (100, 20),
                                                  (101, 21), (400, 80)])
def test_the_sample_is_a_fifth_of_the_closed_cases_and_at_least_20(closed, sampled):
    assert sample_size(closed) == sampled


@pytest.fixture
def closed_cases(session, registry, users):
    walker = Walker(session, registry, users, now=datetime(2026, 1, 5, 9, tzinfo=UTC))
    walker.meeting = make_meeting(session, held_on=date(2026, 1, 6))
    cases = []
    for n in range(3):
        case = walker.create(police_reference=f"QA/{n}", referral_date="2026-01-05",
                             offence_date="2026-01-02")
        walker.to_closed(case)
        cases.append(case)
    return cases


def all_answers(value: str = "sufficient") -> dict[str, str]:
    return {q.code: value for q in QUESTIONS}


def test_a_drawn_sample_is_drawn_once_and_its_audits_feed_q3(session, registry, closed_cases):
    audits = draw_sample(session, first=QUARTER, by="manager", now=APRIL, rng=random.Random(1))
    assert sorted(a.case_id for a in audits) == sorted(c.id for c in closed_cases)
    with pytest.raises(OocError, match="already been drawn"):
        draw_sample(session, first=QUARTER, by="manager", now=APRIL)
    record_audit(session, audit_id=audits[0].id, answers=all_answers(), notes=None,
                 by="manager", now=APRIL)
    record_audit(session, audit_id=audits[1].id,
                 answers={**all_answers(), "planning_desistance": "insufficient"}, notes="Thin.",
                 by="manager", now=APRIL)
    session.commit()
    q3 = compute_figures(session, registry=registry,
                         period=Period.of(date(2026, 4, 1), date(2026, 6, 30)))["Q3"]
    assert (q3.value.numerator, q3.value.denominator) == (1, 2)
    by_question = {r.group["question"]: (r.count.numerator, r.count.denominator)
                   for r in q3.breakdowns["question"]}
    assert by_question["Planning: desistance"] == (1, 2)
    assert by_question["Management oversight"] == (2, 2)


def test_an_audit_needs_every_question_answered(session, closed_cases):
    audit = draw_sample(session, first=QUARTER, by="manager", now=APRIL)[0]
    with pytest.raises(InvalidForm) as refused:
        record_audit(session, audit_id=audit.id, answers={"assessment_desistance": "sufficient"},
                     notes=None, by="manager", now=APRIL)
    assert len(refused.value.problems) == len(QUESTIONS) - 1
    assert audit.audited_at is None


def test_a_quarter_with_no_closed_case_has_nothing_to_sample(session):
    with pytest.raises(OocError, match="nothing to sample"):
        draw_sample(session, first=date(2025, 7, 1), by="manager", now=APRIL)
    with pytest.raises(OocError, match="not the first day of a quarter"):
        draw_sample(session, first=date(2025, 7, 2), by="manager", now=APRIL)


def test_a_manager_draws_and_audits_through_the_pages(client, clock, closed_cases):
    clock[0] = APRIL
    sign_in(client, "senior_practitioner")
    page = client.get("/quality")
    assert "Draw the sample for January to March 2026" in page.text
    drawn = client.post("/quality/2026-01-01/sample", data={"csrf_token": csrf_token(
        client, "/quality")}, follow_redirects=True)
    assert "3 cases drawn" in drawn.text
    audit_id = drawn.context["quarters"][1]["audits"][0][0].id
    form = f"/quality/audits/{audit_id}"
    incomplete = client.post(form, data={"csrf_token": csrf_token(client, form),
                                         "assessment_desistance": "sufficient"})
    assert incomplete.status_code == 422
    assert "There is a problem" in incomplete.text
    assert 'href="#planning_desistance"' in incomplete.text
    saved = client.post(form, data={"csrf_token": csrf_token(client, form), **all_answers()},
                        follow_redirects=True)
    assert f"Audit of case {closed_cases[0].id} recorded." in saved.text
    assert "Audited by Senior Practitioner" in saved.text  # the person's name, not username
