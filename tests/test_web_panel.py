"""The panel chair's pages: meetings, recording a meeting with its quorum, and the agenda."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from ooc.errors import InvalidForm
from ooc.models import PanelMeeting, QuorumRule
from tests.support import NOW, Walker, decision, make_meeting
from tests.web_support import sign_in

QUORATE = ["police", "yjs", "health", "education"]
ONE_OTHER = ["police", "yjs", "health"]
QUORUM_JS = Path(__file__).resolve().parent.parent / "web" / "static_src" / "quorum.js"


def meeting_form(token: str, day: str = "2", month: str = "3", year: str = "2026",
                 agencies: tuple[str, ...] = tuple(QUORATE)) -> dict:
    return {"csrf_token": token, "held_on-day": day, "held_on-month": month,
            "held_on-year": year, "agencies": list(agencies)}


def meeting_count(session) -> int:
    return len(session.exec(select(PanelMeeting)).all())


def test_panel_pages_are_for_panel_chairs_only(client, session):
    make_meeting(session)
    session.commit()
    paths = ["/panel", "/panel/meetings/new", "/panel/meetings/1"]
    for path in paths:
        signed_out = client.get(path, follow_redirects=False)
        assert signed_out.status_code == 303
        assert signed_out.headers["location"] == f"/sign-in?next={path}"
    for other in ("manager", "case_manager", "victim_worker"):
        sign_in(client, other)
        for path in paths:
            assert client.get(path).status_code == 403, (other, path)
    sign_in(client, "chair")
    for path in paths:
        assert client.get(path).status_code == 200, path


def test_only_a_panel_chair_can_record_a_meeting(client, session):
    token = sign_in(client, "manager")
    response = client.post("/panel/meetings/new", data=meeting_form(token))
    assert response.status_code == 403
    assert meeting_count(session) == 0


def test_meetings_are_listed_newest_first_with_chair_agencies_and_quorum(client, session):
    make_meeting(session, held_on=date(2026, 2, 17), agencies=ONE_OTHER)
    make_meeting(session, held_on=date(2026, 2, 24), agencies=QUORATE)
    session.commit()
    sign_in(client, "chair")
    page = client.get("/panel").text
    assert page.index("Tuesday 24 February 2026") < page.index("Tuesday 17 February 2026")
    newest, oldest = page.split("Tuesday 17 February 2026")
    assert "Police, Youth justice service, Health, Education" in newest
    assert "Quorate" in newest and "Not quorate" not in newest
    assert "Not quorate" in oldest
    assert "It needs at least 2 other agencies and had 1." in oldest
    assert "<td class=\"govuk-table__cell\">Chair</td>" in page  # the chair's display name
    assert 'href="/panel/meetings/new"' in page


def test_long_lists_of_meetings_come_in_pages(client, session):
    first = date(2025, 9, 2)
    for week in range(30):
        make_meeting(session, held_on=first + timedelta(weeks=week))
    session.commit()
    sign_in(client, "chair")
    page_one = client.get("/panel").text
    assert len(re.findall(r'href="/panel/meetings/\d+"', page_one)) == 25
    assert "Tuesday 24 March 2026" in page_one  # the newest
    assert 'href="/panel?page=2"' in page_one
    page_two = client.get("/panel?page=2").text
    assert len(re.findall(r'href="/panel/meetings/\d+"', page_two)) == 5
    assert "Tuesday 2 September 2025" in page_two  # the oldest
    assert "Tuesday 24 March 2026" not in page_two


def test_the_new_meeting_form_carries_the_quorum_rule_for_the_live_indicator(client):
    sign_in(client, "chair")
    page = client.get("/panel/meetings/new").text
    indicator = re.search(r'<div class="govuk-inset-text" id="quorum-indicator"[^>]*>', page)
    assert indicator, "no quorum indicator"
    assert 'data-quorum-required="police yjs"' in indicator.group(0)
    assert 'data-quorum-minimum-others="2"' in indicator.group(0)
    assert 'id="quorum-status" aria-live="polite"' in page
    # Without JavaScript the page says when the result shows.
    assert "You will see whether the meeting is quorate when you save it." in page
    assert '<script type="module" src="/static/quorum.js"></script>' in page
    for code in ("police", "yjs", "childrens_social_care", "health", "education",
                 "victim_service", "probation", "community_safety"):
        assert f'name="agencies" type="checkbox" value="{code}"' in page
    assert ("Police and Youth justice service must attend, and at least 2 of the 6 other "
            "agencies. Select all that apply.") in page


@pytest.mark.parametrize(("form", "message", "href"), [
    ({"day": "", "month": "", "year": ""}, "Enter the date of the meeting", "#held_on-day"),
    ({"day": "2", "month": "", "year": "2026"}, "Date of the meeting must include a month",
     "#held_on-month"),
    ({"day": "30", "month": "2", "year": "2026"}, "Date of the meeting must be a real date",
     "#held_on-day"),
    ({"day": "2", "month": "3", "year": "26"}, "Year must include 4 numbers", "#held_on-year"),
    ({"day": "3", "month": "3", "year": "2026"},
     "Date of the meeting must be today or in the past", "#held_on-day"),
])
def test_a_meeting_date_must_be_a_real_date_not_in_the_future(client, session, form, message,
                                                               href):
    token = sign_in(client, "chair")
    response = client.post("/panel/meetings/new", data=meeting_form(token, **form))
    assert response.status_code == 422
    assert "There is a problem" in response.text
    assert f'<a href="{href}">{message}</a>' in response.text
    assert f"Error:</span> {message}" in response.text  # the message by the field as well
    assert meeting_count(session) == 0


def test_a_meeting_needs_at_least_one_agency_and_keeps_what_was_typed(client, session):
    token = sign_in(client, "chair")
    response = client.post("/panel/meetings/new", data=meeting_form(token, agencies=()))
    assert response.status_code == 422
    assert '<a href="#agencies">Select the agencies that were present at the meeting</a>' in (
        response.text)
    assert 'name="held_on-day" type="text" value="2"' in response.text
    assert meeting_count(session) == 0


def test_after_an_error_the_ticked_agencies_and_their_quorum_show_without_javascript(client):
    token = sign_in(client, "chair")
    response = client.post("/panel/meetings/new",
                           data=meeting_form(token, day="", agencies=("police", "health")))
    assert response.status_code == 422
    assert 'value="police" checked' in response.text
    assert 'value="yjs">' in response.text  # not ticked
    assert ("The meeting is not quorate: Youth justice service did not attend; it needs at "
            "least 2 other agencies and had 1.") in response.text


def test_a_good_meeting_is_saved_and_the_result_shows_after_saving(client, session):
    token = sign_in(client, "chair")
    response = client.post("/panel/meetings/new",
                           data=meeting_form(token, day="27", month="2", agencies=ONE_OTHER),
                           follow_redirects=False)
    assert response.status_code == 303
    meeting = session.exec(select(PanelMeeting)).one()
    assert response.headers["location"] == f"/panel/meetings/{meeting.id}"
    assert (meeting.held_on, meeting.chair) == (date(2026, 2, 27), "chair")
    assert meeting.agencies_present == ["police", "yjs", "health"]
    page = client.get(response.headers["location"]).text
    assert "Panel meeting on 27 February 2026 recorded." in page
    assert "govuk-warning-text" in page
    assert ("The meeting is not quorate: it needs at least 2 other agencies and had 1. The panel "
            "cannot record decisions at this meeting.") in page


def test_the_same_meeting_sent_twice_is_recorded_once(client, session):
    token = sign_in(client, "chair")
    form = meeting_form(token)
    first = client.post("/panel/meetings/new", data=form, follow_redirects=False)
    second = client.post("/panel/meetings/new", data=form, follow_redirects=False)
    assert first.headers["location"] == second.headers["location"]
    assert meeting_count(session) == 1


def test_the_agenda_lists_cases_ready_for_panel_oldest_referral_first(client, session, registry,
                                                                       users, clock):
    walker = Walker(session, registry, users)
    newer = walker.create(police_reference="TEST/NEWER", given_name="Newer",
                          referral_date="2026-03-02")
    older = walker.create(police_reference="TEST/OLDER", given_name="Older",
                          referral_date="2026-02-23", gravity_score=3)
    elsewhere = walker.create(police_reference="TEST/ASSESSING")
    for case in (newer, older):
        walker.to(case, "ready_for_panel")
    walker.to(elsewhere, "assessing")
    clock[0] = walker.now  # Monday 9 March: both were countersigned the week before
    meeting = make_meeting(session, walker.now.date())
    session.commit()
    sign_in(client, "chair")
    page = client.get(f"/panel/meetings/{meeting.id}").text
    assert page.index("TEST/OLDER") < page.index("TEST/NEWER")
    assert "TEST/ASSESSING" not in page
    assert "govuk-warning-text" not in page
    older_row = page[page.index("TEST/OLDER"):page.index("TEST/NEWER")]
    assert "Youth caution" in older_row  # gravity 3
    assert "Community resolution or Outcome 22" in page[page.index("TEST/NEWER"):]
    for case in (older, newer):
        link = f"/cases/{case.id}/actions/record_decision?meeting_id={meeting.id}"
        assert f'href="{link}"' in page
    # The link opens the decision form with this meeting chosen.
    form = client.get(f"/cases/{older.id}/actions/record_decision?meeting_id={meeting.id}")
    assert form.status_code == 200
    assert f'<option value="{meeting.id}" selected>' in form.text


def test_an_older_meeting_chosen_from_its_agenda_is_offered_on_the_decision_form(
        client, session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "ready_for_panel")
    oldest = make_meeting(session, held_on=date(2025, 11, 4))
    for week in range(1, 14):  # more recent meetings than the form lists by default
        make_meeting(session, held_on=date(2025, 11, 4) + timedelta(weeks=week))
    session.commit()
    sign_in(client, "chair")
    form = client.get(f"/cases/{case.id}/actions/record_decision?meeting_id={oldest.id}").text
    assert f'<option value="{oldest.id}" selected>Tuesday 4 November 2025' in form


def test_a_meeting_that_is_not_quorate_says_so_and_offers_no_decisions(client, session, registry,
                                                                       users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "ready_for_panel")
    meeting = make_meeting(session, agencies=["yjs", "health", "education"])
    session.commit()
    sign_in(client, "chair")
    page = client.get(f"/panel/meetings/{meeting.id}").text
    assert "govuk-warning-text" in page
    assert "The meeting is not quorate: Police did not attend." in page
    assert "TEST/0001" in page  # the agenda is still shown
    assert "record_decision" not in page


def test_the_pages_follow_the_quorum_rule_an_administrator_set(client, session, users):
    """The engine applies the administrator's rule, so the pages must say what it will do."""
    session.add(QuorumRule(workflow_name="oocd", agencies=[
        {"code": "police", "label": "Police"}, {"code": "yjs", "label": "Youth justice service"},
        {"code": "health", "label": "Health"}, {"code": "education", "label": "Education"},
        {"code": "housing", "label": "Housing"}], required=["police", "yjs"], minimum_others=3,
        updated_at=NOW, updated_by="admin"))
    meeting = make_meeting(session, agencies=QUORATE)  # quorate under the workflow file's rule
    session.commit()
    sign_in(client, "chair")
    assert ("The meeting is not quorate: it needs at least 3 other agencies and had 2."
            in client.get(f"/panel/meetings/{meeting.id}").text)
    form = client.get("/panel/meetings/new").text
    assert 'data-quorum-minimum-others="3"' in form
    assert 'value="housing"' in form and 'value="probation"' not in form


