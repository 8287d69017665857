"""Benchmark of the board figures: every figure of METRICS.md for a year, against a plain scan.

Run from the project root:

    .venv/bin/python bench/metrics.py                    # 1,000,000 cases (~10M events)
    .venv/bin/python bench/metrics.py --quick            # 20,000 cases, for a smoke run
    .venv/bin/python bench/metrics.py --database sqlite  # sqlite | postgresql | both

What is measured: `ooc.figures.compute_figures` for the last year of the data (every figure with
its breakdowns, as the dashboard and the board pack ask for them: a dozen SQL statements over the
figures' own tables, run side by side on as many connections as there are processors), and in
the same run, alternately, the baseline: one plain SQL scan of the whole events table
(`SELECT trigger, count(*), max(at) FROM audit_events GROUP BY trigger`). Five rounds each (the
machines are noisy); the medians are printed and `ratio=` is the figures' time over the scan's
on the slower database.

The data: `ooc.demo.load_demo` plays 1,000 cases through the real transition service (a year of
referrals, panels, decisions, victims, interventions and closures); the benchmark's database
holds copies of them, each copy's dates moved on by a number of days (0-364) and its ids and
police references made new, written with the databases' bulk paths (executemany on SQLite,
COPY on PostgreSQL). Hash chains are not recomputed: the figures do not read them. The figures'
tables (`case_facts`, `decision_facts`, `step_facts`), which the transition service writes with
each event, are then worked out from the loaded events in one go by `refresh_facts`, and that
time is printed too; then everything is written back to disk (`os.sync`) before the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path[:] = [str(ROOT)] + [p for p in sys.path if p and Path(p).resolve() != BENCH]

from sqlalchemy import select, text  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

import ooc.models  # noqa: E402,F401  (the tables)
from ooc.db import make_engine, upgrade_schema  # noqa: E402
from ooc.demo import load_demo  # noqa: E402
from ooc.figures import FiguresConfig, Period, compute_figures  # noqa: E402
from ooc.figures.facts import refresh_facts  # noqa: E402
from ooc.machine import WorkflowRegistry  # noqa: E402
from ooc.search import name_keys, reference_key  # noqa: E402
from tests.pg_server import TemporaryPostgres, find_bindir  # noqa: E402

TEMPLATE_CASES = 1000
TODAY = date(2026, 11, 20)
SHIFTED_DATES = ("date_of_birth", "offence_date", "referral_date", "bail_date")
SHIFTED_TIMES = ("created_at", "updated_at")
SCAN = "SELECT trigger, count(*), max(at) FROM audit_events GROUP BY trigger"


def log(message: str) -> None:
    print(message, flush=True)


def template(folder: Path, registry: WorkflowRegistry) -> dict[str, list[dict]]:
    engine = make_engine(f"sqlite:///{folder / 'template.db'}")
    upgrade_schema(engine)
    with Session(engine) as session:
        load_demo(session, registry=registry, cases=TEMPLATE_CASES, seed=7, today=TODAY)
        session.commit()
    with engine.connect() as connection:  # typed values, through the tables' own types
        tables = {name: [dict(r._mapping) for r in connection.execute(
                      select(SQLModel.metadata.tables[name]))]
                  for name in ("cases", "audit_events", "panel_meetings", "panel_attendance",
                               "users")}
    engine.dispose()
    return tables


def _shift(value, days: int):
    return None if value is None else value - timedelta(days=days)


def copies(tables: dict[str, list[dict]], total: int):
    """(case rows, event rows) of each copy, dates moved back by 0-364 days."""
    cases, events = tables["cases"], tables["audit_events"]
    by_case: dict[int, list[dict]] = {}
    for event in events:
        by_case.setdefault(event["case_id"], []).append(event)
    names = {case["id"]: sorted(name_keys(case["given_name"], case["family_name"]))
             for case in cases}
    made, copy = 0, 0
    next_event_id = 1
    while made < total:
        days = (copy * 37) % 365
        case_rows, event_rows, key_rows = [], [], []
        for case in cases:
            if made >= total:
                break
            made += 1
            new_id = made
            row = dict(case, id=new_id, police_reference=f"{case['police_reference']}/{copy}")
            for name in SHIFTED_DATES + SHIFTED_TIMES:
                row[name] = _shift(row[name], days)
            case_rows.append(row)
            for event in by_case.get(case["id"], []):
                event_rows.append(dict(event, id=next_event_id, case_id=new_id,
                                       at=_shift(event["at"], days)))
                next_event_id += 1
            for key in [*names[case["id"]], reference_key(row["police_reference"])]:
                key_rows.append({"key": key, "referral_date": row["referral_date"],
                                 "case_id": new_id})
        yield case_rows, event_rows, key_rows
        copy += 1


def _raw(value, dialect: str):
    """A value as the database driver takes it for a bulk write: JSON as text and, on SQLite,
    instants in SQLAlchemy's own text form (naive UTC) so that they compare as it writes them."""
    if isinstance(value, dict | list):
        return json.dumps(value)
    if dialect == "sqlite" and isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if dialect == "sqlite" and isinstance(value, date):
        return value.isoformat()
    return value


