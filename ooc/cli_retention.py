"""`ooc retention apply`: anonymise the closed cases whose retention period has run out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlmodel import Session

retention_app = typer.Typer(help="Anonymise closed cases under the retention rule.",
                            no_args_is_help=True)


@retention_app.command("apply")
def retention_apply(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the cases that are due, "
                                                            "and change nothing.")] = False,
    today: Annotated[str | None, typer.Option(help="Apply the rule as on this day "
                                                   "(YYYY-MM-DD; default: today).")] = None,
) -> None:
    """Anonymise every closed case whose retention period has run out (OOC_RETENTION_YEARS
    after OOC_RETENTION_FROM): names, the police reference, free text and reasons are removed
    from the case, its events, search keys and drafts; figures and the audit trail's
    verification are kept. Each run is recorded in the system chain."""
    from ooc import cli
    from ooc.calendar import local_date
    from ooc.db import unit_of_work
    from ooc.retention import RetentionRule, anonymise, due_cases

    with cli.reporting_errors():
        settings = cli._settings()
        rule = RetentionRule(years=settings.retention_years, basis=settings.retention_from)
        now = datetime.now(UTC)
        day = cli._now(today).date() if today else local_date(now)
        registry = cli._registry()
        engine = cli._engine()
        if dry_run:
            with Session(engine) as session:
                due = due_cases(session, registry, rule, day)
        else:
            with unit_of_work(engine) as session:
                due = due_cases(session, registry, rule, day)
                anonymise(session, registry, [d.case_id for d in due],
                          actor=cli.command_line_actor(), rule=rule, now=now)
        for d in due:
            typer.echo(f"case {d.case_id}: last action {d.last_action:%Y-%m-%d}, due "
                       f"{d.due_on:%Y-%m-%d}")
        n = len(due)
        cases = f"{n} closed case{'s' if n != 1 else ''}"
        typer.echo(f"Rule: {rule.describe()}.")
        typer.echo(f"{cases} {'would be' if dry_run else ('was' if n == 1 else 'were')} "
                   f"anonymised{' (dry run: nothing was changed)' if dry_run else ''}.")