def test_a_meeting_keeps_the_quorum_it_had_when_recorded(client, session, users):
    """Changing the rule later does not rewrite history: the page says what the decision guard
    and figure D5 go by."""
    quorate = make_meeting(session, agencies=QUORATE)
    short = make_meeting(session, held_on=date(2026, 2, 24), agencies=ONE_OTHER)
    session.add(QuorumRule(workflow_name="oocd", agencies=[
        {"code": "police", "label": "Police"}, {"code": "yjs", "label": "Youth justice service"},
        {"code": "health", "label": "Health"}, {"code": "education", "label": "Education"}],
        required=["police", "yjs"], minimum_others=1, updated_at=NOW + timedelta(minutes=1),
        updated_by="admin"))
    session.commit()
    sign_in(client, "chair")
    short_page = client.get(f"/panel/meetings/{short.id}")
    assert short_page.context["status"].quorate is False
    assert ("The meeting is not quorate: it needs at least 2 other agencies and had 1."
            in short_page.text)
    # A stricter rule later on still leaves the quorate meeting quorate.
    session.add(QuorumRule(workflow_name="oocd", agencies=[
        {"code": "police", "label": "Police"}, {"code": "yjs", "label": "Youth justice service"},
        {"code": "health", "label": "Health"}, {"code": "education", "label": "Education"}],
        required=["police", "yjs"], minimum_others=3, updated_at=NOW + timedelta(minutes=2),
        updated_by="admin"))
    session.commit()
    page = client.get(f"/panel/meetings/{quorate.id}")
    assert page.context["status"].quorate is True
    assert "govuk-warning-text" not in page.text
    listed = {row["meeting"].id: row["quorum"].quorate
              for row in client.get("/panel").context["rows"]}
    assert listed == {quorate.id: True, short.id: False}


