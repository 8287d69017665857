"""The `ooc` command line. Every command commits once, at the end, or not at all.

Errors are printed as plain sentences on standard error with exit status 1 (2 for usage
mistakes, from Typer); never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine, func
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session, select

from ooc import cli_tokens
from ooc.errors import DatabaseUnavailable, NotFound, OocError

app = typer.Typer(help="ooc: out-of-court disposal workflow engine.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
workflow_app = typer.Typer(help="Check workflow files and migrate cases between versions.",
                           no_args_is_help=True)
users_app = typer.Typer(help="Add users, issue and revoke API tokens, sign users out.",
                        no_args_is_help=True)
import_app = typer.Typer(help="Import referrals from a CSV file.", no_args_is_help=True)
app.add_typer(workflow_app, name="workflow")
app.add_typer(users_app, name="users")
cli_tokens.register(users_app)
app.add_typer(import_app, name="import")


def fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(1)


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Turn domain and database errors into a message and exit status 1."""
    try:
        yield
    except OocError as e:
        raise fail(f"Error: {e}") from None
    except (OperationalError, ProgrammingError) as e:
        reason = str(e.orig).strip().splitlines()[0] if e.orig else str(e)
        raise fail(f"Error: the database refused the operation: {reason}. If the schema is "
                   "missing or old, run `ooc init`.") from None
    except UnicodeDecodeError as e:
        # Readers name their file where they can; this is for one that did not.
        raise fail(f"Error: a file is not UTF-8 text (byte {e.start + 1} cannot be read). "
                   "Save it as UTF-8 and try again.") from None
    except UnicodeEncodeError:
        # Text from the command line or standard input that was not UTF-8 (Python keeps the
        # bytes it cannot decode as "surrogates", which nothing can store).
        raise fail("Error: some of the text given is not UTF-8. Give it as UTF-8 and try "
                   "again.") from None
    except OSError as e:
        raise fail(f"Error: {_file_problem(e)}") from None


def _file_problem(e: OSError) -> str:
    """An operating system's refusal to read or write a file, in plain words."""
    name = e.filename or "the file"
    folder = Path(str(name)).parent
    if isinstance(e, FileNotFoundError) and e.filename and not folder.exists():
        return f"cannot write {name}: there is no folder {folder}. Create it, or choose " \
               "another place."
    if isinstance(e, FileNotFoundError):
        return f"there is no file {name}."
    if isinstance(e, IsADirectoryError):
        return f"{name} is a folder, not a file."
    if isinstance(e, PermissionError):
        return f"{name} cannot be used: permission denied."
    return f"{name} cannot be used: {e.strerror or e}."


def check_out_folder(out: Path | None) -> None:
    """Refuse, before any work is done, to write into a folder that does not exist."""
    if out is not None and not out.parent.exists():
        raise fail(f"Error: cannot write {out}: there is no folder {out.parent}. Create it, "
                   "or choose another place.")
    if out is not None and out.is_dir():
        raise fail(f"Error: {out} is a folder; give the name of the file to write.")


def _settings():
    from ooc.settings import SettingInvalid, Settings

    try:
        return Settings.from_environ(os.environ)
    except SettingInvalid as e:
        raise fail(f"Error: {e}") from None


def _registry():
    from ooc.machine import WorkflowRegistry

    return WorkflowRegistry.from_folder(_settings().workflows_dir)


def _engine(*, need_schema: bool = True) -> Engine:
    from ooc.db import check_connection, has_schema, make_engine, safe_url

    url = _settings().database_url
    engine = make_engine(url)
    check_connection(engine)
    if need_schema and not has_schema(engine):
        raise DatabaseUnavailable(f"The database at {safe_url(url)} has no ooc tables yet. "
                                  "Run `ooc init` first.")
    return engine


def _now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"Error: '{value}' is not a date or time; write it like 2026-03-27 or "
                   "2026-03-27T14:30.") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def command_line_actor() -> str:
    """Who a change made from the command line is recorded as (in the system chain)."""
    import getpass

    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return f"command line ({who})"[:64]


