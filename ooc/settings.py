"""Configuration, read from an environment mapping that is passed in (never at import)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'ooc.db'}"
TRUE = ("1", "true", "yes")


class SettingInvalid(ValueError):
    """An environment variable holds something that is not a valid value for it."""


def _whole_number(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise SettingInvalid(f"{name} must be a whole number of 1 or more, not '{value}'.")
    return int(value)


@dataclass(frozen=True)
class Settings:
    database_url: str
    workflows_dir: Path
    # Signs session cookies; when unset the web application keeps a generated one in var/.
    secret_key: str | None = None
    # Send the session cookie over HTTPS only (set OOC_SECURE_COOKIES=1 behind TLS).
    secure_cookies: bool = False
    # Served over HTTPS (OOC_HTTPS=true): browsers are told to use HTTPS only (HSTS) and the
    # session cookie is sent over HTTPS only.
    https: bool = False
    # A signed-in browser is signed out after this long without a request, and after
    # `session_lifetime` however busy it is.
    session_idle: timedelta = timedelta(minutes=30)
    session_lifetime: timedelta = timedelta(hours=8)
    # An API token stops working this long after it is issued, unless issued for less.
    token_lifetime: timedelta = timedelta(days=90)
    # This many wrong passwords in a row lock an account for `lockout`.
    max_failed_sign_ins: int = 5
    lockout: timedelta = timedelta(minutes=15)
    # The key that signs audit checkpoints (ooc/anchor.py): a file kept outside the database.
    audit_key_file: Path | None = None
    # Retention (ooc/retention.py): closed cases are anonymised this many years after
    # `retention_from`: "last_action" (the case's last event) or "eighteenth_birthday"
    # (whichever is later of the last action and the child's 18th birthday).
    retention_years: int | None = 6  # None: not a whole number (refused when used)
    retention_from: str = "last_action"

    @property
    def cookies_https_only(self) -> bool:
        return self.https or self.secure_cookies

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            database_url=environ.get("OOC_DATABASE_URL") or DEFAULT_DATABASE_URL,
            workflows_dir=Path(environ.get("OOC_WORKFLOWS_DIR") or PROJECT_ROOT / "workflows"),
            secret_key=environ.get("OOC_SECRET_KEY") or None,
            secure_cookies=environ.get("OOC_SECURE_COOKIES", "").lower() in TRUE,
            https=environ.get("OOC_HTTPS", "").lower() in TRUE,
            session_idle=timedelta(minutes=_whole_number(environ, "OOC_SESSION_IDLE_MINUTES",
                                                         30)),
            session_lifetime=timedelta(hours=_whole_number(environ, "OOC_SESSION_HOURS", 8)),
            token_lifetime=timedelta(days=_whole_number(environ, "OOC_TOKEN_DAYS", 90)),
            max_failed_sign_ins=_whole_number(environ, "OOC_SIGN_IN_ATTEMPTS", 5),
            lockout=timedelta(minutes=_whole_number(environ, "OOC_LOCKOUT_MINUTES", 15)),
            audit_key_file=Path(environ["OOC_AUDIT_KEY_FILE"])
            if environ.get("OOC_AUDIT_KEY_FILE") else None,
            retention_years=_number_or_none(environ.get("OOC_RETENTION_YEARS"), 6),
            retention_from=environ.get("OOC_RETENTION_FROM") or "last_action",
        )


def _number_or_none(value: str | None, default: int) -> int | None:
    """A whole number, or None for one that is not (refused where it is used)."""
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        return None
