"""`ooc backup` and `ooc restore`: the whole database, SQLite or PostgreSQL, copied while it is
in use, restored into a new database and checked; files holding children's records readable by
their owner only."""

from __future__ import annotations

import os
import sqlite3
import stat
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlmodel import Session
from typer.testing import CliRunner

from ooc import backup as backup_module
from ooc.backup import BackupError, backup_sqlite, find_pg_tool, libpq_target
from ooc.cli import app
from ooc.db import make_engine, upgrade_schema
from ooc.models import AccessLog, AuditEvent, Case
from tests.support import Walker

runner = CliRunner()


def run(url: str, *args: str):
    result = runner.invoke(app, list(args), env={"OOC_DATABASE_URL": url})
    assert "Traceback" not in result.output
    return result


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def two_cases(engine, session, registry, users):
    walker = Walker(session, registry, users)
    walker.to_closed(walker.create(police_reference="BACKUP/1"))
    walker.create(police_reference="BACKUP/2")
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def new_database(engine, tmp_path):
    """The URL of a new, empty database of the same kind as `engine`."""
    if engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'ooc.db'}"
        return
    name = f"restored_{uuid.uuid4().hex[:8]}"
    admin = create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield engine.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def heads(url: str) -> list[tuple]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return session.execute(select(Case.police_reference, Case.state, Case.audit_head)
                                   .order_by(Case.id)).all()
    finally:
        engine.dispose()


def events(url: str) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    finally:
        engine.dispose()


def test_a_backup_restores_into_a_new_database_with_the_same_cases_and_an_intact_trail(
        two_cases, new_database, tmp_path):
    out = tmp_path / "ooc.backup"
    made = run(two_cases, "backup", str(out))
    assert made.exit_code == 0, made.output
    assert mode(out) == 0o600

    restored = run(new_database, "restore", str(out))
    assert restored.exit_code == 0, restored.output
    assert "Restored 2 cases" in restored.output
    assert "The restored audit trail is intact." in restored.output
    assert heads(new_database) == heads(two_cases)
    assert events(new_database) == events(two_cases) > 0
    assert run(new_database, "audit", "verify").exit_code == 0

    # Now it holds cases: another restore must be asked for.
    refused = run(new_database, "restore", str(out))
    assert refused.exit_code == 1
    assert "The database is not empty" in refused.output and "--force" in refused.output
    assert run(new_database, "restore", str(out), "--force").exit_code == 0


def test_a_backup_never_replaces_a_file_and_needs_its_folder(two_cases, tmp_path):
    existing = tmp_path / "already.backup"
    existing.write_text("keep me")
    refused = run(two_cases, "backup", str(existing))
    assert refused.exit_code == 1 and "already exists" in refused.output
    assert existing.read_text() == "keep me"
    missing = run(two_cases, "backup", str(tmp_path / "no such folder" / "b.backup"))
    assert missing.exit_code == 1 and "There is no folder" in missing.output


def test_restore_refuses_what_is_not_a_backup_and_changes_nothing(two_cases, new_database,
                                                                 tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database")
    result = run(new_database, "restore", str(junk))
    assert result.exit_code == 1 and "is not an ooc backup" in result.output
    missing = run(new_database, "restore", str(tmp_path / "absent.backup"))
    assert missing.exit_code == 1 and "There is no backup file" in missing.output


def test_a_restore_names_a_broken_audit_trail(engine, two_cases, new_database, tmp_path):
    if engine.dialect.name != "sqlite":
        pytest.skip("the backup is edited as a SQLite file")
    out = tmp_path / "ooc.backup"
    run(two_cases, "backup", str(out))
    with sqlite3.connect(out) as edited:  # someone alters the history in the backup
        edited.execute("UPDATE audit_events SET actor = 'someone_else' WHERE seq = 2")
    result = run(new_database, "restore", str(out))
    assert result.exit_code == 1
    assert "NOT intact" in result.output and "contents were changed" in result.output


def test_a_sqlite_backup_taken_while_the_application_writes_is_the_database_at_one_instant(
        engine, session, registry, users, tmp_path, monkeypatch):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's online backup")
    walker = Walker(session, registry, users)
    for n in range(30):
        walker.to_ready_for_panel(walker.create(police_reference=f"BUSY/{n}"))
    database = make_url(engine.url).database
    with Session(engine) as s:
        logged_before = s.execute(select(func.count()).select_from(AccessLog)).scalar_one()
    monkeypatch.setattr(backup_module, "PAGES_PER_STEP", 1)  # many steps, a write between each
    writer = sqlite3.connect(database, timeout=10)
    writes = []

    def write_between_steps(line: str) -> None:
        writer.execute("INSERT INTO access_log (at, username, case_id, view) VALUES "
                       "('2026-03-02 10:00:00', 'manager', 1, 'case page')")
        writer.commit()
        writes.append(line)

    out = tmp_path / "busy.backup"
    backup_sqlite(Path(database), out, write_between_steps)
    writer.close()
    assert len(writes) >= 5  # the application wrote while the copy was being made
    live = sqlite3.connect(database)
    assert live.execute("SELECT count(*) FROM access_log").fetchone()[0] == logged_before + len(
        writes)
    live.close()
    copy = sqlite3.connect(out)
    assert copy.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT count(*) FROM access_log").fetchone()[0] == logged_before
    assert copy.execute("SELECT count(*) FROM cases").fetchone()[0] == 30
    copy.close()
    restored = f"sqlite:///{tmp_path / 'r' / 'ooc.db'}"
    result = run(restored, "restore", str(out))
    assert result.exit_code == 0, result.output
    assert "Restored 30 cases" in result.output and "intact" in result.output


def test_the_database_its_folder_and_its_journal_files_are_owner_only(tmp_path):
    before = os.umask(0)  # the most permissive umask: the modes must not depend on it
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'ooc.db'}")
        upgrade_schema(engine)
        with engine.begin() as connection:
            connection.execute(text("SELECT count(*) FROM cases"))
            names = {p.name: mode(p) for p in (tmp_path / "var").iterdir()}
        engine.dispose()
    finally:
        os.umask(before)
    assert mode(tmp_path / "var") == 0o700
    assert names["ooc.db"] == 0o600
    assert {n: m for n, m in names.items() if n.endswith(("-wal", "-shm"))} == {
        "ooc.db-wal": 0o600, "ooc.db-shm": 0o600}


def test_ooc_init_makes_an_existing_world_readable_database_owner_only(tmp_path):
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    result = run(f"sqlite:///{path}", "init")
    assert result.exit_code == 0, result.output
    assert mode(path) == 0o600
    assert "was readable by other accounts" in result.output


def test_the_password_never_goes_on_the_command_line():
    address, env = libpq_target("postgresql+psycopg://ooc:s3cret@db.example:5433/ooc?sslmode="
                                "require")
    assert "s3cret" not in address
    assert address == "postgresql://ooc@db.example:5433/ooc?sslmode=require"
    assert env["PGPASSWORD"] == "s3cret"


def test_a_missing_pg_dump_is_a_clear_message(monkeypatch):
    monkeypatch.setattr(backup_module.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(backup_module.shutil, "which", lambda name: None)
    with pytest.raises(BackupError, match="pg_dump is not installed"):
        find_pg_tool("pg_dump")
