"""Benchmark of the referral import: its speed against a bare executemany, and the latency of
pages and transitions while an import runs.

Run from the project root:

    .venv/bin/python bench/imports.py                    # 50,000 rows, SQLite and PostgreSQL
    .venv/bin/python bench/imports.py --quick            # 3,000 rows, a CI smoke run
    .venv/bin/python bench/imports.py --database sqlite  # sqlite | postgresql | both

What is measured, on each database
----------------------------------
1. Speed. N synthetic referrals (synthetic names only) are imported by `ooc.imports.
   import_referrals`, from the CSV text to committed cases: every row checked, then written in
   batches of 500 with their audit events, deadlines, figures' rows and search keys. Against it,
   in the same run, on the same database: the same rows, already typed, inserted into a plain
   table with the referral's columns by the driver's own `executemany`, in one transaction, and
   nothing else. The ratio is import time / bare time: what checking and the case's other rows
   cost over writing the referrals themselves. The aim is N = 50,000 in under a minute.
2. Latency during an import. A case before a panel is opened (GET /cases/{id}, through the web
   application in this process; the page writes the access log) and deferred (`defer` through
   the transition service in its own unit of work, as the web route does), one after the
   other, first with nothing else running, then while `ooc import referrals` imports another N
   rows in a process of its own. p50 and p95 of each, in milliseconds, and the errors (any
   error at all; on SQLite "database is locked" was the one to fear).

SQLite is a file in a temporary directory with the service's pragmas (WAL, synchronous=FULL);
PostgreSQL is a throwaway server started like the tests' (tests/pg_server.py) but with durable
commits (fsync and synchronous_commit on), as bench/web.py starts it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# This file is bench/imports.py: keep its folder off the path so that `web` is the application
# (bench/web.py would shadow it).
sys.path[:] = [str(ROOT)] + [p for p in sys.path if p and Path(p).resolve() != BENCH]

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import (  # noqa: E402
    Boolean,
    Column,
    Date,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
)
from sqlmodel import Session  # noqa: E402

from ooc.db import make_engine, unit_of_work, upgrade_schema  # noqa: E402
from ooc.imports import import_referrals  # noqa: E402
from ooc.machine import WorkflowRegistry  # noqa: E402
from ooc.service import fire  # noqa: E402
from ooc.settings import Settings  # noqa: E402
from tests.pg_server import TemporaryPostgres, find_bindir  # noqa: E402
from tests.support import Walker, make_users  # noqa: E402
from tests.test_imports import csv_text  # noqa: E402
from tests.web_support import sign_in  # noqa: E402
from web.app import create_app  # noqa: E402

FULL, QUICK = 50_000, 3_000
# Page views and transitions measured with nothing else running.
IDLE_ROUNDS = 40
GIVEN = ("Alex", "Sam", "Jordan", "Riley", "Casey", "Morgan", "Taylor", "Jamie")
FAMILY = ("Example", "Sample", "Specimen", "Placeholder", "Testcase")
WORKFLOWS = ROOT / "workflows"


def say(message: str) -> None:
    print(message, flush=True)


def synthetic_rows(n: int, prefix: str) -> list[dict]:
    """`n` valid referrals with synthetic names, each its own police reference."""
    return [{
        "police_reference": f"{prefix}/{i:06d}",
        "given_name": f"{GIVEN[i % len(GIVEN)]}{i}",
        "family_name": FAMILY[i % len(FAMILY)],
        "date_of_birth": date(2010 + i % 4, 1 + i % 12, 1 + i % 28),
        "sex": ("female", "male")[i % 2],
        "ethnicity": "W1",
        "looked_after": i % 7 == 0,
        "offence_date": date(2026, 2, 1 + i % 20),
        "offence_description": "Theft from a shop",
        "offence_category": "theft_and_handling",
        "gravity_score": 1 + i % 3,
        "admission": True,
        "previous_formal_outcomes": i % 3,
        "referral_date": date(2026, 3, 2),
        "has_victim": i % 3 == 0,
        "victim_opted_out": False,
    } for i in range(n)]


def as_csv(rows: list[dict]) -> str:
    return csv_text(*({k: v.isoformat() if isinstance(v, date) else v for k, v in r.items()}
                      for r in rows))


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return 1000 * ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


# --- 1. speed ---------------------------------------------------------------------------------


def bare_executemany(engine: Engine, rows: list[dict]) -> float:
    """Seconds to insert the typed rows into a plain table in one transaction, by the driver."""
    types = {str: String(300), int: Integer(), bool: Boolean(), date: Date()}
    table = Table("bench_bare_referrals", MetaData(),
                  *[Column(name, types[type(value)]) for name, value in rows[0].items()])
    table.create(engine)
    columns = list(rows[0])
    placeholder = "?" if engine.dialect.name == "sqlite" else "%s"
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
           f"VALUES ({', '.join(placeholder for _ in columns)})")
    values = [tuple(r[c] for c in columns) for r in rows]
    raw = engine.raw_connection()
    try:
        started = time.perf_counter()
        cursor = raw.cursor()
        cursor.executemany(sql, values)
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


# --- 2. latency during an import ---------------------------------------------------------------


class Visitor:
    """A panel chair who opens a case and defers it, again and again."""

    def __init__(self, engine: Engine, registry: WorkflowRegistry, url: str):
        with Session(engine, expire_on_commit=False) as session:
            users = make_users(session)
            session.commit()
            walker = Walker(session, registry, users)
            case = walker.create(police_reference="BENCH/VISITED")
            walker.to(case, "ready_for_panel")
            self.meeting_id = walker.quorate_meeting().id
        self.engine, self.registry, self.case_id = engine, registry, case.id
        self.chair, self.police, self.now = users["chair"], users["police"], walker.now
        settings = Settings(database_url=url, workflows_dir=WORKFLOWS,
                            secret_key="bench-imports-secret")
        app = create_app(settings=settings, engine=engine, registry=registry,
                         clock=lambda: self.now)
        self.client = TestClient(app, raise_server_exceptions=False)
        sign_in(self.client, "chair")
        self.pages: list[float] = []
        self.transitions: list[float] = []
        self.errors: list[str] = []

    def round(self) -> None:
        started = time.perf_counter()
        page = self.client.get(f"/cases/{self.case_id}")
        if page.status_code == 200:
            self.pages.append(time.perf_counter() - started)
        else:
            self.errors.append(f"case page: HTTP {page.status_code}")
        started = time.perf_counter()
        try:
            with unit_of_work(self.engine) as session:
                fire(session, registry=self.registry, case_id=self.case_id, trigger="defer",
                     actor=self.chair, now=self.now, data={"meeting_id": self.meeting_id},
                     reason="The panel needs the school's report.",
                     reason_code="more_information_needed")
            self.transitions.append(time.perf_counter() - started)
        except Exception as e:
            self.errors.append(f"transition: {str(e).splitlines()[0]}")

    def report(self, label: str) -> str:
        return (f"{label}: case page p50 {percentile(self.pages, 50):.0f} ms, p95 "
                f"{percentile(self.pages, 95):.0f} ms ({len(self.pages)}); transition p50 "
                f"{percentile(self.transitions, 50):.0f} ms, p95 "
                f"{percentile(self.transitions, 95):.0f} ms ({len(self.transitions)}); "
                f"errors {len(self.errors)}")

    def reset(self) -> None:
        self.pages, self.transitions, self.errors = [], [], []


def import_in_a_process(url: str, path: Path, visitor: Visitor) -> tuple[float, int, str]:
    """`ooc import referrals` in a process of its own, while the visitor keeps visiting:
    seconds, exit status and the command's last progress line."""
    env = {**os.environ, "OOC_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", "from ooc.cli import app; app()", "import", "referrals",
               str(path), "--actor", "police"]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                   stderr=err)
        while process.poll() is None:
            visitor.round()
        seconds = time.perf_counter() - started
        err.seek(0)
        lines = err.read().strip().splitlines()
    return seconds, process.returncode, lines[-1] if lines else ""


