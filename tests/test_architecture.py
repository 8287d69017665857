"""The engine stays framework-free, and the migrations build exactly the schema the models say."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel


def test_importing_ooc_loads_no_web_framework():
    code = (
        "import sys, importlib, pkgutil, ooc\n"
        "for m in pkgutil.iter_modules(ooc.__path__):\n"
        "    importlib.import_module('ooc.' + m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
        "('fastapi', 'starlette', 'web'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""


def test_migrations_match_the_models(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection),
                                       SQLModel.metadata)
    assert differences == []