def test_a_meeting_lists_the_cases_decided_and_deferred_at_it(client, session, registry, users,
                                                              clock):
    walker = Walker(session, registry, users)
    decided = walker.create(police_reference="TEST/DECIDED", given_name="Decided")
    deferred = walker.create(police_reference="TEST/DEFERRED", given_name="Deferred")
    elsewhere = walker.create(police_reference="TEST/ELSEWHERE", given_name="Elsewhere")
    for case in (decided, deferred, elsewhere):
        walker.to(case, "ready_for_panel")
    meeting = walker.quorate_meeting()
    walker.fire(decided, "record_decision", "chair", decision(meeting.id))
    walker.fire(deferred, "defer", "chair", {"meeting_id": meeting.id},
                reason="The school's report is not in yet.",
                reason_code="more_information_needed")
    walker.tick()
    walker.fire(elsewhere, "record_decision", "chair", decision(walker.quorate_meeting().id))
    clock[0] = walker.now
    sign_in(client, "chair")
    page = client.get(f"/panel/meetings/{meeting.id}")
    assert [(i.case_id, i.result, i.reason) for i in page.context["done"]] == [
        (decided.id, "Community resolution", None),
        (deferred.id, "Deferred", "The school's report is not in yet.")]
    done = page.text[page.text.index("Decided or deferred at this meeting"):]
    assert f'<a class="govuk-link" href="/cases/{decided.id}">Decided Example</a>' in done
    assert f'<a class="govuk-link" href="/cases/{deferred.id}">Deferred Example</a>' in done
    assert "The school&#39;s report is not in yet." in done
    assert "TEST/ELSEWHERE" not in done
    # A meeting where nothing has been decided yet says so.
    empty = client.get(f"/panel/meetings/{walker.quorate_meeting().id}").text
    assert "No case has been decided or deferred at this meeting yet." not in empty
    nothing = make_meeting(session, walker.now.date(), agencies=ONE_OTHER)
    session.commit()
    assert ("No case has been decided or deferred at this meeting yet."
            in client.get(f"/panel/meetings/{nothing.id}").text)


