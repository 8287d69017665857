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

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            database_url=environ.get("OOC_DATABASE_URL") or DEFAULT_DATABASE_URL,
            workflows_dir=Path(environ.get("OOC_WORKFLOWS_DIR") or PROJECT_ROOT / "workflows"),
            secret_key=environ.get("OOC_SECRET_KEY") or None,
            secure_cookies=environ.get("OOC_SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
        )
