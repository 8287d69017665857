"""`ooc subject-access`: everything held about one child, readable, for a subject access
request; every case of theirs and nothing of another child's; the export is logged."""

from __future__ import annotations

import json
import os
import stat

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from ooc.access import log_view
from ooc.cli import app
from ooc.drafts import save_draft
from ooc.models import AccessLog
from tests.support import NOW, Walker, assessment

runner = CliRunner()


def run(engine, *args: str):
    result = runner.invoke(app, list(args), env={
        "OOC_DATABASE_URL": engine.url.render_as_string(hide_password=False)})
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def children(session, registry, users):
    """Alex has two cases (the second under an accented spelling); Sam, born the same day,
    has one."""
    walker = Walker(session, registry, users)
    first = walker.create(police_reference="ALEX/1", given_name="Alex", family_name="Example")
    walker.to_awaiting_countersignature(first)
    walker.fire(first, "countersign", "manager")
    second = walker.create(police_reference="ALEX/2", given_name="Alèx", family_name="EXAMPLE",
                           referral_date="2026-03-03")
    walker.fire(second, "take_case", "case_manager")
    sam = walker.create(police_reference="SAM/1", given_name="Sam", family_name="Other")
    walker.fire(sam, "take_case", "case_manager")
    walker.fire(sam, "submit_assessment", "case_manager",
                assessment(desistance="Sam's own plans for college."))
    log_view(session, user=users["manager"], case_id=first.id, view="case page", now=NOW)
    definition = registry.get(second.workflow_name, second.workflow_version)
    save_draft(session, case=second, transition=definition.transition(second.state,
                                                                      "submit_assessment"),
               author=users["case_manager"], values={"desistance": "Half-written draft words"},
               now=NOW)
    session.commit()
    return {"first": first, "second": second, "sam": sam}


def test_the_export_holds_every_case_of_the_child_and_nothing_of_another(
        engine, session, children, tmp_path):
    out = tmp_path / "sar.html"
    result = run(engine, "subject-access", "ALEX/2", "--out", str(out), "--actor", "admin")
    assert result.exit_code == 0, result.output
    html = out.read_text()
    data = json.loads(out.with_suffix(".json").read_text())
    assert [c["police_reference"] for c in data["cases"]] == ["ALEX/1", "ALEX/2"]
    assert "1 other case of a child with the same given name, family name and date of birth" \
        in data["matched"]
    # The record in plain words, with staff by their display names.
    assert "Engaged with school; wants to stay out of trouble." in html
    assert "Assessment countersigned" in html and "Case Manager" in html
    assert "case_manager" not in html.replace("case manager", "")  # no usernames
    # Who looked at the record.
    alex = data["cases"][0]
    assert {"who": "Manager", "through": "case page"} in [
        {k: v[k] for k in ("who", "through")} for v in alex["access_log"]]
    # Drafts are not part of the record: counted, not shown.
    assert "Half-written draft words" not in html
    assert data["cases"][1]["unfinished_drafts_not_included"] == 1
    # Nothing of Sam's.
    assert "SAM/1" not in html and "Sam" not in html and "college" not in html
    for path in (out, out.with_suffix(".json")):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_the_export_is_written_in_each_case_access_log(engine, session, children, tmp_path):
    run(engine, "subject-access", str(children["first"].id), "--out",
        str(tmp_path / "sar.html"), "--actor", "admin")
    logged = session.exec(select(AccessLog.case_id, AccessLog.username)
                          .where(AccessLog.view == "subject access export")).all()
    assert sorted(logged) == sorted([(children["first"].id, "admin"),
                                     (children["second"].id, "admin")])


def test_a_missing_folder_or_case_is_a_clear_message_and_logs_nothing(engine, session,
                                                                      children, tmp_path):
    missing = run(engine, "subject-access", "ALEX/1", "--out",
                  str(tmp_path / "no such folder" / "sar.html"), "--actor", "admin")
    assert missing.exit_code == 1
    assert "there is no folder" in missing.output
    unknown = run(engine, "subject-access", "NOBODY/9", "--out", str(tmp_path / "sar.html"),
                  "--actor", "admin")
    assert unknown.exit_code == 1
    assert "No case has the id or police reference 'NOBODY/9'" in unknown.output
    assert not (tmp_path / "sar.html").exists()
    assert session.exec(select(AccessLog).where(
        AccessLog.view == "subject access export")).all() == []
