"""`ooc backup`, `ooc restore` and `ooc subject-access`: the whole database kept safe, and
everything about one child given to them. Registered on `ooc.cli.app` by one line there."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer()


def _progress(line: str) -> None:
    typer.echo(line, err=True)


@app.command()
def backup(
    out: Annotated[Path, typer.Argument(help="The new backup file (never replaces one).")],
) -> None:
    """Back up the whole database to a new file readable by its owner only: SQLite through its
    online backup (safe while ooc runs), PostgreSQL with pg_dump's custom format."""
    from ooc.backup import backup as back_up
    from ooc.cli import _engine, reporting_errors
    from ooc.db import safe_url

    with reporting_errors():
        engine = _engine()
        typer.echo(f"Backing up {safe_url(str(engine.url))} to {out}...", err=True)
        back_up(engine, out, _progress)
        typer.echo(f"Backed up to {out} ({out.stat().st_size:,} bytes, readable by its owner "
                   "only).")


@app.command()
def restore(
    backup_file: Annotated[Path, typer.Argument(metavar="IN", help="A file `ooc backup` "
                                                                   "wrote.")],
    force: Annotated[bool, typer.Option("--force", help="Replace a database that is not "
                                                        "empty.")] = False,
) -> None:
    """Restore a backup into the configured database, then check it as `ooc audit verify`
    does. Refuses a database that holds anything unless --force."""
    from ooc.backup import check_restored
    from ooc.backup import restore as restore_from
    from ooc.cli import _engine, _registry, fail, reporting_errors
    from ooc.db import safe_url

    with reporting_errors():
        engine = _engine(need_schema=False)
        typer.echo(f"Restoring {backup_file} into {safe_url(str(engine.url))}...", err=True)
        restore_from(engine, backup_file, force=force, progress=_progress)
        check = check_restored(engine, _registry())
        typer.echo(f"Restored {check.cases:,} cases and {check.events:,} audit events.")
        for problem in check.problems + check.stale:
            typer.echo(problem, err=True)
        if not check.current:
            typer.echo(f"The backup's schema is revision {check.revision}; this version of ooc "
                       f"is at {check.head}. Run `ooc init` to upgrade it, then "
                       "`ooc audit verify`.")
        if check.problems:
            raise fail(f"The restored audit trail is NOT intact: {len(check.problems)} "
                       "problems.")
        typer.echo("The restored audit trail is intact.")
        if check.stale:
            raise fail("The figures' tables do not agree with the audit trail: run "
                       "`ooc audit refresh-facts`.")


@app.command("subject-access")
def subject_access(
    case: Annotated[str, typer.Argument(metavar="CASE", help="The id or police reference of "
                                                             "one of the child's cases.")],
    out: Annotated[Path, typer.Option(help="The HTML file to write; a .json file of the same "
                                           "content is written beside it.")],
    actor: Annotated[str, typer.Option(help="Who is answering the request (a username); "
                                            "recorded in each case's access log.")],
) -> None:
    """Write everything held about one child, in plain words, for a subject access request:
    every case of theirs, what was recorded, every event, deadlines, quality audits and who
    looked at the record."""
    from sqlmodel import Session

    from ooc.cli import _engine, _registry, _user, fail, reporting_errors
    from ooc.private import write_private
    from ooc.subject_access import render_html
    from ooc.subject_access import subject_access as gather

    if not out.parent.is_dir():
        raise fail(f"Error: there is no folder {out.parent} to write {out.name} in.")
    if out.suffix.lower() == ".json":
        raise fail("Error: --out is the HTML file (for example sar.html); the JSON file is "
                   "written beside it.")
    data_file = out.with_suffix(".json")
    with reporting_errors():
        engine, registry = _engine(), _registry()
        with Session(engine) as session:
            document = gather(session, registry=registry, identifier=case,
                              actor=_user(session, actor), now=datetime.now(UTC))
            try:
                write_private(out, render_html(document).encode())
                write_private(data_file, json.dumps(document, indent=2, ensure_ascii=False)
                              .encode())
            except OSError as e:
                raise fail(f"Error: cannot write {out}: {e.strerror}.") from None
            session.commit()  # the access log entries, once the files are written
    cases = len(document["cases"])
    typer.echo(f"Wrote {out} and {data_file} ({cases} case{'s' if cases != 1 else ''}, "
               "readable by their owner only).")
    typer.echo(document["matched"])
    typer.echo("Before sending them, read them through: remove what identifies other people "
               "(victims, witnesses, family members) unless they have agreed, as the law on "
               "subject access requires.")

