"""Configuration, read from an environment mapping that is passed in (never at import)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'ooc.db'}"


@dataclass(frozen=True)
class Settings:
    database_url: str
    workflows_dir: Path
    # Signs session cookies; when unset the web application keeps a generated one in var/.
    secret_key: str | None = None
    # Send the session cookie over HTTPS only (set OOC_SECURE_COOKIES=1 behind TLS).
    secure_cookies: bool = False
    # The key that signs audit checkpoints (ooc/anchor.py): a file kept outside the database.
    audit_key_file: Path | None = None
    # Retention (ooc/retention.py): closed cases are anonymised this many years after
    # `retention_from`: "last_action" (the case's last event) or "eighteenth_birthday"
    # (whichever is later of the last action and the child's 18th birthday).
    retention_years: int | None = 6  # None: not a whole number (refused when used)
    retention_from: str = "last_action"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            database_url=environ.get("OOC_DATABASE_URL") or DEFAULT_DATABASE_URL,
            workflows_dir=Path(environ.get("OOC_WORKFLOWS_DIR") or PROJECT_ROOT / "workflows"),
            secret_key=environ.get("OOC_SECRET_KEY") or None,
            secure_cookies=environ.get("OOC_SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
            audit_key_file=Path(environ["OOC_AUDIT_KEY_FILE"])
            if environ.get("OOC_AUDIT_KEY_FILE") else None,
            retention_years=_whole_number(environ.get("OOC_RETENTION_YEARS"), 6),
            retention_from=environ.get("OOC_RETENTION_FROM") or "last_action",
        )


def _whole_number(value: str | None, default: int) -> int | None:
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        return None
