"""The record where it is judged: the case page shows everything recorded, and every page where
someone decides shows them the work they are deciding on, including returned work."""

from __future__ import annotations

from sqlmodel import select

from ooc.models import AccessLog
from ooc.quality import draw_sample
from tests.support import NOW, Walker, assessment, completion, decision
from tests.web_support import sign_in

# Distinctive texts typed into the work, looked for on the pages that judge it.
DESISTANCE = "Zebra-crossing mentor sessions every Tuesday"
REASONS = "Quokka reasons: first offence, full admission"
RATIONALE = "Narwhal rationale: proportionate and agreed by all"
VICTIM_VIEWS = "Pangolin views: would like a letter of apology"
COMMENTS = "Axolotl comments: say more about school"


def _case_with_work(session, registry, users, until: str):
    """A case with a victim, carried to `until` with the distinctive texts typed into it."""
    walker = Walker(session, registry, users)
    case = walker.create(has_victim=True)
    walker.to(case, "assessing")
    walker.fire(case, "submit_assessment", "case_manager",
                assessment(desistance=DESISTANCE, proposed_outcome_reasons=REASONS))
    if until == "awaiting_countersignature":
        return walker, case
    walker.fire(case, "countersign", "manager")
    walker.fire(case, "record_victim_views", "victim_worker", {"views": VICTIM_VIEWS})
    if until == "ready_for_panel":
        return walker, case
    walker.fire(case, "record_decision", "chair",
                decision(walker.quorate_meeting().id, rationale=RATIONALE))
    return walker, case


def test_the_case_page_shows_the_whole_record_by_stage(client, session, registry, users):
    _, case = _case_with_work(session, registry, users, "awaiting_signoff")
    sign_in(client, "case_manager")
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200
    shown = [s.label for s in page.context["record"].recorded]
    assert shown == ["Referral", "Assessment", "Panel decision",
                     "Victim and restorative justice"]
    for text in (DESISTANCE, REASONS, RATIONALE, VICTIM_VIEWS, "Theft and handling stolen goods",
                 "Quorate when recorded", "Monday 2 March 2026, chaired by Chair"):
        assert text in page.text
    # People's names and UK local times, not usernames and UTC.
    assert "Assessment countersigned" in page.text
    assert "by Manager (manager)" in page.text and "2 March 2026 at 10:00am" in page.text
    assert "UTC" not in page.text and "None" not in page.text


def _action_page(client, case, trigger):
    page = client.get(f"/cases/{case.id}/actions/{trigger}")
    assert page.status_code == 200, page.text
    return page


def test_countersign_and_return_show_the_assessment_in_full(client, session, registry, users):
    _, case = _case_with_work(session, registry, users, "awaiting_countersignature")
    sign_in(client, "manager")
    for trigger in ("countersign", "return_assessment"):
        page = _action_page(client, case, trigger)
        assert [s.name for s in page.context["record_sections"]] == ["assessment"]
        assert DESISTANCE in page.text and REASONS in page.text
        assert "Assessment submitted" in page.text and "Case Manager (case manager)" in page.text


def test_the_decision_form_shows_the_assessment_gravity_and_victim_views(
        client, session, registry, users):
    _, case = _case_with_work(session, registry, users, "ready_for_panel")
    sign_in(client, "chair")
    page = _action_page(client, case, "record_decision")
    assert REASONS in page.text  # the countersigned assessment's reasons for its proposal
    assert "Community resolution" in page.text  # its proposed outcome
    assert "Assessment countersigned" in page.text
    assert "The gravity score of 2 indicates" in page.text
    assert VICTIM_VIEWS in page.text and "Now: <strong>Views recorded</strong>" in page.text


def test_the_decision_form_says_when_no_victim_views_are_recorded(client, session, registry,
                                                                  users):
    walker = Walker(session, registry, users)
    case = walker.create(has_victim=True)
    walker.to(case, "ready_for_panel")
    sign_in(client, "chair")
    page = _action_page(client, case, "record_decision")
    victim = next(s for s in page.context["record_sections"] if s.name == "victim")
    assert victim.entries == () and victim.state == "Awaiting contact"
    assert "Nothing has been recorded here yet." in page.text


def test_sign_off_and_return_show_the_decision_and_the_assessment(client, session, registry,
                                                                  users):
    _, case = _case_with_work(session, registry, users, "awaiting_signoff")
    sign_in(client, "manager")
    for trigger in ("sign_off", "return_decision"):
        page = _action_page(client, case, trigger)
        assert [s.name for s in page.context["record_sections"]] == ["panel", "assessment"]
        assert RATIONALE in page.text and DESISTANCE in page.text


def test_the_quality_audit_shows_the_whole_record_beside_the_questions(
        client, session, registry, users, clock):
    walker, case = _case_with_work(session, registry, users, "awaiting_signoff")
    walker.fire(case, "sign_off", "manager")
    walker.victim_done(case)
    walker.fire(case, "complete", "case_manager",
                completion(exit_review="Okapi exit review: all sessions attended"))
    audit = draw_sample(session, first=NOW.date().replace(month=1, day=1), by="manager2",
                        now=walker.now)[0]
    session.commit()
    sign_in(client, "manager")
    page = client.get(f"/quality/audits/{audit.id}")
    assert page.status_code == 200
    for text in (DESISTANCE, RATIONALE, VICTIM_VIEWS, "Okapi exit review"):
        assert text in page.text
    assert page.text.index(DESISTANCE) < page.text.index("Save the audit")


