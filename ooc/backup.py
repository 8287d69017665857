"""Backing up and restoring the whole database, SQLite or PostgreSQL.

SQLite is copied with its online backup API (`sqlite3.Connection.backup`) inside one read
transaction, so the copy is the database as it was at one instant even while the application
writes (WAL: readers do not stop writers). PostgreSQL is dumped with `pg_dump` in its custom
format and restored with `pg_restore --clean --if-exists` in one transaction. The password never
goes on a command line (where `ps` shows it): the programs get the address without it, and the
password through PGPASSWORD in their environment.

Backups are created readable by their owner only. A restore refuses to replace a database that
holds anything unless forced, and is checked afterwards as `ooc audit verify` checks.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.engine import URL, make_url
from sqlmodel import Session, SQLModel

from ooc import models  # noqa: F401  (the tables, in SQLModel.metadata, to count rows in)
from ooc.db import schema_revision, sqlite_path
from ooc.errors import OocError
from ooc.private import create_private_file, make_private, sqlite_files

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
PAGES_PER_STEP = 1024  # 4 MB at SQLite's default page size: a progress line every few
REFERENCE_TABLES = {"calendar_days", "alembic_version"}  # come with the schema, not with use

Progress = Callable[[str], None]


class BackupError(OocError):
    """A backup or restore that cannot be done; nothing was changed."""


@dataclass(frozen=True)
class Check:
    """What a restored database holds and whether its audit trail is intact."""

    cases: int
    events: int
    problems: list[str]  # breaks in the hash chains
    stale: list[str]  # the figures' tables out of step with the events
    revision: str | None
    head: str | None

    @property
    def current(self) -> bool:
        return self.revision == self.head


def _quiet(_line: str) -> None:
    pass


# --- SQLite ----------------------------------------------------------------------------------


def _new_backup_file(out: Path) -> None:
    if not out.parent.is_dir():
        raise BackupError(f"There is no folder {out.parent} to write the backup in.")
    try:
        create_private_file(out)
    except FileExistsError:
        raise BackupError(f"{out} already exists; give a new file name (a backup never "
                          "replaces another).") from None
    except OSError as e:
        raise BackupError(f"Cannot create {out}: {e.strerror}.") from None


def _copy(source: sqlite3.Connection, target: sqlite3.Connection, progress: Progress,
          what: str) -> None:
    """Copy every page of `source` into `target` in steps, reporting how far it has got."""
    shown = [-1]

    def step(_status: int, remaining: int, total: int) -> None:
        percent = 100 * (total - remaining) // total if total else 100
        if percent // 10 != shown[0] // 10:
            shown[0] = percent
            progress(f"{what}: {percent}% of {total:,} pages")

    # One read transaction round the whole copy: a write by the application between two steps
    # is not in this snapshot, so SQLite does not start the copy again, and the copy is the
    # database at one instant.
    source.execute("BEGIN")
    source.execute("SELECT count(*) FROM sqlite_master").fetchone()
    try:
        source.backup(target, pages=PAGES_PER_STEP, progress=step)
    finally:
        source.execute("COMMIT")


def backup_sqlite(database: Path, out: Path, progress: Progress = _quiet) -> None:
    """Copy the SQLite database at `database` to a new owner-only file `out`."""
    if not database.exists():
        raise BackupError(f"There is no database file {database}.")
    _new_backup_file(out)
    try:
        source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, isolation_level=None)
        target = sqlite3.connect(out)
        try:
            _copy(source, target, progress, "Copied")
            # One self-contained file: no -wal file to forget beside it.
            target.execute("PRAGMA journal_mode=DELETE")
            result = target.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            source.close()
            target.close()
        if result != "ok":
            raise BackupError(f"The copy failed SQLite's check ({result}); it was removed.")
    except BaseException:
        out.unlink(missing_ok=True)
        raise


def _readable_backup(path: Path) -> bytes:
    if not path.is_file():
        raise BackupError(f"There is no backup file {path}.")
    with path.open("rb") as f:
        return f.read(16)


def restore_sqlite(backup: Path, database: Path, progress: Progress = _quiet) -> None:
    """Copy the SQLite backup `backup` over the database at `database` (emptiness is the
    caller's to check first)."""
    head = _readable_backup(backup)
    if head.startswith(PG_DUMP_MAGIC):
        raise BackupError(f"{backup} is a PostgreSQL backup; the database here is SQLite.")
    if not head.startswith(SQLITE_MAGIC):
        raise BackupError(f"{backup} is not an ooc backup (not a SQLite database file).")
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True, isolation_level=None)
    try:
        if source.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(f"{backup} is damaged (SQLite's check fails); nothing restored.")
        tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master")}
        if not {"cases", "audit_events", "alembic_version"} <= tables:
            raise BackupError(f"{backup} is a SQLite database but not an ooc one.")
        if not database.exists():
            database.parent.mkdir(parents=True, exist_ok=True)
            create_private_file(database)
        target = sqlite3.connect(database, timeout=30)
        try:
            _copy(source, target, progress, "Restored")
            target.execute("PRAGMA journal_mode=WAL")  # the mode ooc runs the database in
        finally:
            target.close()
    finally:
        source.close()
    make_private(*sqlite_files(database))


# --- PostgreSQL ------------------------------------------------------------------------------


