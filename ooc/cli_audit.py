"""`ooc audit ...`: verify, checkpoint, refresh the figures' tables, export."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import func
from sqlmodel import Session, select

audit_app = typer.Typer(help="Verify, anchor and export the audit trail.", no_args_is_help=True)


def _cli():
    from ooc import cli  # the shared helpers (engine, settings, error reporting)

    return cli


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


@audit_app.command("verify")
def audit_verify(
    since: Annotated[Path | None, typer.Option(
        "--since", help="A checkpoint file (`ooc audit checkpoint`): also report what was "
                        "deleted or rewritten since it was made.")] = None,
) -> None:
    """Check every case's hash chain and replay its events against the case record, check the
    system chain (users, roles, tokens, the quorum rule), and that the figures' tables agree
    with the events; with --since, that nothing the checkpoint saw is gone or rewritten. Exit
    1 naming each problem."""
    from ooc.anchor import load_key, read_checkpoint, verify_since
    from ooc.audit import verify_trail
    from ooc.figures.facts import facts_differences
    from ooc.system_audit import verify_system_chain

    cli = _cli()
    with cli.reporting_errors():
        checkpoint = None
        if since is not None:
            checkpoint = read_checkpoint(since, load_key(cli._settings().audit_key_file))
        engine = cli._engine()
        registry = cli._registry()
        with Session(engine) as session:
            system_count, problems, anonymised = verify_system_chain(session)
            cases, events, case_problems = verify_trail(session, registry, anonymised)
            problems += case_problems
            report = verify_since(session, checkpoint) if checkpoint else None
            if report:
                problems += report.problems
            stale = facts_differences(session, registry)
        for problem in problems + stale:
            typer.echo(problem, err=True)
        checked = f"{cases} cases and {events} events"
        also = f"{_plural(system_count, 'system event')}"
        if report:
            also += f", against the checkpoint of {report.made_at}"
        if problems:
            raise cli.fail(f"The audit trail is NOT intact: {_plural(len(problems), 'problem')} "
                           f"in {checked} (and {also}).")
        typer.echo(f"The audit trail is intact: {cases} cases, {events} events checked.")
        typer.echo(f"Also checked: {also}.")
        if stale:
            raise cli.fail("The figures' tables do not agree with the audit trail.")
        typer.echo("The figures' tables agree with the audit trail.")


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Annotated[Path, typer.Option(
        help="A new file, or a folder to write checkpoint-TIME.json in. Keep it off the "
             "database's machine (a write-once store); it is never overwritten.")],
) -> None:
    """Sign (HMAC-SHA256, with the key in OOC_AUDIT_KEY_FILE) every case's chain head, the
    system chain's head and a digest of the access log, so that `ooc audit verify --since`
    can later find a rewound trail, a recomputed chain, a deleted case or access-log row."""
    from ooc.anchor import load_key, make_checkpoint, write_checkpoint

    cli = _cli()
    with cli.reporting_errors():
        key = load_key(cli._settings().audit_key_file)
        with Session(cli._engine()) as session:
            checkpoint = make_checkpoint(session, key, datetime.now(UTC))
        written = write_checkpoint(checkpoint, out)
        typer.echo(f"Checkpoint of {_plural(len(checkpoint['cases']), 'case')}, "
                   f"{_plural(checkpoint['system']['seq'], 'system event')} and "
                   f"{_plural(checkpoint['access_log']['rows'], 'access-log row')} written to "
                   f"{written}.")
        typer.echo(f"Signature: {checkpoint['signature']}")


@audit_app.command("refresh-facts")
def audit_refresh_facts() -> None:
    """Rewrite the figures' tables (case, decision and step facts) from the audit trail."""
    from ooc.db import unit_of_work
    from ooc.figures.facts import refresh_facts
    from ooc.models import Case

    cli = _cli()
    with cli.reporting_errors():
        engine = cli._engine()
        with unit_of_work(engine) as session:
            cases = session.exec(select(func.count()).select_from(Case)).one()
            typer.echo(f"Rewriting the figures' tables for {cases} cases...", err=True)
            refresh_facts(session, cli._registry())
        typer.echo(f"The figures' tables were rewritten from the audit trail ({cases} cases).")


@audit_app.command("export")
def audit_export(
    out: Annotated[Path | None, typer.Option(help="Write to this file (default: standard "
                                                  "output).")] = None,
) -> None:
    """Write the audit trail as one JSON object per line: every case event, then every system
    event ("record": "system_event"), then the access log ("record": "access")."""
    from ooc.access import export_access_log
    from ooc.audit import export_events
    from ooc.system_audit import export_system_events

    cli = _cli()

    def export(session, f) -> tuple[int, int, int]:
        return (export_events(session, f), export_system_events(session, f),
                export_access_log(session, f))

    cli.check_out_folder(out)
    with cli.reporting_errors():
        engine = cli._engine()
        with Session(engine) as session:
            if out is None:
                counts = export(session, sys.stdout)
            else:
                with out.open("w", encoding="utf-8") as f:
                    counts = export(session, f)
        typer.echo(f"Exported {_plural(counts[0], 'event')}, "
                   f"{_plural(counts[1], 'system event')} and "
                   f"{_plural(counts[2], 'access-log row')}.", err=True)