# --- the run ----------------------------------------------------------------------------------


def bench_database(name: str, url: str, folder: Path, n: int,
                   registry: WorkflowRegistry) -> dict:
    say(f"\n{name}")
    engine = make_engine(url)
    upgrade_schema(engine)
    visitor = Visitor(engine, registry, url)
    first, second = synthetic_rows(n, "IMP/A"), synthetic_rows(n, "IMP/B")
    text = as_csv(first)
    second_path = folder / f"{name.lower()}-second.csv"
    second_path.write_text(as_csv(second))

    bare = bare_executemany(engine, first)
    say(f"  bare executemany of {n:,} rows: {bare:.2f} s ({n / bare:,.0f} rows/s)")
    started = time.perf_counter()
    report = import_referrals(engine, registry=registry, actor=visitor.police, rows=text,
                              now=visitor.now)
    seconds = time.perf_counter() - started
    assert len(report.created) == n, report.summary()
    say(f"  import of {n:,} rows: {seconds:.2f} s ({n / seconds:,.0f} rows/s), "
        f"{seconds / bare:.1f}x the bare executemany")

    for _ in range(IDLE_ROUNDS):
        visitor.round()
    say("  " + visitor.report("nothing else running"))
    idle = (percentile(visitor.pages, 95), percentile(visitor.transitions, 95))
    visitor.reset()
    command_seconds, status, last = import_in_a_process(url, second_path, visitor)
    say(f"  `ooc import referrals` of another {n:,} rows in its own process: "
        f"{command_seconds:.1f} s, exit status {status} (last line: {last!r})")
    say("  " + visitor.report("during that import"))
    for error in visitor.errors[:5]:
        say(f"    {error}")
    engine.dispose()
    return {"database": name, "seconds": seconds, "ratio": seconds / bare,
            "idle_p95": idle, "busy_p95": (percentile(visitor.pages, 95),
                                           percentile(visitor.transitions, 95)),
            "errors": len(visitor.errors) + (status != 0)}