def test_a_deferral_names_its_meeting(client, session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "ready_for_panel")
    with pytest.raises(InvalidForm) as refused:
        walker.fire(case, "defer", "chair", reason="Awaiting the police summary.",
                    reason_code="awaiting_police_information")
    assert refused.value.reasons == ["Choose panel meeting."]


def test_the_agenda_is_offered_for_five_working_days_after_the_meeting(client, session,
                                                                        registry, users, clock):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "ready_for_panel")  # countersigned on Wednesday 4 March
    meeting = make_meeting(session, date(2026, 3, 4))
    session.commit()
    sign_in(client, "chair")
    link = f"/cases/{case.id}/actions/record_decision?meeting_id={meeting.id}"
    clock[0] = NOW.replace(day=11)  # Wednesday 11 March: 5 working days after
    page = client.get(f"/panel/meetings/{meeting.id}")
    assert page.context["agenda_offered"] and f'href="{link}"' in page.text
    clock[0] = NOW.replace(day=12)  # 6 working days after
    page = client.get(f"/panel/meetings/{meeting.id}")
    assert not page.context["agenda_offered"]
    assert "TEST/0001" not in page.text and "record_decision" not in page.text
    assert ("No agenda is offered for this meeting: it was held more than 5 working days ago"
            in page.text)


