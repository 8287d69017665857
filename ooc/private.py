"""Files that hold children's records are readable by their owner only.

The SQLite database, its backups and the folder they live in are created with these modes,
whatever the umask: a world-readable database (the default umask gives 0644) would let any
local account read every child's record. SQLite gives the database's -wal and -shm files the
mode of the database file itself, so creating that file 0600 covers them too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

OWNER_ONLY_FILE = 0o600
OWNER_ONLY_FOLDER = 0o700


def private_folder(path: Path) -> None:
    """Create `path` (and any missing parents) if it is missing, the last one owner-only."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=OWNER_ONLY_FOLDER, exist_ok=True)


def create_private_file(path: Path) -> None:
    """Create `path` empty and owner-only; FileExistsError if it exists (nothing is replaced)."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, OWNER_ONLY_FILE)
    os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Write `path` so that it is owner-only from the moment it exists."""
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, OWNER_ONLY_FILE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, OWNER_ONLY_FILE)  # an existing file keeps its old mode through O_CREAT


def readable_by_others(path: Path) -> bool:
    return path.exists() and bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def make_private(*paths: Path) -> list[Path]:
    """Remove group and other access from those of `paths` that exist; the ones changed."""
    changed = []
    for path in paths:
        if readable_by_others(path):
            path.chmod(OWNER_ONLY_FILE)
            changed.append(path)
    return changed


def sqlite_files(database: Path) -> list[Path]:
    """The database file and the -wal and -shm files SQLite keeps beside it."""
    return [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
