"""The figures' own tables (`ooc/figures/facts.py`): a database from before them gets them
worked out from its audit trail when its schema is upgraded."""

from __future__ import annotations

from datetime import date

from alembic import command
from sqlalchemy import func
from sqlmodel import Session, select

from ooc.db import alembic_config, make_engine, upgrade_schema
from ooc.demo import load_demo
from ooc.figures.facts import facts_differences
from ooc.models import CaseFacts, DecisionFacts


def test_upgrading_a_database_with_cases_works_out_their_rows(tmp_path, registry):
    engine = make_engine(f"sqlite:///{tmp_path / 'older.db'}")
    upgrade_schema(engine)
    with Session(engine) as session:
        load_demo(session, registry=registry, cases=40, seed=5, today=date(2026, 11, 20))
        session.commit()
    command.downgrade(alembic_config(engine), "0006")  # as it was before the figures' tables

    upgrade_schema(engine)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(CaseFacts)).one() == 40
        assert session.exec(select(func.count()).select_from(DecisionFacts)).one() > 0
        assert facts_differences(session, registry) == []
    engine.dispose()