def test_the_agenda_says_why_a_case_cannot_be_decided_at_this_meeting(client, session,
                                                                      registry, users, clock):
    walker = Walker(session, registry, users)
    meeting = make_meeting(session, date(2026, 3, 3))
    case = walker.create()
    walker.to(case, "ready_for_panel")  # countersigned on Wednesday 4 March, after the meeting
    clock[0] = walker.now
    sign_in(client, "chair")
    page = client.get(f"/panel/meetings/{meeting.id}")
    assert "record_decision" not in page.text
    assert page.context["agenda"][0]["blocked"] == [
        "The panel meeting on 03 March 2026 was held before the assessment was countersigned "
        "on 04 March 2026, so it cannot have considered this case. Choose a meeting held on or "
        "after 04 March 2026."]


def test_an_unknown_meeting_is_a_404_page(client):
    sign_in(client, "chair")
    response = client.get("/panel/meetings/999")
    assert response.status_code == 404
    assert "There is no panel meeting 999." in response.text


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the script needs no database
def test_the_live_quorum_indicator_follows_the_ticked_boxes(client):
    """The real script in headless Chromium, on the page the application renders."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import expect, sync_playwright

    sign_in(client, "chair")
    html = client.get("/panel/meetings/new").text
    script = QUORUM_JS.read_text()

    def serve(route):
        url = route.request.url
        if url.endswith("/static/quorum.js"):
            route.fulfill(body=script, content_type="text/javascript")
        elif url == "http://ooc.test/panel/meetings/new":
            route.fulfill(body=html, content_type="text/html")
        else:
            route.fulfill(status=404, body="")

    def drive() -> None:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=["--no-sandbox"])
            try:
                page = browser.new_page()
                page.route("**/*", serve)
                page.goto("http://ooc.test/panel/meetings/new")
                status = page.locator("#quorum-status")
                expect(status).to_have_attribute("aria-live", "polite")
                expect(status).to_have_text(
                    "Tick the agencies present to see whether the meeting is quorate.")
                page.get_by_label("Police", exact=True).check()
                page.get_by_label("Health", exact=True).check()
                expect(status).to_have_text(
                    "Not quorate The meeting is not quorate: Youth justice service did not attend; "
                    "it needs at least 2 other agencies and had 1.")
                page.get_by_label("Youth justice service", exact=True).check()
                page.get_by_label("Education", exact=True).check()
                expect(status).to_have_text("Quorate The meeting is quorate.")
                page.get_by_label("Police", exact=True).uncheck()
                expect(status).to_contain_text("Police did not attend.")
            finally:
                browser.close()

    # In a thread of its own: the end-to-end tests keep Playwright's event loop running in this
    # one for the whole session, and the sync API refuses to start inside a running loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(drive).result()