def _user(session: Session, username: str):
    from ooc.models import User

    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"There is no user '{username}'.")
    return user


@app.command()
def init() -> None:
    """Create the database schema, or upgrade it to the latest version."""
    from ooc.db import safe_url, schema_revision, sqlite_path, upgrade_schema
    from ooc.private import make_private, sqlite_files

    with reporting_errors():
        engine = _engine(need_schema=False)
        upgrade_schema(engine)
        typer.echo(f"Database ready at {safe_url(str(engine.url))} "
                   f"(schema revision {schema_revision(engine)}).")
        database = sqlite_path(engine.url)
        for path in make_private(*sqlite_files(database)) if database else []:
            typer.echo(f"{path} was readable by other accounts; it is now its owner's only.")


@app.command()
def demo(
    cases: Annotated[int, typer.Option(min=1, help="How many synthetic cases to create.")] = 300,
    seed: Annotated[int, typer.Option(help="The same seed gives the same data.")] = 1,
    today: Annotated[str | None, typer.Option(help="Build histories up to this date "
                                                   "(default: today).")] = None,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if the database "
                                                            "already has cases.")] = False,
) -> None:
    """Fill the database with synthetic demo cases, users and panel meetings."""
    from ooc.db import unit_of_work
    from ooc.demo import load_demo
    from ooc.models import Case

    with reporting_errors():
        engine = _engine()
        registry = _registry()
        as_of = _now(today).date() if today else date.today()
        with Session(engine) as session:
            existing = session.exec(select(func.count()).select_from(Case)).one()
        if if_empty and existing:
            typer.echo(f"The database already has {existing} cases; no demo data added.")
            if _demo_accounts_present(engine):
                _print_demo_accounts()
            return
        with typer.progressbar(length=cases, label="Creating demo cases", file=sys.stderr) as bar:
            done_so_far = 0

            def progress(done: int, _total: int) -> None:
                nonlocal done_so_far
                bar.update(done - done_so_far)
                done_so_far = done

            with unit_of_work(engine) as session:
                summary = load_demo(session, registry=registry, cases=cases, seed=seed,
                                    today=as_of, progress=progress)
        typer.echo(f"Created {summary.cases} demo cases, {summary.users} demo users and "
                   f"{summary.meetings} panel meetings.")
        _print_demo_accounts()


def _print_demo_accounts() -> None:
    from ooc.demo import DEMO_PASSWORD, DEMO_USERS

    typer.echo(f"Demo accounts (password for each: {DEMO_PASSWORD}):")
    for username, (_, roles) in DEMO_USERS.items():
        typer.echo(f"  {username:<15} {', '.join(r.replace('_', ' ') for r in roles)}")


def _demo_accounts_present(engine: Engine) -> int:
    from ooc.models import User

    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(User)
                            .where(User.is_demo.is_(True))).one()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the web application."""
    with reporting_errors():
        engine = _engine()
        demo_accounts = _demo_accounts_present(engine)
        engine.dispose()
    if demo_accounts:
        banner = "!" * 78
        typer.echo(f"{banner}\nWARNING: this database has {demo_accounts} DEMO ACCOUNTS with a "
                   "published password.\nNever use it for real cases. Anyone can sign in as "
                   f"any demo role.\n{banner}", err=True)
    typer.echo(f"ooc is running at http://{host}:{port}/ (press Ctrl+C to stop)")
    run_server("web.main:app", host=host, port=port, workers=workers)


def run_server(app: str, *, host: str, port: int, workers: int, **options) -> None:
    """uvicorn.run, but with TCP_NODELAY on the listening socket (connections inherit it).

    With more than one worker, uvicorn binds the socket itself without naming TCP, so asyncio
    does not set TCP_NODELAY on the connections it accepts; a page then waited for the
    browser's delayed ACK before its body was sent: 40 ms more for most pages (bench/web.py,
    two workers). With one worker asyncio binds the socket and sets it as here.
    """
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="warning", **options)
        return
    config = uvicorn.Config(app, host=host, port=port, workers=workers, log_level="warning",
                            **options)
    sock = config.bind_socket()
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[sock]).run()


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="The new user's username.")],
    role: Annotated[list[str], typer.Option("--role", help="A role (repeat for several).")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password "
                                                 "from standard input.")] = False,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create a user with one or more roles."""
    from ooc.accounts import add_user
    from ooc.db import unit_of_work

    if not password_stdin:
        raise fail("Error: give the password on standard input with --password-stdin, for "
                   "example: printf '%s' \"$PASSWORD\" | ooc users add NAME --role manager "
                   "--password-stdin")
    with reporting_errors():
        password = sys.stdin.readline().rstrip("\r\n")
        password.encode("utf-8")  # raises, with a message, for a password that is not UTF-8
        with unit_of_work(_engine()) as session:
            user = add_user(session, username=username, roles=role, password=password,
                            display_name=name, actor=command_line_actor(),
                            now=datetime.now(UTC))
            created = f"Created user {user.username} ({', '.join(user.roles)})."
        typer.echo(created)