def test_returned_work_is_shown_marked_and_prefilled_for_rework(client, session, registry,
                                                                users):
    walker, case = _case_with_work(session, registry, users, "awaiting_countersignature")
    walker.fire(case, "return_assessment", "manager", {"comments": COMMENTS})
    sign_in(client, "case_manager")

    page = client.get(f"/cases/{case.id}")
    assert "Returned for rework" in page.text and COMMENTS in page.text
    assert page.text.index(COMMENTS) < page.text.index("Where the case is")  # a banner on top

    caseload = client.get("/caseload")
    row = next(r for r in caseload.context["rows"] if r["case"].id == case.id)
    assert row["returned"] == "Assessment returned for rework"
    assert "Assessment returned for rework" in caseload.text

    form = _action_page(client, case, "submit_assessment")
    assert COMMENTS in form.text and form.text.index(COMMENTS) < form.text.index(
        'id="action-form"')
    assert form.context["values"]["desistance"] == DESISTANCE
    assert form.context["values"]["risk_to_others"] == "low"
    assert DESISTANCE in form.text  # in the textarea, ready to be reworked


def test_sign_off_is_checked_before_it_is_done_and_can_be_changed(client, session, registry,
                                                                  users):
    _, case = _case_with_work(session, registry, users, "awaiting_signoff")
    token = sign_in(client, "manager")
    form = {"csrf_token": token, "expected_version": str(case.version)}
    check = client.post(f"/cases/{case.id}/actions/sign_off", data=form)
    assert check.status_code == 200
    assert "Check before you sign off the decision" in check.text
    assert "This cannot be undone." in check.text
    assert "Intervention" in check.text  # where the case goes next
    assert RATIONALE in check.text  # the decision being signed off
    session.expire_all()
    assert case.state == "awaiting_signoff"  # nothing written yet

    done = client.post(f"/cases/{case.id}/actions/sign_off", data={**form, "confirmed": "yes"})
    assert "Done: sign off the decision." in done.text
    session.expire_all()
    assert case.state == "intervention"


def test_a_withdrawal_shows_its_answers_and_they_can_be_changed(client, session, registry,
                                                                users):
    case = Walker(session, registry, users).create()
    token = sign_in(client, "manager")
    form = {"csrf_token": token, "expected_version": "1", "reason_code": "referred_in_error",
            "reason": "Heron: the wrong child was referred."}
    check = client.post(f"/cases/{case.id}/actions/withdraw", data=form)
    assert "Check before you withdraw the case" in check.text
    assert "Referred in error" in check.text and "Heron: the wrong child" in check.text
    assert "Withdrawn" in check.text
    back = client.post(f"/cases/{case.id}/actions/withdraw", data={**form, "change": "yes"})
    assert back.context["reason"] == "Heron: the wrong child was referred."
    assert back.context["reason_code"] == "referred_in_error"
    session.expire_all()
    assert case.state == "referred"


def test_a_withdrawal_that_is_refused_is_not_offered_for_checking(client, session, registry,
                                                                  users):
    case = Walker(session, registry, users).create()
    token = sign_in(client, "manager")
    refused = client.post(f"/cases/{case.id}/actions/withdraw",
                          data={"csrf_token": token, "expected_version": "1"})
    assert refused.status_code == 422
    assert "Give a reason to withdraw the case." in refused.text


def test_the_printable_record_has_every_version_open_and_no_navigation(client, session,
                                                                        registry, users):
    walker, case = _case_with_work(session, registry, users, "awaiting_countersignature")
    walker.fire(case, "return_assessment", "manager", {"comments": COMMENTS})
    walker.fire(case, "submit_assessment", "case_manager", assessment(desistance="Rewritten."))
    sign_in(client, "manager2")
    page = client.get(f"/cases/{case.id}/print")
    assert page.status_code == 200
    assert "Earlier version: Assessment submitted" in page.text
    assert DESISTANCE in page.text and "Rewritten." in page.text and COMMENTS in page.text
    assert "Manager queues" not in page.text and "Sign out" not in page.text  # no navigation
    assert "/static/print.js" in page.text
    views = session.exec(select(AccessLog.view).where(AccessLog.case_id == case.id)).all()
    assert views == ["printed record"]


def test_consent_and_conditions_are_asked_only_under_a_youth_conditional_caution(
        client, session, registry, users):
    walker, case = _case_with_work(session, registry, users, "ready_for_panel")
    meeting = walker.quorate_meeting()
    token = sign_in(client, "chair")
    html = _action_page(client, case, "record_decision").text
    ycc = html.index('value="youth_conditional_caution"')
    reveal = html.index('id="conditional-outcome-', ycc)
    consent = html.index('name="consent_signed"')
    assert reveal < consent < html.index('name="conditions"')  # inside the caution's reveal
    assert "The child has signed their consent (optional)" not in html
    assert "The child has signed their consent" in html
    # Answers under another outcome are not recorded, whatever the hidden boxes hold.
    sent = client.post(f"/cases/{case.id}/actions/record_decision", data={
        "csrf_token": token, "expected_version": str(case.version),
        **{k: str(v) for k, v in decision(meeting.id).items()},
        "admission": "yes", "conditions": "Typed, then the outcome changed"},
        follow_redirects=False)
    assert sent.status_code == 303, sent.text
    session.expire_all()
    assert "conditions" not in case.data["decision"]


def test_the_victims_wish_not_to_be_contacted_is_asked_only_when_there_is_a_victim(client):
    sign_in(client, "police")
    html = client.get("/referrals/new").text
    victim_yes = html.index('name="has_victim" type="radio" value="yes"')
    assert victim_yes < html.index('name="victim_opted_out"') < html.index(
        'name="has_victim" type="radio" value="no"')
    assert "The victim asked not to be contacted (optional)" not in html
