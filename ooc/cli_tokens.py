"""`ooc users token | tokens | revoke-token | sign-out`: API tokens and sign-in sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from ooc.calendar import uk_time


def register(users_app: typer.Typer) -> None:
    """Add these commands to the `ooc users` group."""
    users_app.command("token")(users_token)
    users_app.command("tokens")(users_tokens)
    users_app.command("revoke-token")(users_revoke_token)
    users_app.command("sign-out")(users_sign_out)


def users_token(
    username: Annotated[str, typer.Argument(help="Whose token.")],
    days: Annotated[int | None, typer.Option(min=1, help="Days until it stops working "
                                             "(default: OOC_TOKEN_DAYS, or 90).")] = None,
    label: Annotated[str | None, typer.Option(help="What it is for, e.g. 'nightly import'.")]
    = None,
) -> None:
    """Print a new API token for a user (on the last line); keep it secret."""
    from ooc.accounts import issue_token
    from ooc.cli import _engine, _settings, command_line_actor, reporting_errors
    from ooc.db import unit_of_work

    lifetime = timedelta(days=days) if days else _settings().token_lifetime
    now = datetime.now(UTC)
    with reporting_errors():
        with unit_of_work(_engine()) as session:
            token = issue_token(session, username=username, now=now, lifetime=lifetime,
                                label=label, actor=command_line_actor())
        typer.echo(f"API token for {username}, until {uk_time(now + lifetime)} (shown once; "
                   "send it as 'Authorization: Bearer TOKEN'):")
        typer.echo(token)


def users_tokens(username: Annotated[str, typer.Argument(help="Whose tokens.")]) -> None:
    """List a user's API tokens: number, label, issued, expires, last used and status."""
    from ooc.accounts import list_tokens, token_status
    from ooc.cli import _engine, _user, reporting_errors
    from ooc.db import unit_of_work

    now = datetime.now(UTC)
    with reporting_errors():
        with unit_of_work(_engine()) as session:
            tokens = list_tokens(session, user=_user(session, username))
            lines = [f"{t.id:>5}  {status:<8} {t.label or '(no label)'}; issued "
                     f"{uk_time(t.created_at)}, expires {uk_time(t.expires_at)}, last used "
                     f"{uk_time(t.last_used_at) if t.last_used_at else 'never'}"
                     for t in tokens for status in [token_status(t, now)]]
    if not lines:
        typer.echo(f"{username} has no API tokens.")
        return
    typer.echo(f"{'token':>5}  status   label; dates (revoke with `ooc users revoke-token "
               "NUMBER`)")
    for line in lines:
        typer.echo(line)


def users_revoke_token(
    token_id: Annotated[int, typer.Argument(help="The token's number, from `ooc users "
                                            "tokens USERNAME`.")],
) -> None:
    """Stop an API token working, at once."""
    from ooc.accounts import revoke_token
    from ooc.cli import _engine, command_line_actor, reporting_errors
    from ooc.db import unit_of_work

    with reporting_errors():
        with unit_of_work(_engine()) as session:
            revoke_token(session, token_id=token_id, now=datetime.now(UTC),
                         actor=command_line_actor())
        typer.echo(f"API token {token_id} is revoked.")


def users_sign_out(username: Annotated[str, typer.Argument(help="Who to sign out.")]) -> None:
    """Sign a user out of every browser at once."""
    from ooc.cli import _engine, _user, reporting_errors
    from ooc.db import unit_of_work
    from ooc.sign_in_sessions import end_all_sessions

    with reporting_errors():
        with unit_of_work(_engine()) as session:
            ended = end_all_sessions(session, user_id=_user(session, username).id)
        typer.echo(f"{username} is signed out everywhere ({ended} session"
                   f"{'' if ended == 1 else 's'} ended).")