# Files with at least this many rows show a progress bar while they are imported.
PROGRESS_FROM_ROWS = 200


IMPORT_HELP = "\n\n".join([
    "Create a case for each referral in a CSV file (UTF-8, commas, one row per referral).",
    "Row 1 names the columns: the referral fields, such as police_reference, given_name, "
    "family_name, date_of_birth (`ooc import columns` lists them all). Dates are written "
    "year-month-day (2011-06-15); yes/no answers as yes, no, true or false.",
    "Each row stands on its own: valid rows are created even when other rows are rejected, and "
    "every rejected row is listed with its row number (the header is row 1) and its reasons.",
    "A row whose police reference already has a case, or repeats an earlier row of the file, is "
    "skipped as a duplicate, never a second case. So importing the same file again creates "
    "nothing new: correct the rejected rows and import the whole file again.",
    "A wrong header row (an unknown, repeated or missing column) or a file that is not UTF-8 CSV "
    "imports nothing.",
    "Every row is checked before anything is written; the cases are then written in batches of "
    "500, each committed on its own, so that the service stays usable during a big import. If "
    "the import stops part way, the cases written are complete: run the same command again to "
    "finish. Progress goes to standard error: a bar on a terminal, plain lines otherwise.",
    "Exit status: 0 when no row was rejected; 1 when any row was rejected or the file could not "
    "be imported.",
])


@import_app.command("referrals", help=IMPORT_HELP)
def import_referrals_command(
    file: Annotated[Path, typer.Argument(metavar="FILE.csv", help="The CSV file of referrals.")],
    actor: Annotated[str, typer.Option(help="Who is importing: the username of a police or "
                                            "case manager user.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row and report, but "
                                                          "create nothing.")] = False,
) -> None:
    """Import referrals from a CSV file (the help shown is IMPORT_HELP)."""
    from ooc.imports import check_referrals, write_plan
    from ooc.progress import progress_to

    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise fail(f"Error: there is no file {file}.") from None
    except IsADirectoryError:
        raise fail(f"Error: {file} is a folder, not a CSV file.") from None
    except OSError as e:
        raise fail(f"Error: cannot read {file}: {e.strerror}.") from None
    now = datetime.now(UTC)
    with reporting_errors():
        engine = _engine()
        registry = _registry()
        # Every row is checked before anything is written; the rows are then written in short
        # transactions of their own, so that the service stays usable during a big import.
        with Session(engine, expire_on_commit=False) as session:
            user = _user(session, actor)
            plan = check_referrals(session, registry=registry, actor=user, rows=data, now=now)
        report = plan.report
        if not dry_run:
            with progress_to(sys.stderr, label="Importing referrals", verb="imported",
                             noun="rows", from_total=PROGRESS_FROM_ROWS) as progress:
                report = write_plan(engine, plan, registry=registry, actor=user, now=now,
                                    progress=progress)
    _print_import_report(file, report, dry_run=dry_run, would_create=len(plan.pending))
    if not report.ok:
        raise typer.Exit(1)