class DurablePostgres(TemporaryPostgres):
    """tests/pg_server.py's throwaway server, with durable commits and default settings."""

    def start(self) -> str:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "ooc", "-A", "trust",
                  "-E", "UTF8", "--locale", "C")
        options = f"-k {self.root} -c listen_addresses='' -c max_connections=100"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.root / "server.log"), "-o", options, "-w", "start")
        self._run(str(self.bindir / "createdb"), "-h", str(self.root), "-U", "ooc", "ooc_bench")
        return f"postgresql+psycopg://ooc@/ooc_bench?host={self.root}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK:,} rows rather than {FULL:,}, for CI smoke runs")
    parser.add_argument("--rows", type=int, default=None, help="rows to import")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default=None,
                        help="default: both when PostgreSQL's server binaries are installed")
    args = parser.parse_args(argv)
    n = args.rows or (QUICK if args.quick else FULL)
    bindir = find_bindir()
    databases = args.database or ("both" if bindir else "sqlite")
    if databases in ("postgresql", "both") and bindir is None:
        raise SystemExit("PostgreSQL's server binaries are not installed (apt-get install "
                         "postgresql); use --database sqlite.")
    say(f"ooc import benchmark: {n:,} rows; databases: {databases}")
    registry = WorkflowRegistry.from_folder(WORKFLOWS)
    results = []
    with tempfile.TemporaryDirectory(prefix="ooc-bench-imports-") as tmp:
        folder = Path(tmp)
        if databases in ("sqlite", "both"):
            results.append(bench_database("SQLite", f"sqlite:///{folder / 'ooc.db'}", folder,
                                          n, registry))
        if databases in ("postgresql", "both"):
            postgres = DurablePostgres(bindir)
            try:
                url = postgres.start()
                results.append(bench_database("PostgreSQL", url, folder, n, registry))
            finally:
                postgres.stop()
    say("\nSummary")
    for r in results:
        say(f"  {r['database']:<11} {n:,} rows in {r['seconds']:.1f} s "
            f"({r['ratio']:.1f}x a bare executemany); p95 case page / transition: "
            f"{r['idle_p95'][0]:.0f} / {r['idle_p95'][1]:.0f} ms alone, "
            f"{r['busy_p95'][0]:.0f} / {r['busy_p95'][1]:.0f} ms during an import; "
            f"errors {r['errors']}")
    say(f"seconds={max(r['seconds'] for r in results):.1f} "
        f"errors={sum(r['errors'] for r in results)}")
    if any(r["errors"] for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
