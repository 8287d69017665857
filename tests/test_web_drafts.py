"""Nothing typed is lost: drafts for their author, and text kept when someone else acted first."""

from __future__ import annotations

from sqlmodel import func, select

from ooc.models import AuditEvent, Draft
from tests.support import Walker
from tests.web_support import sign_in

REVIEW = "Kingfisher review: attended four of five sessions"


def _count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_a_draft_is_kept_for_its_author_only_and_is_not_an_event(client, session, registry,
                                                                   users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "assessing")
    events = _count(session, AuditEvent)
    token = sign_in(client, "case_manager")
    saved = client.post(f"/cases/{case.id}/actions/submit_assessment", follow_redirects=False,
                        data={"csrf_token": token, "expected_version": "2",
                              "desistance": "Half-written: mentor at the boxing club",
                              "risk_to_others": "medium", "save_draft": "yes"})
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/cases/{case.id}/actions/submit_assessment"
    session.expire_all()
    assert _count(session, AuditEvent) == events  # not an event
    assert (case.state, case.version) == ("assessing", 2)

    form = client.get(saved.headers["location"])
    assert "Your draft was saved" in form.text and "You are continuing the draft" in form.text
    assert "Half-written: mentor at the boxing club" in form.text
    assert form.context["values"]["risk_to_others"] == "medium"

    client.cookies.clear()
    sign_in(client, "case_manager2")
    other = client.get(f"/cases/{case.id}/actions/submit_assessment")
    assert other.context["draft"] is None
    assert "Half-written" not in other.text


def test_a_draft_goes_when_its_action_is_done_or_can_no_longer_be(client, session, registry,
                                                                    users):
    walker = Walker(session, registry, users)
    done, left = walker.create(police_reference="T/DONE"), walker.create(police_reference="T/LEFT")
    for case in (done, left):
        walker.to(case, "intervention")
    token = sign_in(client, "case_manager")
    for case in (done, left):
        client.post(f"/cases/{case.id}/actions/record_review",
                    data={"csrf_token": token, "summary": REVIEW, "save_draft": "yes"})
    assert _count(session, Draft) == 2
    walker.fire(done, "record_review", "case_manager",
                {"summary": "Recorded through the API.", "child_views": "Fine."})
    walker.fire(left, "withdraw", "manager", reason="Moved away.",
                reason_code="moved_out_of_area")
    assert _count(session, Draft) == 0


def test_text_is_kept_and_shown_beside_what_changed_when_someone_acted_first(
        client, session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create(has_victim=True)
    walker.to(case, "intervention")
    token = sign_in(client, "case_manager")
    assert client.get(f"/cases/{case.id}/actions/record_review").status_code == 200
    version = case.version  # what the form carried
    walker.fire(case, "offer_rj", "victim_worker", {"reasons": "Wants to meet the child."})

    refused = client.post(f"/cases/{case.id}/actions/record_review",
                          data={"csrf_token": token, "expected_version": str(version),
                                "summary": REVIEW, "child_views": "Likes the worker."})
    assert refused.status_code == 409
    assert [e.title for e in refused.context["changes"]] == ["Restorative justice offered"]
    assert REVIEW in refused.text and "Victim Worker (victim worker)" in refused.text
    assert refused.context["kept"].trigger == "record_review"
    again = client.get(f"/cases/{case.id}/actions/record_review")
    assert REVIEW in again.text and again.context["values"]["child_views"] == "Likes the worker."


def test_text_for_an_action_that_no_longer_applies_is_shown_to_copy(client, session, registry,
                                                                     users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "awaiting_countersignature")
    token = sign_in(client, "manager2")
    assert client.get(f"/cases/{case.id}/actions/return_assessment").status_code == 200
    version = case.version
    walker.fire(case, "countersign", "manager")
    refused = client.post(f"/cases/{case.id}/actions/return_assessment",
                          data={"csrf_token": token, "expected_version": str(version),
                                "comments": "Heron comments: more on the family"})
    assert refused.status_code == 409
    assert "Heron comments: more on the family" in refused.text
    assert refused.context["kept"] is None and "can no longer be done" in refused.text
    assert [e.title for e in refused.context["changes"]] == ["Assessment countersigned"]
    assert _count(session, Draft) == 0


def test_text_sent_after_the_session_expired_comes_back_after_signing_in(client, session,
                                                                         registry, users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "intervention")
    token = sign_in(client, "case_manager")
    version = case.version
    client.cookies.clear()  # the session expired while the review was being written
    sent = client.post(f"/cases/{case.id}/actions/record_review",
                       data={"csrf_token": token, "expected_version": str(case.version),
                             "summary": REVIEW, "child_views": "Likes the worker."})
    assert sent.status_code == 401
    assert "You were signed out" in sent.text and "Sign in" in sent.text
    session.expire_all()
    assert case.version == version and _count(session, Draft) == 0  # nothing saved yet

    signed_in = client.post("/sign-in", data={
        "username": "case_manager", "password": "a-test-password-for-everyone",
        "csrf_token": sent.context["csrf_token"], "next": sent.context["next"],
        "resume": sent.context["resume"]})
    assert signed_in.status_code == 200
    assert "Your text has been kept" in signed_in.text
    assert REVIEW in signed_in.text
    assert signed_in.context["values"]["child_views"] == "Likes the worker."