def _print_import_report(file: Path, report, *, dry_run: bool, would_create: int) -> None:
    def rows(n: int) -> str:
        return f"{n} row{'' if n == 1 else 's'}"

    typer.echo(f"Read {rows(report.rows + (would_create if dry_run else 0))} from {file}"
               + (f" ({report.blank_rows} blank ignored)." if report.blank_rows else "."))
    created = would_create if dry_run else len(report.created)
    typer.echo(f"{'Would create' if dry_run else 'Created'} {created} "
               f"case{'' if created == 1 else 's'}.")
    if report.duplicates:
        typer.echo(f"Skipped {rows(len(report.duplicates))} as duplicates (no second case):")
        for d in report.duplicates:
            typer.echo(f"  row {d.row}: {d.reason}")
    else:
        typer.echo("Skipped 0 rows as duplicates.")
    if report.rejected:
        typer.echo(f"Rejected {rows(len(report.rejected))}:")
        for r in report.rejected:
            typer.echo(f"  row {r.row} ({r.police_reference or 'no police reference'}):")
            for reason in r.reasons:
                typer.echo(f"    - {reason}")
    else:
        typer.echo("Rejected 0 rows.")
    if dry_run:
        typer.echo("Dry run: nothing was written.")
    elif report.rejected:
        typer.echo("The valid rows were imported. Correct the rejected rows and import the file "
                   "again: rows already imported will be skipped as duplicates.")


@import_app.command("columns")
def import_columns() -> None:
    """List the columns a referral file has, and what to write in each."""
    from ooc.imports import column_guide

    with reporting_errors():
        definition = _registry().latest("oocd")
    for column in column_guide(definition):
        typer.echo(f"{column.name:<26} {'required' if column.required else 'optional':<9} "
                   f"{column.label}. {column.what}")


@app.command()
def status() -> None:
    """Show how many cases are in each state, and how many deadlines are overdue."""
    from ooc.deadlines import list_open_deadlines
    from ooc.models import Case

    with reporting_errors():
        engine = _engine()
        registry = _registry()
        with Session(engine) as session:
            rows = session.exec(
                select(Case.workflow_name, Case.workflow_version, Case.state, func.count())
                .group_by(Case.workflow_name, Case.workflow_version, Case.state)).all()
            overdue = list_open_deadlines(session, registry=registry, now=datetime.now(UTC),
                                          overdue_only=True)
        if not rows:
            typer.echo("There are no cases yet.")
            return
        counts = Counter()
        for name, version, state, count in rows:
            counts[(name, version, state)] += count
        for definition in registry:
            total = sum(c for (n, v, _), c in counts.items() if (n, v) == definition.key)
            if not total:
                continue
            typer.echo(f"{definition.title} ({definition.name} version {definition.version}): "
                       f"{total} cases")
            for state in definition.states.values():
                if state.track == "main":
                    count = counts[(definition.name, definition.version, state.name)]
                    typer.echo(f"  {state.label:<32} {count:>6}")
        typer.echo(f"Overdue deadlines on open cases: {len(overdue)}")


