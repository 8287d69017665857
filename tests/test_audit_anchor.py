"""The anchored audit trail (issue 12, point 5): each way of tampering that the database alone
cannot show is found against a signed checkpoint kept outside it; an edited case record is found
by replaying its events; changes to users and settings are a chain of their own."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from ooc.access import log_view
from ooc.accounts import add_user
from ooc.audit import GENESIS, case_events, chain_hash, content_digest, replay
from ooc.cli import app
from ooc.models import AccessLog, AuditEvent, Case, SystemEvent
from tests.support import NOW, PASSWORD, Walker

runner = CliRunner()
KEY = "k" * 48


def run(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def cli_env(engine, monkeypatch, tmp_path):
    monkeypatch.setenv("OOC_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    key = tmp_path / "audit.key"
    key.write_text(KEY)
    monkeypatch.setenv("OOC_AUDIT_KEY_FILE", str(key))
    return engine


@pytest.fixture
def case(session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "ready_for_panel")
    other = walker.create(police_reference="TEST/0002")
    walker.to(other, "assessing")
    log_view(session, user=users["case_manager"], case_id=case.id, view="case page", now=NOW,
             address="10.0.0.7")
    log_view(session, user=users["manager"], case_id=case.id, view="case page", now=NOW)
    session.commit()
    return case


def checkpoint(tmp_path) -> str:
    made = run("audit", "checkpoint", "--out", str(tmp_path))
    assert made.exit_code == 0, made.output
    (path,) = tmp_path.glob("checkpoint-*.json")
    return str(path)


def sql(engine, statement: str, **params) -> None:
    with engine.begin() as connection:
        connection.execute(text(statement), params)


def rewrite_case(session, registry, case_id: int) -> None:
    """What someone with write access who knows the code would do after tampering: recompute
    every digest and hash of the case's chain and set the case row to what its events say, so
    that the database on its own is consistent again."""
    session.expire_all()
    prev = GENESIS
    for event in case_events(session, case_id):
        event.data_digest = content_digest(event.data, event.reason)
        event.prev_hash = prev
        event.hash = prev = chain_hash(prev, event.model_dump())
    session.flush()
    snap = replay(registry, case_events(session, case_id))
    row = session.get(Case, case_id)
    row.state, row.victim_state = snap.states["main"], snap.states["victim"]
    row.data, row.case_manager = snap.data, snap.case_manager
    row.version, row.audit_head = snap.version, snap.audit_head
    session.commit()


def verify_since(path: str):
    return run("audit", "verify", "--since", path)


def test_a_checkpoint_of_an_untouched_trail_verifies(cli_env, case, tmp_path):
    result = verify_since(checkpoint(tmp_path))
    assert result.exit_code == 0, result.output
    assert "The audit trail is intact: 2 cases, 6 events checked." in result.output
    assert "against the checkpoint of" in result.output


def test_a_rewound_trail_is_found_against_the_checkpoint(cli_env, session, registry, case,
                                                          tmp_path):
    saved = checkpoint(tmp_path)
    newest = session.exec(select(AuditEvent.id).where(AuditEvent.case_id == case.id,
                                                      AuditEvent.seq == case.version)).one()
    sql(cli_env, "DELETE FROM audit_events WHERE id = :id", id=newest)
    rewrite_case(session, registry, case.id)
    assert run("audit", "refresh-facts").exit_code == 0
    assert run("audit", "verify").exit_code == 0  # the database alone cannot tell
    found = verify_since(saved)
    assert found.exit_code == 1
    assert (f"Case {case.id}: rewound since the checkpoint: it was at version 4 and is now "
            "at 3 (its newest events were deleted).") in found.output


def test_an_edited_and_rehashed_chain_is_found_against_the_checkpoint(
        cli_env, session, registry, case, tmp_path):
    saved = checkpoint(tmp_path)
    sql(cli_env, "UPDATE audit_events SET at = :at WHERE case_id = :c AND seq = 2",
        at="2026-03-01 09:00:00.000000", c=case.id)
    rewrite_case(session, registry, case.id)
    assert run("audit", "verify").exit_code == 0  # the chain was recomputed: it links up
    found = verify_since(saved)
    assert found.exit_code == 1
    assert (f"Case {case.id}: its trail up to event 4 is not the one the checkpoint saw "
            "(events were changed and the chain recomputed).") in found.output


def test_a_deleted_case_is_found_against_the_checkpoint(cli_env, session, case, tmp_path):
    saved = checkpoint(tmp_path)
    for table in ("decision_facts", "step_facts", "case_facts", "deadlines",
                  "case_search_keys", "access_log", "drafts", "audit_events"):
        sql(cli_env, f"DELETE FROM {table} WHERE case_id = :c", c=case.id)
    sql(cli_env, "DELETE FROM cases WHERE id = :c", c=case.id)
    assert run("audit", "verify").exit_code == 0
    found = verify_since(saved)
    assert found.exit_code == 1
    assert f"Case {case.id}: deleted since the checkpoint (it was at version 4)." \
        in found.output


def test_a_deleted_access_log_row_is_found_against_the_checkpoint(cli_env, session, case,
                                                                   tmp_path):
    saved = checkpoint(tmp_path)
    first = session.exec(select(AccessLog.id).order_by(AccessLog.id)).first()
    sql(cli_env, "DELETE FROM access_log WHERE id = :id", id=first)
    found = verify_since(saved)
    assert found.exit_code == 1
    assert "Access log: 1 of the 2 rows written before the checkpoint were deleted." \
        in found.output


def test_an_edited_access_log_row_is_found_against_the_checkpoint(cli_env, session, case,
                                                                  tmp_path):
    saved = checkpoint(tmp_path)
    sql(cli_env, "UPDATE access_log SET username = 'someone_else'")
    found = verify_since(saved)
    assert found.exit_code == 1
    assert "Access log: rows written before the checkpoint were changed" in found.output


@pytest.mark.parametrize(("column", "value", "what"), [
    ("state", "closed", "the main track's state"),
    ("victim_state", "victim_informed", "the victim track's state"),
    ("data", '{"assessment": {"by": "someone"}}', "the recorded data"),
    ("case_manager", "case_manager2", "the case manager"),
])
def test_an_edited_case_record_is_found_by_replaying_its_events(cli_env, case, column, value,
                                                               what):
    sql(cli_env, f"UPDATE cases SET {column} = :v WHERE id = :c", v=value, c=case.id)
    found = run("audit", "verify")
    assert found.exit_code == 1
    assert (f"Case {case.id}: {what} in the case record does not match its events (the case "
            "record was changed)") in found.output


def test_an_edited_system_event_is_named(cli_env, session, case):
    add_user(session, username="newcomer", roles=["manager"], password=PASSWORD,
             actor="admin", now=NOW)
    session.commit()
    sql(cli_env, "UPDATE system_events SET actor = 'nobody'")
    found = run("audit", "verify")
    assert found.exit_code == 1
    assert "System event 1 (add_user newcomer): its contents were changed after it was " \
           "written." in found.output


def test_a_rewritten_system_chain_is_found_against_the_checkpoint(cli_env, session, case,
                                                                  tmp_path):
    from ooc.system_audit import system_hash

    add_user(session, username="newcomer", roles=["manager"], password=PASSWORD,
             actor="admin", now=NOW)
    session.commit()
    saved = checkpoint(tmp_path)
    event = session.exec(select(SystemEvent)).one()
    event.actor = "nobody"
    event.hash = system_hash(event.prev_hash, event.model_dump())
    session.commit()
    assert run("audit", "verify").exit_code == 0
    found = verify_since(saved)
    assert found.exit_code == 1
    assert "System events: the chain up to event 1 is not the one the checkpoint saw" \
        in found.output


def test_a_checkpoint_needs_the_key_and_is_never_overwritten(cli_env, case, tmp_path,
                                                             monkeypatch):
    saved = checkpoint(tmp_path)
    again = run("audit", "checkpoint", "--out", saved)
    assert again.exit_code == 1
    assert "already exists: a checkpoint is never overwritten" in again.output

    forged = json.loads(open(saved).read())
    forged["cases"] = forged["cases"][1:]  # as if the first case had never existed
    forged_path = tmp_path / "forged.json"
    forged_path.write_text(json.dumps(forged))
    refused = verify_since(str(forged_path))
    assert refused.exit_code == 1
    assert "does not match its signature: it was altered, or made with another audit key" \
        in refused.output

    monkeypatch.delenv("OOC_AUDIT_KEY_FILE")
    missing = run("audit", "checkpoint", "--out", str(tmp_path / "new.json"))
    assert missing.exit_code == 1
    assert "No audit key is configured. Set OOC_AUDIT_KEY_FILE" in missing.output
    assert not (tmp_path / "new.json").exists()


def test_export_includes_system_events_and_the_access_log(cli_env, session, case, tmp_path):
    add_user(session, username="newcomer", roles=["manager"], password=PASSWORD,
             actor="admin", now=NOW)
    session.commit()
    out = tmp_path / "audit.jsonl"
    assert run("audit", "export", "--out", str(out)).exit_code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    access = [r for r in rows if r.get("record") == "access"]
    system = [r for r in rows if r.get("record") == "system_event"]
    assert [(r["username"], r["case_id"], r["address"]) for r in access] == [
        ("case_manager", case.id, "10.0.0.7"), ("manager", case.id, None)]
    assert [(r["actor"], r["action"], r["subject"]) for r in system] == [
        ("admin", "add_user", "newcomer")]


# --- the schema migration that rehashes the trail ---------------------------------------------


def test_migration_0012_rehashes_existing_chains_and_refuses_a_broken_one(tmp_path, registry):
    from datetime import date

    from alembic import command
    from sqlmodel import Session

    from ooc.audit import verify_trail
    from ooc.db import alembic_config, make_engine, upgrade_schema
    from ooc.demo import load_demo

    engine = make_engine(f"sqlite:///{tmp_path / 'older.db'}")
    upgrade_schema(engine)
    with Session(engine) as session:
        load_demo(session, registry=registry, cases=30, seed=5, today=date(2026, 11, 20))
        session.commit()
        heads = session.exec(select(Case.id, Case.audit_head)).all()
    command.downgrade(alembic_config(engine), "0010")  # the trail hashed the old way
    with engine.begin() as connection:
        old_heads = connection.execute(text("SELECT id, audit_head FROM cases")).all()
    assert old_heads != heads

    upgrade_schema(engine)
    with Session(engine) as session:
        assert session.exec(select(Case.id, Case.audit_head)).all() == heads
        assert verify_trail(session, registry) == (30, verify_trail(session)[1], [])

    command.downgrade(alembic_config(engine), "0010")
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET actor = 'intruder' WHERE id = 3"))
    with pytest.raises(RuntimeError, match="the audit trail does not verify, so its hashes "
                                           "are not recomputed"):
        upgrade_schema(engine)
    engine.dispose()
