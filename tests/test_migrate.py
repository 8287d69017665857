"""Workflow versions: cases stay on the version they started on until explicitly migrated."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ooc.audit import case_events, replay, verify_trail
from ooc.cli import app
from ooc.errors import GuardsFailed, RoleNotAllowed
from ooc.machine import WorkflowRegistry
from ooc.migrate import migrate_cases, plan_migration
from tests.support import NOW, Walker

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"


@pytest.fixture
def two_versions(tmp_path) -> WorkflowRegistry:
    """Version 2 renames 'assessing' to 'assessment_in_progress'."""
    for name in ("oocd.v1.toml", "outcomes.toml", "ethnicity.toml"):
        shutil.copy(WORKFLOWS / name, tmp_path / name)
    v2 = (WORKFLOWS / "oocd.v1.toml").read_text()
    v2 = v2.replace("version = 1", "version = 2", 1).replace('"assessing"',
                                                             '"assessment_in_progress"')
    (tmp_path / "oocd.v2.toml").write_text(v2)
    return WorkflowRegistry.from_folder(tmp_path)


@pytest.fixture
def open_v1_cases(session, registry, users):
    """Three version-1 cases: one referred, one assessing, one closed."""
    walker = Walker(session, registry, users)
    referred = walker.create()
    assessing = walker.create(police_reference="TEST/0002")
    walker.to(assessing, "assessing")
    closed = walker.create(police_reference="TEST/0003", gravity_score=1)
    walker.to_awaiting_signoff(closed, outcome="nfa")
    walker.fire(closed, "sign_off", "manager")
    assert closed.state == "closed"
    return referred, assessing, closed


def test_new_cases_start_on_the_latest_version_and_old_ones_stay(session, two_versions, users,
                                                                  open_v1_cases):
    walker = Walker(session, two_versions, users)
    new = walker.create(police_reference="TEST/0004")
    assert new.workflow_version == 2
    assert {c.workflow_version for c in open_v1_cases} == {1}
    walker.fire(open_v1_cases[0], "take_case", "case_manager")
    assert open_v1_cases[0].state == "assessing"  # version 1's state name


def test_unmapped_states_stop_the_migration_before_anything_is_written(session, two_versions,
                                                                       open_v1_cases):
    with pytest.raises(GuardsFailed) as raised:
        plan_migration(session, registry=two_versions, workflow="oocd", from_version=1,
                       to_version=2, state_map={})
    assert raised.value.reasons == ["'assessing' has no equivalent in version 2."]


def test_mapping_to_an_unknown_state_is_refused(session, two_versions, open_v1_cases):
    with pytest.raises(GuardsFailed) as raised:
        plan_migration(session, registry=two_versions, workflow="oocd", from_version=1,
                       to_version=2, state_map={"assessing": "assessin"})
    assert raised.value.reasons == ["'assessin' is not a state of oocd version 2."]


def test_migration_moves_open_cases_with_one_audit_event_each(session, two_versions, users,
                                                              open_v1_cases):
    referred, assessing, closed = open_v1_cases
    moves = migrate_cases(session, registry=two_versions, workflow="oocd", from_version=1,
                          to_version=2, state_map={"assessing": "assessment_in_progress"},
                          actor=users["admin"], now=NOW)
    session.commit()
    assert [m.case_id for m in moves] == [referred.id, assessing.id]
    for case in (referred, assessing, closed):
        session.refresh(case)
    assert (assessing.workflow_version, assessing.state) == (2, "assessment_in_progress")
    assert (referred.workflow_version, referred.state) == (2, "referred")
    assert closed.workflow_version == 1  # closed cases are history: left alone
    last = case_events(session, assessing.id)[-1]
    assert (last.trigger, last.from_state, last.to_state, last.workflow_version, last.actor) == (
        "migrate_workflow", "assessing", "assessment_in_progress", 2, "admin")
    snap = replay(two_versions, case_events(session, assessing.id))
    assert (snap.workflow_version, snap.states["main"]) == (2, "assessment_in_progress")
    assert verify_trail(session)[2] == []


def test_only_an_admin_can_migrate(session, two_versions, users, open_v1_cases):
    with pytest.raises(RoleNotAllowed):
        migrate_cases(session, registry=two_versions, workflow="oocd", from_version=1,
                      to_version=2, state_map={"assessing": "assessment_in_progress"},
                      actor=users["manager"], now=NOW)


def test_cli_dry_run_shows_changes_and_writes_nothing(engine, session, two_versions,
                                                      open_v1_cases, monkeypatch):
    monkeypatch.setenv("OOC_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OOC_WORKFLOWS_DIR", str(two_versions.latest("oocd").path.parent))
    runner = CliRunner()
    args = ["workflow", "migrate", "--from", "1", "--to", "2", "--map",
            "assessing=assessment_in_progress"]
    preview = runner.invoke(app, [*args, "--dry-run"])
    assert preview.exit_code == 0, preview.output
    assert "assessing → assessment_in_progress" in preview.output
    assert "Dry run: 2 open cases would move from version 1 to 2. Nothing was written." \
        in preview.output
    session.expire_all()
    assert {c.workflow_version for c in open_v1_cases} == {1}

    unmapped = runner.invoke(app, ["workflow", "migrate", "--from", "1", "--to", "2",
                                   "--actor", "admin"])
    assert unmapped.exit_code == 1
    assert "'assessing' has no equivalent in version 2." in unmapped.output

    done = runner.invoke(app, [*args, "--actor", "admin"])
    assert done.exit_code == 0, done.output
    assert "Migrated 2 open cases from version 1 to 2." in done.output
    session.expire_all()
    assert open_v1_cases[1].workflow_version == 2
