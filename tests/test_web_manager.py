"""The manager's queues: countersignature and sign-off, oldest first, own work shown blocked."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.support import NOW, Walker, assessment
from tests.web_support import sign_in


def section(page: str, heading: str) -> str:
    """The part of the page under `heading`, up to the next h2."""
    start = page.index(heading)
    end = page.find("<h2", start)
    return page[start:end if end != -1 else len(page)]


COUNTERSIGN = "Assessments awaiting countersignature"
SIGN_OFF = "Decisions awaiting sign-off"


def test_the_queues_are_for_managers_only(client):
    signed_out = client.get("/manager", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/sign-in?next=/manager"
    for other in ("case_manager", "chair", "victim_worker"):
        sign_in(client, other)
        response = client.get("/manager")
        assert response.status_code == 403, other
        assert "This page is for manager users." in response.text
    sign_in(client, "manager")
    assert client.get("/manager").status_code == 200


def test_each_queue_lists_its_work_oldest_first_with_due_dates_and_actions(
        client, session, registry, users, clock):
    walker = Walker(session, registry, users)
    later = walker.create(police_reference="TEST/LATER")
    earlier = walker.create(police_reference="TEST/EARLIER")
    decided = walker.create(police_reference="TEST/DECIDED")
    untouched = walker.create(police_reference="TEST/ASSESSING")
    walker.to(decided, "awaiting_signoff")  # decided on Thursday 5 March
    walker.now = NOW
    walker.to(untouched, "assessing")
    walker.to(earlier, "awaiting_countersignature")  # submitted on Tuesday 3 March
    walker.tick()
    walker.to(later, "awaiting_countersignature")  # submitted on Wednesday 4 March
    clock[0] = NOW + timedelta(days=3)  # Thursday 5 March
    sign_in(client, "manager")
    page = client.get("/manager").text
    countersign = section(page, COUNTERSIGN)
    sign_off = section(page, SIGN_OFF)
    assert f"{COUNTERSIGN} (2)" in page and f"{SIGN_OFF} (1)" in page
    assert countersign.index("TEST/EARLIER") < countersign.index("TEST/LATER")
    assert "TEST/DECIDED" not in countersign and "TEST/DECIDED" in sign_off
    assert "TEST/ASSESSING" not in page
    # Who did the work, since when, and when the countersignature is due (5 working days).
    earlier_row = countersign[countersign.index("TEST/EARLIER"):countersign.index("TEST/LATER")]
    assert "Case Manager" in earlier_row
    assert "3 March 2026" in earlier_row and "waiting 2 working days" in earlier_row
    assert "10 March 2026" in earlier_row and "3 working days left" in earlier_row
    for trigger in ("countersign", "return_assessment", "withdraw"):
        assert f'href="/cases/{earlier.id}/actions/{trigger}"' in countersign
    assert "Chair" in sign_off  # the decision's recorder
    assert "12 March 2026" in sign_off and "5 working days left" in sign_off
    for trigger in ("sign_off", "return_decision", "withdraw"):
        assert f'href="/cases/{decided.id}/actions/{trigger}"' in sign_off
    assert "victim" not in sign_off.lower()  # other roles' actions are not listed


def test_overdue_work_is_shown_in_red(client, session, registry, users, clock):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "awaiting_countersignature")  # submitted Tuesday 3 March, due 10 March
    clock[0] = NOW + timedelta(days=9)  # Wednesday 11 March
    sign_in(client, "manager")
    page = client.get("/manager").text
    assert re.search(r'<strong class="govuk-tag govuk-tag--red">\s*overdue by 1 working day\s*<',
                     page)


def test_a_managers_own_work_is_listed_but_blocked_with_the_reason(client, session, registry,
                                                                   users):
    walker = Walker(session, registry, users)
    assessed = walker.create(police_reference="TEST/OWN-ASSESSMENT")
    walker.fire(assessed, "take_case", "senior_practitioner")
    walker.fire(assessed, "submit_assessment", "senior_practitioner", assessment())
    sign_in(client, "senior_practitioner")
    page = client.get("/manager").text
    countersign = section(page, COUNTERSIGN)
    assert "TEST/OWN-ASSESSMENT" in countersign and "Your work" in countersign
    assert "You wrote this assessment, so a different manager must countersign it." in (
        countersign)
    assert f'href="/cases/{assessed.id}/actions/countersign"' not in countersign
    assert f'href="/cases/{assessed.id}/actions/return_assessment"' in countersign
    # Another manager may countersign it.
    sign_in(client, "manager")
    page = client.get("/manager").text
    assert f'href="/cases/{assessed.id}/actions/countersign"' in page
    assert "You wrote this assessment" not in page


def test_a_decision_recorded_by_a_manager_cannot_be_signed_off_by_them(
        client, session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create(police_reference="TEST/OWN-DECISION")
    walker.to(case, "ready_for_panel")
    meeting = walker.quorate_meeting()
    walker.fire(case, "record_decision", "chair_manager",
                {"meeting_id": meeting.id, "outcome": "community_resolution",
                 "rationale": "Proportionate.", "admission": True,
                 "child_views": "Agrees.", "parent_views": "Agrees."})
    sign_in(client, "chair_manager")
    sign_off = section(client.get("/manager").text, SIGN_OFF)
    assert "TEST/OWN-DECISION" in sign_off
    assert "You recorded this decision, so a different manager must sign it off." in sign_off
    assert f'href="/cases/{case.id}/actions/sign_off"' not in sign_off
    assert f'href="/cases/{case.id}/actions/return_decision"' in sign_off


def test_empty_queues_say_so(client):
    sign_in(client, "manager")
    page = client.get("/manager").text
    assert page.count("Nothing is waiting.") == 2
