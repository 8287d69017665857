"""Each guard of the reference workflow, through the transition service: the refusal says what is
unmet in plain words, and nothing about the case changes."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from ooc import service
from ooc.errors import GuardsFailed, InvalidForm, UnknownTrigger
from ooc.guards import GuardContext, assessment_countersigned
from ooc.models import AuditEvent, Case
from tests.support import Walker, assessment, completion, decision, make_meeting, referral


@pytest.fixture
def walker(session, registry, users):
    return Walker(session, registry, users)


def snapshot(session, case):
    session.refresh(case)
    events = len(session.exec(select(AuditEvent).where(AuditEvent.case_id == case.id)).all())
    return case.state, case.victim_state, case.version, dict(case.data), events


def refused(walker, case, trigger, who, data=None, error=GuardsFailed, **kwargs) -> list[str]:
    """Fire, expecting a refusal; assert nothing changed; return the reasons given."""
    before = snapshot(walker.session, case)
    with pytest.raises(error) as raised:
        walker.fire(case, trigger, who, data, **kwargs)
    assert snapshot(walker.session, case) == before
    return raised.value.reasons or [raised.value.message]


def test_assessment_needs_contingency_plan_and_parent_views(walker):
    case = walker.create()
    walker.to(case, "assessing")
    reasons = refused(walker, case, "submit_assessment", "case_manager",
                      assessment(risk_to_others="medium", parent_views=None))
    assert reasons == [
        "Add a contingency plan: the risk of harm to others is medium or above.",
        "Record the parent's or carer's views, or why they were not obtained.",
    ]
    walker.fire(case, "submit_assessment", "case_manager",
                assessment(risk_to_others="medium", contingency_plan="Daily check-ins.",
                           parent_views=None, parent_views_reason="Parent in hospital."))
    assert case.state == "awaiting_countersignature"


def test_missing_sections_are_each_named(walker):
    case = walker.create()
    walker.to(case, "assessing")
    reasons = refused(walker, case, "submit_assessment", "case_manager",
                      {"desistance": "Some text.", "risk_to_others": "extreme"},
                      error=InvalidForm)
    assert "Enter safety and wellbeing of the child." in reasons
    assert "Risk of harm to others: choose one of the options given." in reasons
    assert "Enter the child's views." in reasons


def test_the_author_cannot_countersign_their_own_assessment(walker):
    case = walker.create()
    walker.fire(case, "take_case", "senior_practitioner")
    walker.fire(case, "submit_assessment", "senior_practitioner", assessment())
    reasons = refused(walker, case, "countersign", "senior_practitioner")
    assert reasons == ["You wrote this assessment, so a different manager must countersign it."]
    walker.fire(case, "countersign", "manager")
    assert case.state == "ready_for_panel"


def test_decision_at_a_meeting_that_is_not_quorate(walker):
    case = walker.create()
    walker.to(case, "ready_for_panel")
    meeting = make_meeting(walker.session, date(2026, 3, 4), ["yjs", "health"])
    walker.session.commit()
    reasons = refused(walker, case, "record_decision", "chair", decision(meeting.id))
    assert reasons == ["The panel meeting on 04 March 2026 is not quorate: Police did not "
                       "attend; it needs at least 2 other agencies and had 1."]


def test_decision_at_a_meeting_that_does_not_exist(walker):
    case = walker.create()
    walker.to(case, "ready_for_panel")
    reasons = refused(walker, case, "record_decision", "chair", decision(999))
    assert reasons == ["Panel meeting 999 does not exist. Choose a meeting from the list."]


def test_departing_from_the_gravity_score_needs_a_rationale(walker):
    case = walker.create(gravity_score=3)
    walker.to(case, "ready_for_panel")
    meeting = walker.quorate_meeting()
    reasons = refused(walker, case, "record_decision", "chair",
                      decision(meeting.id, outcome="community_resolution"))
    assert reasons == ["The gravity score of 3 indicates Youth caution. Give the reason for "
                       "deciding Community resolution instead."]
    walker.fire(case, "record_decision", "chair",
                decision(meeting.id, outcome="community_resolution",
                         deviation_rationale="Very young, first offence, strong family support."))
    assert case.data["decision"]["deviation_rationale"].startswith("Very young")


def test_outcomes_that_need_an_admission_consent_and_conditions(walker):
    case = walker.create(gravity_score=4)
    walker.to(case, "ready_for_panel")
    reasons = refused(walker, case, "record_decision", "chair",
                      decision(walker.quorate_meeting().id, outcome="youth_conditional_caution",
                               admission=False))
    assert reasons == [
        "Youth conditional caution can only be given when the child has admitted the offence.",
        "Youth conditional caution needs the child's signed consent and the conditions to be "
        "recorded.",
    ]


def test_decision_needs_the_victims_views_or_a_reason(walker):
    case = walker.create(has_victim=True)
    walker.to(case, "ready_for_panel")
    reasons = refused(walker, case, "record_decision", "chair",
                      decision(walker.quorate_meeting().id))
    assert reasons == ["The victim's views have not been recorded. Ask the victim worker to "
                       "record them, or give the reason they could not be obtained."]
    walker.fire(case, "record_decision", "chair",
                decision(walker.quorate_meeting().id,
                         victim_views_reason="Victim not reachable after three attempts."))
    assert case.state == "awaiting_signoff"


def test_the_recorder_cannot_sign_off_their_own_decision(walker):
    case = walker.create()
    walker.to(case, "ready_for_panel")
    walker.fire(case, "record_decision", "chair_manager", decision(walker.quorate_meeting().id))
    reasons = refused(walker, case, "sign_off", "chair_manager")
    assert reasons == ["You recorded this decision, so a different manager must sign it off."]


def test_a_case_with_a_victim_cannot_close_until_rj_decided_and_victim_informed(walker):
    case = walker.create(has_victim=True)
    walker.to(case, "intervention")
    reasons = refused(walker, case, "complete", "case_manager", completion())
    assert reasons == ["The case has a victim: the victim worker must record whether "
                       "restorative justice is offered, with reasons, before the case can close."]
    walker.fire(case, "not_offer_rj", "victim_worker", {"reasons": "Victim declined."})
    reasons = refused(walker, case, "complete", "case_manager", completion())
    assert reasons == ["The victim must be told the outcome before the case can close."]
    walker.fire(case, "inform_victim", "victim_worker")
    walker.fire(case, "complete", "case_manager", completion())
    assert case.state == "closed"


def test_a_victim_who_opted_out_is_not_informed_but_rj_is_still_considered(walker):
    case = walker.create(has_victim=True, victim_opted_out=True)
    walker.to(case, "intervention")
    walker.fire(case, "not_offer_rj", "victim_worker", {"reasons": "Victim opted out."})
    reasons = refused(walker, case, "inform_victim", "victim_worker")
    assert reasons == ["The victim asked not to be contacted."]
    walker.fire(case, "complete", "case_manager", completion())
    assert case.state == "closed"


def test_nfa_closes_on_sign_off_but_only_after_the_victim_work(walker):
    case = walker.create(has_victim=True, gravity_score=1)
    walker.to_awaiting_signoff(case, outcome="nfa")
    reasons = refused(walker, case, "sign_off", "manager")
    assert reasons[0].startswith("The case has a victim: the victim worker must record")
    walker.fire(case, "not_offer_rj", "victim_worker", {"reasons": "No further action."})
    walker.fire(case, "inform_victim", "victim_worker")
    walker.fire(case, "sign_off", "manager")
    assert case.state == "closed"


def test_closing_needs_feedback_or_that_it_was_declined(walker):
    case = walker.create()
    walker.to(case, "intervention")
    reasons = refused(walker, case, "complete", "case_manager",
                      completion(child_feedback=None, parent_feedback=None))
    assert reasons == ["Record the child's feedback on the service, or that they declined to "
                       "give it and the parent's or carer's feedback on the service, or that "
                       "they declined to give it."]
    walker.fire(case, "complete", "case_manager",
                completion(child_feedback=None, child_declined_feedback=True))
    assert case.state == "closed"


def test_countersignature_guard_blocks_a_decision_without_one(session, registry, users):
    case = Case(gravity_score=2, has_victim=False, data={"assessment": {"by": "x"}})
    ctx = GuardContext(definition=registry.latest("oocd"), case=case)
    assert assessment_countersigned(ctx) == ("The assessment must be countersigned by a manager "
                                             "before the panel can decide.")


def test_unknown_trigger_lists_what_can_be_done(walker):
    case = walker.create()
    reasons = refused(walker, case, "sign_off", "manager", error=UnknownTrigger)
    assert reasons == ["'sign_off' cannot be done while the case is referred and no identified "
                       "victim. What can be done now: take_case, withdraw."]


def test_a_required_reason_and_reason_codes_are_checked(walker):
    case = walker.create()
    reasons = refused(walker, case, "withdraw", "manager", error=InvalidForm)
    assert reasons == ["Give a reason to withdraw the case.",
                       "Choose a reason code (one of: police_no_further_action, "
                       "moved_out_of_area, referred_in_error, child_charged_elsewhere, other)."]
    reasons = refused(walker, case, "withdraw", "manager", error=InvalidForm,
                      reason="Duplicate.", reason_code="duplicate")
    assert reasons[0].startswith("'duplicate' is not a reason code for this action")


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"date_of_birth": "2016-03-01"}, "The child was 9 on the date of the offence"),
    ({"date_of_birth": "2007-01-01"}, "The child was 19 on the date of the offence"),
    ({"offence_date": "2026-03-05"}, "The offence date (05 March 2026) is after the referral"),
])
def test_referrals_outside_the_scheme_are_refused(session, registry, users, overrides, expected):
    with pytest.raises(GuardsFailed) as raised:
        service.create_case(session, registry=registry, actor=users["police"],
                            referral=referral(**overrides), now=Walker(session, registry,
                                                                      users).now)
    session.rollback()
    assert raised.value.reasons[0].startswith(expected)
    assert session.exec(select(Case)).all() == []


def test_a_referral_cannot_be_dated_in_the_future_but_a_bail_date_can(session, registry, users):
    now = Walker(session, registry, users).now  # Monday 2 March 2026
    with pytest.raises(GuardsFailed) as raised:
        service.create_case(session, registry=registry, actor=users["police"], now=now,
                            referral=referral(offence_date="2026-03-03",
                                              referral_date="2026-03-04"))
    session.rollback()
    assert raised.value.reasons == [
        "Date of the offence (03 March 2026) is in the future. Enter the date it happened, "
        "on or before today (02 March 2026).",
        "Date of referral (04 March 2026) is in the future. Enter the date it happened, on or "
        "before today (02 March 2026).",
    ]
    # Each names the field it concerns, so a form can show it by that field.
    assert [p.field for p in raised.value.problems] == ["offence_date", "referral_date"]
    assert session.exec(select(Case)).all() == []
    case = service.create_case(session, registry=registry, actor=users["police"], now=now,
                               referral=referral(bail_date="2026-04-20"))
    assert (case.referral_date, case.bail_date) == (date(2026, 3, 2), date(2026, 4, 20))


def test_the_local_date_decides_what_is_in_the_future(session, registry, users):
    """23:30 UTC on 1 March is still 1 March in London (winter), so 2 March is tomorrow."""
    from datetime import UTC, datetime

    with pytest.raises(GuardsFailed):
        service.create_case(session, registry=registry, actor=users["police"],
                            now=datetime(2026, 3, 1, 23, 30, tzinfo=UTC), referral=referral())
    session.rollback()
    # 23:30 UTC on 1 June is 00:30 on 2 June in London (summer time): today, not the future.
    case = service.create_case(session, registry=registry, actor=users["police"],
                               now=datetime(2026, 6, 1, 23, 30, tzinfo=UTC),
                               referral=referral(referral_date="2026-06-02"))
    assert case.referral_date == date(2026, 6, 2)


def test_badly_typed_referral_fields_are_each_named(session, registry, users):
    with pytest.raises(InvalidForm) as raised:
        service.create_case(session, registry=registry, actor=users["police"], now=Walker(
            session, registry, users).now, referral=referral(
            gravity_score="high", date_of_birth="31/02/2012", looked_after="maybe",
            ethnicity="XX", colour="blue", family_name=""))
    session.rollback()
    assert set(raised.value.reasons) == {
        "Gravity score must be a whole number.",
        "Date of birth must be a real date, written as year-month-day, for example 2026-03-27.",
        "Looked-after child: answer yes or no.",
        "Ethnicity: choose one of the options given.",
        "'colour' is not a field of this form.",
        "Enter child's last name.",
    }
    assert session.exec(select(Case)).all() == []


def test_the_same_police_reference_is_never_a_second_case(walker):
    walker.create()
    with pytest.raises(InvalidForm) as raised:
        walker.create()
    walker.session.rollback()
    assert raised.value.reasons == ["A case with police reference TEST/0001 already exists "
                                    "(case 1)."]


def test_available_actions_show_blocked_ones_with_reasons(walker):
    case = walker.create()
    walker.fire(case, "take_case", "senior_practitioner")
    walker.fire(case, "submit_assessment", "senior_practitioner", assessment())
    actions = {a.trigger: a for a in service.available_actions(
        walker.session, registry=walker.registry, case=case,
        actor=walker.users["senior_practitioner"], now=walker.now)}
    assert set(actions) == {"return_assessment", "countersign", "withdraw"}
    assert not actions["countersign"].allowed
    assert actions["countersign"].reasons == (
        "You wrote this assessment, so a different manager must countersign it.",)
    assert actions["withdraw"].allowed



def test_nothing_more_can_be_done_on_a_closed_or_withdrawn_case(walker):
    case = walker.create(has_victim=True)
    walker.to(case, "withdrawn")
    reasons = refused(walker, case, "contact_victim", "victim_worker",
                      {"consents_to_contact": True}, error=UnknownTrigger)
    assert reasons == ["'contact_victim' cannot be done while the case is withdrawn and "
                       "awaiting contact. What can be done now: none."]
    assert service.available_actions(walker.session, registry=walker.registry, case=case,
                                      actor=walker.users["victim_worker"], now=walker.now) == []


def test_rj_not_offered_can_be_recorded_straight_away_for_a_victim_who_opted_out(walker):
    case = walker.create(has_victim=True, victim_opted_out=True)
    walker.fire(case, "not_offer_rj", "victim_worker",
                {"reasons": "The victim asked not to be contacted."})
    assert case.victim_state == "rj_declined"


def test_a_returned_decision_no_longer_counts_as_decided(walker):
    case = walker.create(has_victim=True)
    walker.to(case, "awaiting_signoff")
    walker.fire(case, "not_offer_rj", "victim_worker", {"reasons": "Not suitable."})
    walker.fire(case, "return_decision", "manager", {"comments": "Reconsider the outcome."})
    assert "decision" not in case.data
    reasons = refused(walker, case, "inform_victim", "victim_worker")
    assert reasons == ["The panel has not decided the outcome yet."]


def test_a_decision_cannot_cite_a_meeting_that_has_not_happened(walker):
    case = walker.create()
    walker.to(case, "ready_for_panel")  # countersigned on Wednesday 4 March
    meeting = make_meeting(walker.session, date(2026, 3, 31))
    walker.session.commit()
    reasons = refused(walker, case, "record_decision", "chair", decision(meeting.id))
    assert reasons == ["The panel meeting on 31 March 2026 has not happened yet (today is 04 "
                       "March 2026). Record what the panel did on or after the day of the "
                       "meeting."]


def test_a_decision_cannot_cite_a_meeting_held_before_the_countersignature(walker):
    case = walker.create()
    walker.to(case, "ready_for_panel")  # countersigned on Wednesday 4 March
    before = make_meeting(walker.session, date(2026, 3, 3))
    walker.session.commit()
    reasons = refused(walker, case, "record_decision", "chair", decision(before.id))
    assert reasons == ["The panel meeting on 03 March 2026 was held before the assessment was "
                       "countersigned on 04 March 2026, so it cannot have considered this case. "
                       "Choose a meeting held on or after 04 March 2026."]
    same_day = make_meeting(walker.session, date(2026, 3, 4))
    walker.session.commit()
    walker.fire(case, "record_decision", "chair", decision(same_day.id))
    assert case.data["decision"]["meeting_id"] == same_day.id


def test_the_countersignature_date_is_the_local_date(walker):
    """Countersigned at 23:30 UTC on 31 March: 00:30 on 1 April in London (summer time)."""
    from datetime import UTC, datetime

    case = walker.create()
    walker.to(case, "awaiting_countersignature")
    walker.now = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    walker.fire(case, "countersign", "manager")
    walker.tick()
    meeting = make_meeting(walker.session, date(2026, 3, 31))
    walker.session.commit()
    reasons = refused(walker, case, "record_decision", "chair", decision(meeting.id))
    assert "countersigned on 01 April 2026" in reasons[0]


def test_a_victim_who_refused_further_contact_is_not_told_the_outcome(walker):
    case = walker.create(has_victim=True)
    walker.fire(case, "contact_victim", "victim_worker", {"consents_to_contact": False})
    walker.fire(case, "not_offer_rj", "victim_worker", {"reasons": "No further contact wanted."})
    walker.to_awaiting_signoff(case, victim_views_reason="The victim wanted no further contact.")
    walker.fire(case, "sign_off", "manager")
    reasons = refused(walker, case, "inform_victim", "victim_worker")
    assert reasons == ["The victim asked for no further contact."]
    walker.fire(case, "complete", "case_manager", completion())
    assert case.state == "closed"


def test_referral_text_longer_than_its_column_is_refused_on_every_database(session, registry,
                                                                          users):
    with pytest.raises(InvalidForm) as raised:
        service.create_case(session, registry=registry, actor=users["police"],
                            now=Walker(session, registry, users).now,
                            referral=referral(police_reference="X" * 65))
    session.rollback()
    assert raised.value.reasons == ["Police reference must be 64 characters or fewer (it has 65)."]


def test_a_victim_who_opted_out_is_never_offered_contact_and_the_case_still_closes(walker):
    case = walker.create(has_victim=True, victim_opted_out=True)
    actions = {a.trigger: a for a in service.available_actions(
        walker.session, registry=walker.registry, case=case,
        actor=walker.users["victim_worker"], now=walker.now)}
    assert not actions["contact_victim"].allowed
    assert actions["contact_victim"].reasons == ("The victim asked not to be contacted.",)
    assert actions["record_victim_views"].allowed
    reasons = refused(walker, case, "contact_victim", "victim_worker",
                      {"consents_to_contact": True})
    assert reasons == ["The victim asked not to be contacted."]
    # Views recorded with the reason, restorative justice not offered, then the case closes.
    walker.fire(case, "record_victim_views", "victim_worker",
                {"reason_not_obtained": "The victim asked not to be contacted."})
    walker.fire(case, "not_offer_rj", "victim_worker",
                {"reasons": "Not offered: the victim asked not to be contacted."})
    walker.to(case, "closed")
    assert (case.state, case.victim_state) == ("closed", "rj_declined")
