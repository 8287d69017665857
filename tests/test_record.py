"""The case record: what was recorded, in the workflow's sections, labelled by its fields."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

from ooc.calendar import uk_time
from ooc.machine import WorkflowRegistry
from ooc.record import build_record, returned_cases
from tests.support import WORKFLOWS, Walker, assessment, completion


def _rows(entry) -> dict[str, str]:
    return {row.label: row.value for row in entry.rows}


def test_uk_time_is_local_time_in_gov_uk_style():
    assert uk_time(datetime(2026, 7, 1, 13, 5, tzinfo=UTC)) == "1 July 2026 at 2:05pm"
    assert uk_time(datetime(2026, 1, 5, 0, 30, tzinfo=UTC)) == "5 January 2026 at 12:30am"


def test_every_stage_is_recorded_with_labels_people_and_readable_values(session, registry,
                                                                         users):
    walker = Walker(session, registry, users)
    case = walker.create(has_victim=True)
    walker.to(case, "closed")
    record = build_record(session, registry=registry, case=case)

    referral = record.section("referral")
    assert referral.entries[0].title == "Referral received"
    assert _rows(referral.entries[0])["Date of birth"] == "15 June 2011"
    assert _rows(referral.entries[0])["Offence category"] == "Theft and handling stolen goods"
    assert _rows(referral.entries[0])["The child has admitted the offence"] == "Yes"
    assert referral.entries[1].title == "Case taken"
    assert referral.entries[1].by == "Case Manager"  # the person's name, not the username

    submitted, countersigned = record.section("assessment").entries
    assert _rows(submitted)["Risk of harm to others"] == "Low"
    assert _rows(submitted)["Proposed outcome"] == "Community resolution"
    assert _rows(submitted)["The child's views"] == assessment()["child_views"]
    assert countersigned.title == "Assessment countersigned" and countersigned.by == "Manager"

    decided = _rows(record.section("panel").entries[0])
    assert decided["Panel meeting"] == "Thursday 5 March 2026, chaired by Chair"
    assert decided["Agencies present"] == "Police, Youth justice service, Health, Education"
    assert decided["Quorate when recorded"] == "Yes"
    assert decided["Outcome"] == "Community resolution"
    assert record.section("sign_off").entries[0].by == "Manager"

    victim = record.section("victim")
    assert [e.title for e in victim.entries] == [
        "Victim's views recorded", "Restorative justice not offered", "Victim told the outcome"]
    assert victim.state == "Victim informed of the outcome"
    closure = _rows(record.section("closure").entries[0])
    assert closure["Exit review"] == completion()["exit_review"]
    assert closure["The child completed the intervention"] == "Yes"


def test_a_withdrawal_shows_its_reason(session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "withdrawn")
    entry = build_record(session, registry=registry, case=case).section("closure").entries[0]
    assert entry.title == "Case withdrawn"
    assert _rows(entry) == {"Reason": "Police no further action",
                            "Explanation": "Police took no further action."}


def test_every_review_is_kept_not_only_the_latest(session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "intervention")
    for summary in ("First review: going well.", "Second review: nearly done."):
        walker.tick(50)
        walker.fire(case, "record_review", "case_manager",
                    {"summary": summary, "child_views": "Fine."})
    reviews = [e for e in build_record(session, registry=registry, case=case)
               .section("intervention").entries if e.trigger == "record_review"]
    assert [_rows(e)["Progress since the last review"] for e in reviews] == [
        "First review: going well.", "Second review: nearly done."]


def test_a_resubmitted_assessment_keeps_its_earlier_version_and_marks_what_changed(
        session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "awaiting_countersignature")
    walker.fire(case, "return_assessment", "manager",
                {"comments": "Say more about the school exclusion."})
    record = build_record(session, registry=registry, case=case)
    assert record.rework.trigger == "submit_assessment"
    assert record.rework.returned.by == "Manager"
    assert _rows(record.rework.returned) == {
        "What needs to change": "Say more about the school exclusion."}
    assert record.rework.last_submission["desistance"] == assessment()["desistance"]
    assert returned_cases(session, registry=registry, cases=[case]) == {
        case.id: "Assessment returned for rework"}

    walker.fire(case, "submit_assessment", "case_manager",
                assessment(desistance="Excluded for a week in January; back now."))
    record = build_record(session, registry=registry, case=case)
    first, returned, second = record.section("assessment").entries
    assert (first.version, first.superseded) == (1, True)
    assert _rows(first)["Desistance: what will help the child stop offending"] == \
        assessment()["desistance"]
    assert returned.title == "Assessment returned for rework"
    assert (second.version, second.superseded) == (2, False)
    changed = {row.label for row in second.rows if row.changed}
    assert changed == {"Desistance: what will help the child stop offending"}
    assert record.rework is None  # redone
    assert returned_cases(session, registry=registry, cases=[case]) == {}


def test_a_field_added_to_the_workflow_file_appears_with_its_label(session, users, tmp_path):
    for name in ("outcomes.toml", "ethnicity.toml", "figures.toml"):
        shutil.copy(WORKFLOWS / name, tmp_path / name)
    text = (WORKFLOWS / "oocd.v1.toml").read_text()
    anchor = '  [[transitions.fields]]\n  name = "desistance"'
    added = ('  [[transitions.fields]]\n  name = "school"\n  label = "School and education"\n'
             '  type = "text"\n\n')
    (tmp_path / "oocd.v1.toml").write_text(text.replace(anchor, added + anchor, 1))
    registry = WorkflowRegistry.from_folder(tmp_path)
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "assessing")
    walker.fire(case, "submit_assessment", "case_manager",
                assessment(school="Attends Year 9 at a local academy."))
    entry = build_record(session, registry=registry, case=case).section("assessment").entries[0]
    assert _rows(entry)["School and education"] == "Attends Year 9 at a local academy."
