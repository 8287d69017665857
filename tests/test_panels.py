"""What a workflow does at a panel meeting, asked of its definition, and what a meeting's page
lists as done at it."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from ooc.machine import WorkflowRegistry
from ooc.models import PanelMeeting
from ooc.panels import DEFERRED, agenda_offered, agenda_states, deciding, done_at
from tests.support import NOW, Walker, make_meeting

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
# The deferral's meeting field and guard, as the reference workflow has them.
DEFER_GUARD = 'roles = ["panel_chair"]\nguards = ["meeting_held_since_countersignature"]\n'
DEFER_FIELD = """
  # The meeting that deferred the case: its page lists the cases deferred at it.
  [[transitions.fields]]
  name = "meeting_id"
  label = "Panel meeting"
  type = "meeting"
  required = true
"""


def test_the_workflow_says_which_step_decides_and_where_the_agenda_comes_from(registry):
    definition = registry.latest("oocd")
    assert deciding(definition).trigger == "record_decision"
    assert agenda_states(definition) == ["ready_for_panel"]


def test_the_agenda_window_counts_working_days(registry):
    definition = registry.latest("oocd")
    thursday = PanelMeeting(held_on=date(2026, 4, 2), chair="chair", created_at=NOW)
    # Good Friday and Easter Monday are not working days: 5 working days after is 13 April.
    assert agenda_offered(definition, thursday, date(2026, 4, 2))
    assert agenda_offered(definition, thursday, date(2026, 4, 13))
    assert not agenda_offered(definition, thursday, date(2026, 4, 14))
    assert not agenda_offered(definition, thursday, date(2026, 4, 1))  # not held yet


def test_a_deferral_recorded_before_it_named_its_meeting_counts_for_that_days_only_meeting(
        session, registry, users, tmp_path):
    folder = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, folder)
    path = folder / "oocd.v1.toml"
    text = path.read_text()
    assert DEFER_GUARD in text and DEFER_FIELD in text
    path.write_text(text.replace(DEFER_GUARD, 'roles = ["panel_chair"]\n')
                    .replace(DEFER_FIELD, ""))
    before = WorkflowRegistry.from_folder(folder)  # the workflow as it was
    walker = Walker(session, before, users)
    case = walker.create()
    walker.to(case, "ready_for_panel")
    walker.fire(case, "defer", "chair", reason="Awaiting the police summary.",
                reason_code="awaiting_police_information")
    meeting = make_meeting(session, walker.now.date())
    session.commit()
    assert [(i.case_id, i.result) for i in done_at(session, registry, meeting)] == [
        (case.id, DEFERRED)]
    # With two meetings that day, it cannot be told which one deferred it.
    make_meeting(session, walker.now.date(), agencies=["police", "yjs"])
    session.commit()
    assert done_at(session, registry, meeting) == []