@app.command()
def deadlines(
    now: Annotated[str | None, typer.Option(help="Work out days left as at this date "
                                                 "(default: now).")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue ones.")] = False,
    case_manager: Annotated[str | None, typer.Option(help="Only this case manager's cases.")]
    = None,
) -> None:
    """List open deadlines, most urgent first, with working days left or overdue."""
    from ooc.deadlines import list_open_deadlines

    with reporting_errors():
        engine = _engine()
        with Session(engine) as session:
            statuses = list_open_deadlines(session, registry=_registry(), now=_now(now),
                                           overdue_only=overdue, case_manager=case_manager)
        for s in statuses:
            typer.echo(f"{s.due_on:%d %b %Y}  {s.describe():<28} case {s.case_id:<6} "
                       f"{s.police_reference:<18} {s.label}")
        typer.echo(f"{len(statuses)} open deadline{'s' if len(statuses) != 1 else ''}.")


@workflow_app.command("check")
def workflow_check(
    files: Annotated[list[Path], typer.Argument(help="Workflow files to check.")],
) -> None:
    """Check workflow files; exit 0 when all are valid, 1 listing every problem otherwise."""
    from ooc.definitions import load_definition

    failed = False
    for path in files:
        try:
            definition = load_definition(path)
        except OocError as e:
            failed = True
            typer.echo(str(e), err=True)
        else:
            typer.echo(f"{path}: valid ({definition.name} version {definition.version}, "
                       f"{len(definition.states)} states, {len(definition.transitions)} "
                       "transitions).")
    if failed:
        raise typer.Exit(1)


@workflow_app.command("migrate")
def workflow_migrate(
    workflow: Annotated[str, typer.Option(help="The workflow's name.")] = "oocd",
    from_version: Annotated[int, typer.Option("--from", help="The version cases are on now.")]
    = 1,
    to_version: Annotated[int, typer.Option("--to", help="The version to move them to.")] = 2,
    map_: Annotated[list[str] | None, typer.Option(
        "--map", help="OLD=NEW: move cases in state OLD to state NEW (repeat as needed).")]
    = None,
    actor: Annotated[str | None, typer.Option(help="The admin doing the migration "
                                                   "(needed unless --dry-run).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write "
                                                          "nothing.")] = False,
) -> None:
    """Move open cases from one workflow version to another, one audit event per case."""
    from ooc.db import unit_of_work
    from ooc.migrate import migrate_cases, parse_state_map, plan_migration

    with reporting_errors():
        state_map = parse_state_map(map_ or [])
        engine = _engine()
        registry = _registry()
        if dry_run:
            with Session(engine) as session:
                moves = plan_migration(session, registry=registry, workflow=workflow,
                                       from_version=from_version, to_version=to_version,
                                       state_map=state_map)
            for move in moves:
                typer.echo(f"would migrate {move.describe()}")
            typer.echo(f"Dry run: {len(moves)} open case{'s' if len(moves) != 1 else ''} would "
                       f"move from version {from_version} to {to_version}. Nothing was written.")
            return
        if actor is None:
            raise fail("Error: say who is migrating with --actor USERNAME (an admin), or "
                       "preview with --dry-run.")
        with unit_of_work(engine) as session:
            moves = migrate_cases(session, registry=registry, workflow=workflow,
                                  from_version=from_version, to_version=to_version,
                                  state_map=state_map, actor=_user(session, actor),
                                  now=datetime.now(UTC))
        for move in moves:
            typer.echo(f"migrated {move.describe()}")
        typer.echo(f"Migrated {len(moves)} open case{'s' if len(moves) != 1 else ''} from "
                   f"version {from_version} to {to_version}.")


app.add_typer(__import__("ooc.cli_data", fromlist=["app"]).app)  # backup, restore, SAR
report_app = typer.Typer(help="Board reports.", no_args_is_help=True)
app.add_typer(report_app, name="report")


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise OocError(f"{option} {value!r} is not a date. Give it as YYYY-MM-DD, for example "
                       "2026-03-31.") from None


@report_app.command("board")
def report_board(
    from_: Annotated[str, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")],
    to: Annotated[str, typer.Option("--to", help="Last day of the period (YYYY-MM-DD).")],
    format_: Annotated[str, typer.Option("--format", help="html, pdf, xlsx, csv or json.")]
    = "html",
    out: Annotated[Path | None, typer.Option(help="File to write (default: "
                                                   "board-FROM-TO.FORMAT).")] = None,
    as_of: Annotated[str | None, typer.Option(help="Work the figures out as at this instant "
                                                   "(default: the end of --to, or now if that "
                                                   "is later).")] = None,
) -> None:
    """Write the board pack for a period: every figure, suppressed, with RAG ratings, trends by
    quarter, the overdue list and the improvement plan."""
    from ooc.boardpack import build_pack
    from ooc.boardpack_formats import FORMATS, save_pack
    from ooc.figures import FiguresConfig, Period
    from ooc.plan import refresh_ratings

    check_out_folder(out)
    with reporting_errors():
        if format_ not in FORMATS:
            raise OocError(f"--format {format_!r} is not one of {', '.join(FORMATS)}.")
        now, registry = datetime.now(UTC), _registry()
        period = Period.of(_date(from_, "--from"), _date(to, "--to"),
                           _now(as_of) if as_of else None, now=now)
        config = FiguresConfig.load(_settings().workflows_dir)
        out = out or Path(f"board-{period.start}-{period.end}.{format_}")
        engine = _engine()
        typer.echo(f"Working out the figures for {period.start} to {period.end}...", err=True)
        with Session(engine) as session:
            refresh_ratings(session, registry=registry, config=config, now=now)
            session.commit()
            pack = build_pack(session, registry=registry, config=config, period=period,
                              now=now)
        size = save_pack(pack, format_, out)
        typer.echo(f"Wrote {out} ({size:,} bytes, {len(pack['figures'])} figures).")


plan_app = typer.Typer(help="The improvement plan: import and export.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")


@plan_app.command("import")
def plan_import(
    file: Annotated[Path, typer.Argument(help="A .csv or .xlsx file with the columns of "
                                              "`ooc plan export`.")],
    author: Annotated[str, typer.Option(help="Who the status notes are from.")] = "import",
) -> None:
    """Import objectives and actions; a row whose action exists updates it. Any bad row: each
    is listed and nothing is imported."""
    from ooc.figures import FiguresConfig
    from ooc.plan import import_plan, read_rows, refresh_ratings

    with reporting_errors():
        rows = read_rows(file)
        engine = _engine()
        now = datetime.now(UTC)
        with Session(engine) as session:
            count = import_plan(session, rows, author=author, now=now)
            refresh_ratings(session, registry=_registry(),
                            config=FiguresConfig.load(_settings().workflows_dir), now=now)
            session.commit()
        typer.echo(f"Imported {count} action{'s' if count != 1 else ''} from {file}.")


@plan_app.command("rate")
def plan_rate() -> None:
    """Record today's RAG rating of every action (each change is kept); run it daily, for
    example from cron, so that ratings that move with the date are recorded on the day."""
    from ooc.db import unit_of_work
    from ooc.figures import FiguresConfig
    from ooc.plan import refresh_ratings

    with reporting_errors():
        with unit_of_work(_engine()) as session:
            changes = refresh_ratings(session, registry=_registry(),
                                      config=FiguresConfig.load(_settings().workflows_dir),
                                      now=datetime.now(UTC))
        typer.echo(f"Recorded {len(changes)} change{'s' if len(changes) != 1 else ''} of "
                   "rating.")


@plan_app.command("export")
def plan_export(
    out: Annotated[Path | None, typer.Option(help="A .csv or .xlsx file (default: CSV on "
                                                  "standard output).")] = None,
) -> None:
    """Write the plan with the columns `ooc plan import` reads."""
    from ooc.plan import COLUMNS, export_rows
    from ooc.spreadsheet import write_csv_rows, write_table

    check_out_folder(out)
    with reporting_errors():
        with Session(_engine()) as session:
            rows = [[row[c] for c in COLUMNS] for row in export_rows(session)]
        if out is None:
            write_csv_rows(sys.stdout, [COLUMNS, *rows])
        else:
            try:
                write_table(out, COLUMNS, rows)
            except OSError as e:
                raise fail(f"Error: cannot write {out}: {e.strerror}.") from None
        if out:
            typer.echo(f"Wrote {len(rows)} actions to {out}.")


from ooc.cli_audit import audit_app  # noqa: E402  (its own module: `ooc audit ...`)

app.add_typer(audit_app, name="audit")

from ooc.cli_retention import retention_app  # noqa: E402  (its own module: `ooc retention`)

app.add_typer(retention_app, name="retention")


if __name__ == "__main__":  # last, so that `python -m ooc.cli` has every command group
    app()
