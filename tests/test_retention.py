"""Retention (issue 12, point 9): closed cases past their retention period are anonymised -
names, references and free text gone from the case, its events, search and the export - while
the figures stay the same and the audit trail still verifies."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from ooc.audit import case_events, verify_trail
from ooc.cli import app
from ooc.demo import load_demo
from ooc.figures import compute_figures
from ooc.figures.facts import facts_differences
from ooc.figures.model import Period
from ooc.models import Case, CaseFacts, DecisionFacts, Draft, StepFacts
from ooc.retention import RetentionRule, anonymise, anonymised_cases, due_cases
from ooc.system_audit import verify_system_chain
from tests.support import Walker, empty_database
from tests.web_support import sign_in

runner = CliRunner()
PERSONAL = ["Alex", "TEST/0001", "Engaged with school", "Proportionate to a first"]


def run(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def cli_env(engine, monkeypatch):
    monkeypatch.setenv("OOC_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OOC_RETENTION_YEARS", "2")
    return engine


@pytest.fixture
def closed_and_open(session, registry, users):
    walker = Walker(session, registry, users)
    closed = walker.create()
    walker.to(closed, "closed")
    still_open = walker.create(police_reference="TEST/0002", given_name="Sam")
    walker.to(still_open, "ready_for_panel")
    return closed, still_open


def exported(tmp_path) -> str:
    out = tmp_path / "audit.jsonl"
    assert run("audit", "export", "--out", str(out)).exit_code == 0
    return out.read_text()


def of_case(export: str, case_id: int) -> str:
    """The exported events of one case."""
    return "\n".join(line for line in export.splitlines()
                     if json.loads(line).get("case_id") == case_id and "trigger" in line)


def test_a_dry_run_lists_the_cases_due_and_changes_nothing(cli_env, session, closed_and_open,
                                                         tmp_path):
    closed, _ = closed_and_open
    before = exported(tmp_path)
    not_yet = run("retention", "apply", "--dry-run", "--today", "2027-03-01")
    assert "0 closed cases would be anonymised" in not_yet.output
    due = run("retention", "apply", "--dry-run", "--today", "2028-12-01")
    assert due.exit_code == 0, due.output
    assert f"case {closed.id}: last action 2026-03-" in due.output
    assert "Rule: closed cases, 2 years after its last action." in due.output
    assert "1 closed case would be anonymised (dry run: nothing was changed)." in due.output
    (tmp_path / "audit.jsonl").unlink()
    assert exported(tmp_path) == before


def test_apply_removes_the_childs_details_everywhere_and_the_trail_still_verifies(
        cli_env, session, client, closed_and_open, tmp_path):
    closed, still_open = closed_and_open
    assert all(word in of_case(exported(tmp_path), closed.id) for word in PERSONAL)
    (tmp_path / "audit.jsonl").unlink()
    session.add(Draft(case_id=closed.id, trigger="complete", author="case_manager",
                      values={"summary": "Alex did well."}, saved_at=closed.updated_at))
    session.commit()

    done = run("retention", "apply", "--today", "2028-12-01")
    assert done.exit_code == 0, done.output
    assert "1 closed case was anonymised." in done.output

    export = exported(tmp_path)
    assert [word for word in PERSONAL if word in of_case(export, closed.id)] == []
    assert "Alex" not in export
    assert "Engaged with school" in of_case(export, still_open.id)  # the open case: untouched
    session.expire_all()
    row = session.get(Case, closed.id)
    assert (row.child_name, row.police_reference, row.offence_description) == (
        "Anonymised child", f"ANON-{closed.id}", "[removed]")
    assert session.exec(select(Draft).where(Draft.case_id == closed.id)).all() == []
    events = json.dumps([e.data for e in case_events(session, closed.id)])
    assert [word for word in PERSONAL if word in events] == []

    sign_in(client, "case_manager")
    page = client.get(f"/cases/{closed.id}")
    assert page.status_code == 200
    assert "Alex" not in page.text and "Anonymised child" in page.text
    token = sign_in(client, "manager")
    sent = client.post("/search", data={"csrf_token": token, "name": "alex"},
                       follow_redirects=False)
    found = client.get(sent.headers["location"])
    assert f'href="/cases/{closed.id}"' not in found.text

    verified = run("audit", "verify")
    assert verified.exit_code == 0, verified.output
    system = [json.loads(line) for line in export.splitlines()
              if '"record":"system_event"' in line]
    assert [(e["action"], e["details"]["case_ids"]) for e in system] == [
        ("anonymise_case", [closed.id])]
    again = run("retention", "apply", "--today", "2028-12-01")
    assert "0 closed cases were anonymised." in again.output


def test_editing_an_anonymised_case_is_still_found(cli_env, session, closed_and_open):
    closed, _ = closed_and_open
    assert run("retention", "apply", "--today", "2028-12-01").exit_code == 0
    with cli_env.begin() as connection:
        connection.execute(text("UPDATE audit_events SET actor = 'intruder' "
                                "WHERE case_id = :c AND seq = 2"), {"c": closed.id})
    assert run("audit", "verify").exit_code == 1


def test_a_bad_retention_setting_is_a_clear_message(cli_env, monkeypatch):
    monkeypatch.setenv("OOC_RETENTION_YEARS", "six")
    result = run("retention", "apply", "--dry-run")
    assert result.exit_code == 1
    assert "OOC_RETENTION_YEARS must be a whole number of years" in result.output


def test_the_18th_birthday_rule_waits_for_the_child_to_grow_up(session, registry, users):
    walker = Walker(session, registry, users)
    closed = walker.create()  # born 15 June 2011
    walker.to(closed, "closed")
    rule = RetentionRule(years=2, basis="eighteenth_birthday")
    assert due_cases(session, registry, rule, date(2031, 6, 14)) == []
    assert [d.case_id for d in due_cases(session, registry, rule, date(2031, 6, 15))] == [
        closed.id]


def _figures(session, registry):
    period = Period.of(date(2025, 12, 1), date(2026, 11, 20),
                       as_of=datetime.fromisoformat("2026-11-20T18:00:00+00:00"))
    return compute_figures(session, registry=registry, period=period)


def _facts(session):
    session.expire_all()
    return [sorted(r.model_dump().items(), key=lambda kv: kv[0])
            for table in (CaseFacts, DecisionFacts, StepFacts)
            for r in session.exec(select(table))]


def test_anonymising_the_demo_keeps_every_figure_and_the_trail(engine, session, registry):
    empty_database(engine)
    load_demo(session, registry=registry, cases=120, seed=11, today=date(2026, 11, 20))
    session.commit()
    figures, facts = _figures(session, registry), _facts(session)
    due = due_cases(session, registry, RetentionRule(years=0), date(2026, 11, 20))
    assert len(due) > 10
    anonymise(session, registry, [d.case_id for d in due], actor="admin",
              rule=RetentionRule(years=0), now=datetime.fromisoformat("2026-11-20T12:00Z"))
    session.commit()

    assert anonymised_cases(session) == {d.case_id for d in due}
    _, problems, anonymised = verify_system_chain(session)
    assert problems == []
    assert verify_trail(session, registry, anonymised)[2] == []
    assert facts_differences(session, registry) == []
    assert _facts(session) == facts
    assert _figures(session, registry) == figures
    names = {c.given_name for c in session.exec(select(Case).where(
        Case.id.in_([d.case_id for d in due])))}
    assert names == {"Anonymised"}
    # Without the anonymisation on record the removed content is reported, not hidden.
    assert verify_trail(session, registry)[2] != []
