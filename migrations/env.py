"""Alembic environment: the engine comes from ooc.db (config.attributes["engine"]) or
OOC_DATABASE_URL, so migrations run the same way from `ooc init`, the tests and the alembic
command line."""

import os

from alembic import context
from sqlmodel import SQLModel

import ooc.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from ooc.db import make_engine
from ooc.settings import Settings

config = context.config
engine = config.attributes.get("engine") or make_engine(
    Settings.from_environ(os.environ).database_url)

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
