"""Database engines, the schema (through Alembic) and the unit of work.

SQLite is the embedded default, in WAL mode with synchronous=FULL so that a committed transition
survives a power cut; PostgreSQL is the production database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, create_engine

from ooc.errors import DatabaseUnavailable
from ooc.private import create_private_file, private_folder

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SQLITE_PRAGMAS = {
    "journal_mode": "WAL",
    "synchronous": "FULL",
    "foreign_keys": "ON",
    # A writer waits this long for another's write lock before "database is locked". Writes
    # are short (an import commits every 500 rows, a fraction of a second), so a page that
    # writes the access log waits milliseconds; the margin is for a slow disk under load.
    "busy_timeout": "30000",
    # Reads through a memory map of the file's first GiB, shared by every connection and
    # worker, rather than a read() into each connection's own 2 MB page cache: a search that
    # checks a thousand scattered cases took 9 ms and takes 2 (bench/web.py, 100,000 cases).
    "mmap_size": str(2**30),
}


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "the configured database"


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for `url`, with the pragmas every SQLite connection needs."""
    try:
        parsed = make_url(url)
    except Exception:
        raise DatabaseUnavailable(
            f"'{url}' is not a database URL. Use sqlite:///path/to/file.db or "
            "postgresql+psycopg://user@host/dbname.") from None
    if parsed.get_backend_name() == "sqlite":
        database = sqlite_path(parsed)
        if database is not None:
            # Children's records: the folder and the file owner-only from the start (SQLite
            # would create the file 0644 and its -wal and -shm files like it).
            private_folder(database.parent)
            try:
                create_private_file(database)
            except FileExistsError:
                pass
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _set_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            for name, value in SQLITE_PRAGMAS.items():
                cursor.execute(f"PRAGMA {name}={value}")
            cursor.close()

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # psycopg 3 is the driver this project installs.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def sqlite_path(url) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def check_connection(engine: Engine) -> None:
    """Raise DatabaseUnavailable with a plain message when the database cannot be reached."""
    try:
        with engine.connect():
            pass
    except (OperationalError, DBAPIError) as e:
        reason = str(e.orig).strip().splitlines()[0] if e.orig else str(e)
        raise DatabaseUnavailable(
            f"Cannot reach the database at {safe_url(str(engine.url))}: {reason}. Check that "
            "the database server is running and that OOC_DATABASE_URL is right.") from None


def alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade_schema(engine: Engine) -> None:
    """Create the schema, or bring it up to date, through the Alembic migrations."""
    from alembic import command

    check_connection(engine)
    command.upgrade(alembic_config(engine), "head")


def schema_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def has_schema(engine: Engine) -> bool:
    return inspect(engine).has_table("cases")


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """The one commit point: commit when the block succeeds, roll everything back if it fails."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