def find_pg_tool(name: str) -> Path:
    """`pg_dump` or `pg_restore`: the newest of Debian's /usr/lib/postgresql/*/bin (a newer
    pg_dump reads older servers, never the reverse), else the one on PATH."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=lambda f: int(Path(f).parent.name) if Path(f).parent.name.isdigit()
                         else 0, reverse=True):
        if Path(folder, name).exists():
            return Path(folder, name)
    found = shutil.which(name)
    if found:
        return Path(found)
    raise BackupError(f"{name} is not installed: install PostgreSQL's client programs (on "
                      "Debian, the postgresql-client package) and run the command again.")


def libpq_target(url: str | URL) -> tuple[str, dict[str, str]]:
    """The database address for libpq without its password, and the environment carrying it."""
    parsed = make_url(url) if isinstance(url, str) else url
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    # URL.set(password=None) would keep the password: build the address without it.
    address = URL.create("postgresql", username=parsed.username, host=parsed.host,
                         port=parsed.port, database=parsed.database, query=parsed.query)
    return address.render_as_string(hide_password=False), env


def _run_pg(args: list[str], env: dict[str, str], progress: Progress,
            keep: Callable[[str], bool]) -> None:
    """Run a PostgreSQL program, passing the lines `keep` picks from its --verbose output on as
    progress; BackupError with its last words if it fails."""
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    tail: list[str] = []
    assert process.stderr is not None
    for line in process.stderr:
        line = line.rstrip()
        tail = (tail + [line])[-5:]
        if keep(line):
            progress(line.split(": ", 1)[-1])
    if process.wait() != 0:
        errors = [t for t in tail if "error" in t.lower()] or tail
        raise BackupError(f"{Path(args[0]).name} failed: " + " ".join(errors))


def backup_postgres(url: str | URL, out: Path, progress: Progress = _quiet) -> None:
    """Dump the whole PostgreSQL database to a new owner-only file `out` (custom format)."""
    pg_dump = find_pg_tool("pg_dump")
    address, env = libpq_target(url)
    _new_backup_file(out)
    try:
        _run_pg([str(pg_dump), "--format=custom", "--verbose", f"--file={out}",
                 f"--dbname={address}"], env, progress,
                keep=lambda line: "dumping contents of table" in line)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    os.chmod(out, 0o600)


def restore_postgres(backup: Path, url: str | URL, progress: Progress = _quiet) -> None:
    """Restore a custom-format dump over the database at `url`, in one transaction: a failure
    leaves the database as it was."""
    head = _readable_backup(backup)
    if head.startswith(SQLITE_MAGIC):
        raise BackupError(f"{backup} is a SQLite backup; the database here is PostgreSQL.")
    if not head.startswith(PG_DUMP_MAGIC):
        raise BackupError(f"{backup} is not an ooc backup (not a pg_dump custom-format file).")
    pg_restore = find_pg_tool("pg_restore")
    address, env = libpq_target(url)
    _run_pg([str(pg_restore), "--clean", "--if-exists", "--no-owner", "--single-transaction",
             "--exit-on-error", "--verbose", f"--dbname={address}", str(backup)], env, progress,
            keep=lambda line: "processing data for table" in line)


# --- both ------------------------------------------------------------------------------------


def rows_held(engine: Engine) -> int:
    """How many rows the database's ooc tables hold, beyond the reference data the schema
    comes with (0: a new or empty database, safe to restore into)."""
    present = set(inspect(engine).get_table_names())
    tables = [t for t in SQLModel.metadata.sorted_tables
              if t.name in present and t.name not in REFERENCE_TABLES]
    with engine.connect() as connection:
        return sum(connection.execute(select(func.count()).select_from(t)).scalar_one()
                   for t in tables)


def backup(engine: Engine, out: Path, progress: Progress = _quiet) -> None:
    database = sqlite_path(engine.url)
    if engine.dialect.name == "sqlite":
        if database is None:
            raise BackupError("An in-memory SQLite database cannot be backed up.")
        backup_sqlite(database, out, progress)
    else:
        backup_postgres(engine.url, out, progress)


def restore(engine: Engine, backup_file: Path, *, force: bool,
            progress: Progress = _quiet) -> None:
    """Replace the database's contents with the backup's. Refused when the database holds
    anything, unless `force`."""
    _readable_backup(backup_file)
    held = rows_held(engine)
    if held and not force:
        raise BackupError(f"The database is not empty ({held:,} rows); restoring would replace "
                          "everything in it. Restore into a new database, or give --force "
                          "to replace it.")
    engine.dispose()  # no pooled connection keeps the old contents open
    if engine.dialect.name == "sqlite":
        database = sqlite_path(engine.url)
        if database is None:
            raise BackupError("Cannot restore into an in-memory SQLite database.")
        restore_sqlite(backup_file, database, progress)
    else:
        restore_postgres(backup_file, engine.url, progress)
    engine.dispose()


def check_restored(engine: Engine, registry) -> Check:
    """The restored database's case and event counts, and `ooc audit verify`'s checks (the
    figures' tables too, when the schema is current)."""
    from alembic.script import ScriptDirectory

    from ooc.audit import verify_trail
    from ooc.db import alembic_config
    from ooc.figures.facts import facts_differences

    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    revision = schema_revision(engine)
    with Session(engine) as session:
        cases, events, problems = verify_trail(session)
        stale = facts_differences(session, registry) if revision == head else []
    return Check(cases, events, problems, stale, revision, head)
