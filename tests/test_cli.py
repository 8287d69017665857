"""The command line: set-up, status, audit verify/export and clear errors without tracebacks."""

from __future__ import annotations

import json

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from typer.testing import CliRunner

from ooc.cli import app
from ooc.db import MIGRATIONS
from tests.support import Walker

runner = CliRunner()


@pytest.fixture
def cli_env(engine, monkeypatch):
    monkeypatch.setenv("OOC_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    return engine


def run(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def test_init_creates_the_schema_in_a_new_sqlite_file(tmp_path, monkeypatch):
    monkeypatch.setenv("OOC_DATABASE_URL", f"sqlite:///{tmp_path / 'new' / 'ooc.db'}")
    before = run("status")
    assert before.exit_code == 1
    assert "has no ooc tables yet. Run `ooc init` first." in before.output
    result = run("init")
    assert result.exit_code == 0
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert "Database ready" in result.output and f"schema revision {head}" in result.output
    assert run("init").exit_code == 0  # running it again upgrades nothing and is harmless
    assert "There are no cases yet." in run("status").output


def test_an_unreachable_database_is_a_clear_message(monkeypatch):
    monkeypatch.setenv("OOC_DATABASE_URL", "postgresql://ooc:secret@127.0.0.1:1/ooc")
    result = run("audit", "verify")
    assert result.exit_code == 1
    assert "Cannot reach the database at postgresql+psycopg://ooc:***@127.0.0.1:1/ooc" \
        in result.output
    assert "secret" not in result.output


def test_a_nonsense_database_url_is_a_clear_message(monkeypatch):
    monkeypatch.setenv("OOC_DATABASE_URL", "not a url")
    result = run("init")
    assert result.exit_code == 1
    assert "'not a url' is not a database URL" in result.output


def test_status_counts_cases_by_state(cli_env, session, registry, users):
    walker = Walker(session, registry, users)
    walker.create()
    walker.to(walker.create(police_reference="TEST/0002"), "assessing")
    result = run("status")
    assert result.exit_code == 0
    assert "Out-of-court disposal (oocd version 1): 2 cases" in result.output
    lines = {line.split()[0]: line.split()[-1] for line in result.output.splitlines()
             if line.startswith("  ")}
    assert lines["Referred"] == "1"
    assert lines["Assessment"] == "1"


def test_audit_verify_and_export(cli_env, session, registry, users, tmp_path):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "ready_for_panel")
    ok = run("audit", "verify")
    assert ok.exit_code == 0
    assert "The audit trail is intact: 1 cases, 4 events checked." in ok.output

    out = tmp_path / "audit.jsonl"
    exported = run("audit", "export", "--out", str(out))
    assert exported.exit_code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["trigger"] for r in rows] == ["create", "take_case", "submit_assessment",
                                            "countersign"]

    with cli_env.begin() as connection:
        connection.execute(text("UPDATE audit_events SET actor = 'intruder' WHERE seq = 2"))
    broken = run("audit", "verify")
    assert broken.exit_code == 1
    assert f"Case {case.id}, event 2 (take_case): its contents were changed" in broken.output
    assert "The audit trail is NOT intact: 1 problem in 1 cases and 4 events" in broken.output


def test_verify_notices_figures_tables_out_of_step_and_refresh_facts_mends_them(
        cli_env, session, registry, users):
    walker = Walker(session, registry, users)
    walker.to(walker.create(), "ready_for_panel")
    assert "The figures' tables agree with the audit trail." in run("audit", "verify").output

    with cli_env.begin() as connection:  # as a change made outside the application might
        connection.execute(text("UPDATE case_facts SET assessed_at = NULL"))
    stale = run("audit", "verify")
    assert stale.exit_code == 1
    assert "case_facts: 1 rows differ from the audit trail" in stale.output
    assert "The figures' tables do not agree with the audit trail." in stale.output

    mended = run("audit", "refresh-facts")
    assert mended.exit_code == 0
    assert "rewritten from the audit trail (1 cases)" in mended.output
    assert run("audit", "verify").exit_code == 0


def test_deadlines_lists_overdue_work(cli_env, session, registry, users):
    Walker(session, registry, users).create()
    result = run("deadlines", "--now", "2026-03-18", "--overdue")
    assert result.exit_code == 0
    assert "overdue by 2 working days" in result.output
    assert "Assessment submitted" in result.output
    assert "1 open deadline." in result.output