def load(url: str, tables: dict[str, list[dict]], total: int, registry: WorkflowRegistry) -> int:
    engine = make_engine(url)
    upgrade_schema(engine)
    started, events = time.perf_counter(), 0
    with engine.begin() as connection:
        for name in ("users", "panel_meetings", "panel_attendance"):
            connection.execute(SQLModel.metadata.tables[name].insert(), tables[name])
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for case_rows, event_rows, key_rows in copies(tables, total):
            for name, rows in (("cases", case_rows), ("audit_events", event_rows),
                               ("case_search_keys", key_rows)):
                if not rows:
                    continue
                columns = list(rows[0])
                values = [[_raw(r[c], engine.dialect.name) for c in columns] for r in rows]
                if engine.dialect.name == "postgresql":
                    with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                        for value in values:
                            copy.write_row(value)
                else:
                    cursor.executemany(f"INSERT INTO {name} ({', '.join(columns)}) VALUES "
                                       f"({', '.join('?' for _ in columns)})", values)
            events += len(event_rows)
            if case_rows and case_rows[-1]["id"] % 100_000 < len(case_rows):
                log(f"  {case_rows[-1]['id']:,} cases, {events:,} events "
                    f"({time.perf_counter() - started:.0f} s)")
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))"))
        connection.execute(text("ANALYZE"))
    log(f"  loaded {total:,} cases and {events:,} events in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    with Session(engine) as session:  # what the transitions would have written, all at once
        refresh_facts(session, registry)
        session.commit()
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    log(f"  figures' tables worked out from the events in {time.perf_counter() - started:.0f} s")
    engine.dispose()
    started = time.perf_counter()
    os.sync()  # so that none of the load's writes are still going to disk during the rounds
    log(f"  written back to disk in {time.perf_counter() - started:.0f} s")
    return events


def measure(url: str, registry: WorkflowRegistry, rounds: int) -> tuple[float, float]:
    engine = make_engine(url)
    config = FiguresConfig.load(ROOT / "workflows")
    period = Period.of(TODAY - timedelta(days=364), TODAY)
    scans, figures = [], []
    with Session(engine) as session:
        compute_figures(session, registry=registry, period=period, config=config,
                        side_by_side=True)  # warm
        session.execute(text(SCAN)).all()
        for n in range(rounds):
            order = ("scan", "figures") if n % 2 == 0 else ("figures", "scan")
            for what in order:
                started = time.perf_counter()
                if what == "scan":
                    session.execute(text(SCAN)).all()
                    scans.append(time.perf_counter() - started)
                else:
                    found = compute_figures(session, registry=registry, period=period,
                                            config=config, side_by_side=True)
                    figures.append(time.perf_counter() - started)
            log(f"  round {n + 1}/{rounds}: plain scan {scans[-1]:.2f} s, every figure "
                f"{figures[-1]:.2f} s (T1 {found['T1'].value.numerator:,} of "
                f"{found['T1'].value.denominator:,})")
    engine.dispose()
    return statistics.median(scans), statistics.median(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 cases")
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default=None)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    total = args.cases or (20_000 if args.quick else 1_000_000)
    database = args.database or ("both" if find_bindir() else "sqlite")
    registry = WorkflowRegistry.from_folder(ROOT / "workflows")
    results = []
    with tempfile.TemporaryDirectory(prefix="ooc-bench-metrics-") as folder:
        folder = Path(folder)
        log(f"ooc figures benchmark: {total:,} cases; template of {TEMPLATE_CASES:,} demo cases...")
        tables = template(folder, registry)
        if database in ("sqlite", "both"):
            log("== SQLite")
            url = f"sqlite:///{folder / 'ooc.db'}"
            load(url, tables, total, registry)
            results.append(("SQLite", *measure(url, registry, args.rounds)))
        if database in ("postgresql", "both"):
            log("== PostgreSQL (a throwaway server, default memory settings)")
            server = TemporaryPostgres(find_bindir())
            try:
                url = server.start()
                load(url, tables, total, registry)
                results.append(("PostgreSQL", *measure(url, registry, args.rounds)))
            finally:
                server.stop()
    log("\nSummary: median seconds for every figure for a year, and for a plain scan of the "
        "events table")
    for name, scan, figures in results:
        log(f"  {name:<11} figures {figures:.2f} s, plain scan {scan:.2f} s, "
            f"ratio {figures / scan:.2f} (aim: under 2 s and within 5x the scan)")
    print(f"ratio={max(f / s for _, s, f in results):.2f}")


if __name__ == "__main__":
    main()
