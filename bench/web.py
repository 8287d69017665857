"""Benchmark of the web application: each page served alone, and an open-loop load.

Run from the project root:

    .venv/bin/python bench/web.py                      # full run: ~100,000 cases, ~15 min
    .venv/bin/python bench/web.py --quick              # smoke run, well under a minute
    .venv/bin/python bench/web.py --database sqlite    # sqlite | postgresql | both (the default
                                                       # when PostgreSQL's binaries are installed)
    .venv/bin/python bench/web.py --workers 2          # uvicorn workers (default: 1 on SQLite,
                                                       # 2 on PostgreSQL)
    .venv/bin/python bench/web.py --rate 60            # open-loop requests per second (40)
    .venv/bin/python bench/web.py --profile            # longer cProfile tables per page

What is served
--------------
The real application (`web.main:app`, the module `ooc serve` runs) by uvicorn on a free loopback
port, started as `ooc serve` starts it (`ooc.cli.run_server`), with one worker on SQLite and two
on PostgreSQL, and connections kept open while idle (`timeout_keep_alive=300`); and in the same
run a bare FastAPI application with one trivial endpoint (GET /ping: a sync `def` returning a
tiny HTML page, so that it too goes through FastAPI's thread pool) started the same way with the
same workers on another port: the baseline. People sign in through the
real sign-in form (GET it for its CSRF token, POST the username and password: argon2 is paid
only there): case managers bench_cm01 to bench_cm20 and a manager, bench_manager, all of one
team (none), so each reaches the others' cases.

The pages (issue 11, point 11)
------------------------------
- caseload: GET /caseload, bench_cm01's own (52-61 open cases at 100,000);
- case page: GET /cases/{id} of a full record: a case that has been assessed, countersigned,
  decided, signed off and reviewed (the case managers' cases with the most events), written to
  the access log as every view is;
- countersign page: GET /cases/{id}/actions/countersign, by the manager, of a case awaiting
  countersignature (the form shows the assessment);
- search results: GET /search?results=... of a search for the family name most cases share
  (hundreds found): its first page, 20 cases, written to the access log. The search is sent
  (POST /search) once per session beforehand: the results page runs the search itself, the POST
  only keeps what was asked for in the session;
- transition POST: POST /cases/{id}/actions/record_review (a self-transition in `intervention`
  that a case manager may fire again and again) after GET of the form for a fresh CSRF token and
  the case's `expected_version`; the form GET is timed too, as "action form". A POST counts only
  if it redirects to the case page, and the number of new `record_review` events in the database
  must equal the number of such POSTs: if not, the benchmark stops.

(a) Each page served alone
--------------------------
One request at a time (one session per person, one connection each, nothing else sent): in
every round one request of each page and of the baseline, in a new random order each round, so
that the machine's noise (2 cores, shared) falls on all of them alike. Printed per page: the
median latency over all rounds (and the quartiles), and its ratio to the baseline's median.
Aim: every page within 8 times the bare endpoint.

(b) Open-loop load
------------------
Requests arrive as a Poisson process (exponential gaps) at `--rate` (40) HTTP requests a second
for 60 s, and each is sent on schedule (an asyncio task started at its time) whether or not the
earlier ones have been answered: a mix of the pages above, from a pool of 21 signed-in sessions
(each case manager's and the manager's, several connections each). The mix, by arrivals:
caseload 25%, case page 25%, countersign page 10%, search results 20%, transition 20% (a form
GET then its POST: two requests, so arrivals come at rate / 1.2 a second). No two transitions
are on the same case at once (each takes a case from a pool of the case managers' intervention
cases, and waits if none is free). Latency is measured from the scheduled send time, so time
spent queueing counts (a POST's from when its form was answered). Printed: p50, p95, p99 and
errors (an answer other than 2xx or 3xx, a refused POST, a connection error or a timeout after
10 s) over all requests and per page. Aim: p95 under 50 ms and no errors at 40 requests a
second, on SQLite with one worker and on PostgreSQL with two. Before measuring, 10 s of the
same load warms up every worker.

Where the time goes
-------------------
After (a) and (b), the application is started once more in this file's own process wrapper
(`--serve-instrumented`, the same `create_app` from the environment) with the thread pool
replaced by inline calls, so that one visitor's sequential requests run on one thread and can be
timed and profiled: per page, the server's own time split into SQL statements (count and
execute time, outside commits), commits (flush + COMMIT, the fsync on SQLite), template
rendering, the session cookie (SessionMiddleware) and the rest (Python: ORM objects, guards and
`available_actions`, deadlines, FastAPI and Starlette, HTTP). On SQLite, rows are stepped while
they are fetched, so part of a query's cost is in the rest; the cProfile tables show it. Then a
cProfile pass, printed per page as the project's own functions by cumulative time and all
functions by own time (longer tables with `--profile`).

The data
--------
`ooc.demo.load_demo` plays `template_cases` cases through the real transition service (a year of
referrals, panels, decisions, victims, interventions and closures) into a template SQLite
database. The benchmark's database (`ooc.db.upgrade_schema`, then rows) holds:

- `live_copies` copies of the whole template, each with its three case managers renamed
  bench_cm01, bench_cm02, ... (50-60 open cases each, a full caseload);
- copies of the template's closed and withdrawn cases up to `total_cases`, spread over 100 case
  managers' names (bench_cm01-21 among them, so each also has ~1% of the history: ~1,000 closed
  cases at 100,000);

row for row as the service wrote them (case row, audit events, deadlines, search keys), re-keyed
(case id, police reference, the case manager's name wherever it is recorded) with the hash chain
recomputed (bench/engine.py's `rechain`; the smoke run checks the result with
`ooc.audit.verify_trail`). The 21 users who sign in are added through `ooc.accounts.add_user`;
the other people named in the copied events (police1, chair1, former_cm022, ...) are names only.
PostgreSQL is a throwaway server started like the tests' (tests/pg_server.py: its own Unix
socket, run as the postgres user) but with durable commits (fsync and synchronous_commit on,
as SQLite here has synchronous=FULL), default memory settings, and ANALYZE after the load.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib.util
import io
import json
import os
import pstats
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# This file is bench/web.py: keep its folder off the path so that `web` is the application.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if p and Path(p).resolve() != BENCH]

import httpx  # noqa: E402
from sqlalchemy import JSON, Engine, func, select, text  # noqa: E402

from ooc.accounts import add_user  # noqa: E402
from ooc.audit import verify_trail  # noqa: E402
from ooc.db import make_engine, unit_of_work, upgrade_schema  # noqa: E402
from ooc.demo import load_demo  # noqa: E402
from ooc.machine import WorkflowRegistry  # noqa: E402
from ooc.models import AuditEvent, Case, CaseSearchKey, Deadline, PanelMeeting  # noqa: E402
from ooc.search import key_rows  # noqa: E402
from tests.pg_server import TemporaryPostgres, find_bindir  # noqa: E402


def _engine_bench():
    """bench/engine.py, for its `rechain` (re-keying a case's events with a valid hash chain)."""
    spec = importlib.util.spec_from_file_location("ooc_bench_engine", BENCH / "engine.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Sizes:
    template_cases: int  # demo cases played through the service
    live_copies: int  # copies of the whole template, three case managers each
    total_cases: int
    warmup: int  # rounds of (a) before measuring
    rounds: int  # rounds of (a): one request of each page and of the baseline each
    seconds: float  # of the open-loop load (b)
    warmup_seconds: float  # of the same load before (b)
    breakdown: int  # rounds for the breakdown, and half as many for the profile


FULL = Sizes(template_cases=600, live_copies=7, total_cases=100_000, warmup=20, rounds=300,
             seconds=60, warmup_seconds=10, breakdown=60)
QUICK = Sizes(template_cases=200, live_copies=7, total_cases=2_000, warmup=3, rounds=20,
              seconds=5, warmup_seconds=1, breakdown=6)

CASE_MANAGERS = 20
MANAGER = "bench_manager"
SEED = 20260101
HISTORIC_CASE_MANAGERS = 100
PASSWORD = "bench-password-long-enough"
TEMPLATE_CASE_MANAGERS = ("casemanager1", "casemanager2", "casemanager3")
REVIEW = {"summary": "Attending every session; school reports better attendance.",
          "child_views": "Finds the sessions useful.",
          "parent_views": "Pleased with the progress."}
# A full record has been through all of these (and more: panels, victims...).
FULL_RECORD = {"submit_assessment", "countersign", "record_decision", "sign_off",
               "record_review"}
FULL_RECORDS_SHOWN = 20  # case pages cycle through these
PAGES = ("caseload", "case page", "countersign page", "search results", "transition POST")
CONTENDERS = ("baseline", "caseload", "case page", "countersign page", "search results",
              "transition")  # "transition": the action form GET, then the POST
MIX = {"caseload": 0.25, "case page": 0.25, "countersign page": 0.10, "search results": 0.20,
       "transition": 0.20}
RATE = 40.0  # open-loop HTTP requests a second
TIMEOUT = 10.0  # seconds: a request not answered by then is an error
RATIO_AIM = 8.0
P95_AIM_MS = 50.0
BASELINE_APP = '''\
from fastapi import FastAPI
from starlette.responses import HTMLResponse

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/ping")
def ping() -> HTMLResponse:
    return HTMLResponse("<!DOCTYPE html><html lang='en'><title>ok</title><p>ok</p></html>")
'''



def say(message: str = "") -> None:
    print(message, flush=True)


def bench_case_manager(n: int) -> str:
    return f"bench_cm{n:02d}"


# --- the data --------------------------------------------------------------------------------


@dataclass
class Template:
    meetings: list[dict]
    cases: list[dict]  # in id order
    events: dict[int, list[dict]]  # by case id, in sequence order
    deadlines: dict[int, list[dict]]
    terminal: set[int]
    named: set[int]  # the events whose data holds a name that is re-keyed


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def build_template(path: Path, registry: WorkflowRegistry, cases: int) -> Template:
    """`cases` demo cases played through the transition service, read back as rows."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade_schema(engine)
    with unit_of_work(engine) as session:
        summary = load_demo(session, registry=registry, cases=cases, seed=SEED,
                            today=date.today())
    say(f"  template: {summary.cases:,} cases by state {summary.by_state}")
    tables = [t.__table__ for t in (PanelMeeting, Case, AuditEvent, Deadline)]
    with engine.connect() as conn:
        meetings, case_rows, event_rows, deadline_rows = (
            [dict(r) for r in conn.execute(select(t).order_by(t.c.id)).mappings()]
            for t in tables)
    engine.dispose()
    events: dict[int, list[dict]] = defaultdict(list)
    for e in sorted(event_rows, key=lambda e: (e["case_id"], e["seq"])):
        events[e["case_id"]].append(e)
    deadlines: dict[int, list[dict]] = defaultdict(list)
    for d in deadline_rows:
        deadlines[d["case_id"]].append(d)
    terminal = {c["id"] for c in case_rows
                if registry.get(c["workflow_name"], c["workflow_version"]).is_terminal(c["state"])}
    references = {c["id"]: c["police_reference"] for c in case_rows}
    named = {e["id"] for e in event_rows
             if {*TEMPLATE_CASE_MANAGERS, references[e["case_id"]]} & set(_strings(e["data"]))}
    return Template(meetings, case_rows, dict(events), dict(deadlines), terminal, named)


def _rekey(value: Any, names: dict[str, str]) -> Any:
    """`value` with every string equal to a key of `names` replaced, at any depth."""
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, dict):
        return {k: _rekey(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_rekey(v, names) for v in value]
    return value


def _copy_case(template: Template, source: dict, case_id: int, names: dict[str, str],
               rechain) -> tuple[dict, list[dict], list[dict], list[dict]]:
    """One template case as new rows: re-keyed, its hash chain recomputed, with the search
    keys of its name and new reference."""
    names = {**names, source["police_reference"]: f"BENCH/{case_id:07d}"}
    events = [{**e, "actor": names.get(e["actor"], e["actor"]),
               "data": _rekey(e["data"], names) if e["id"] in template.named else e["data"]}
              for e in template.events[source["id"]]]
    chain = rechain(events, case_id)
    case = {**_rekey(source, names), "id": case_id, "audit_head": chain[-1]["hash"],
            "version": chain[-1]["seq"]}
    deadlines = []
    for d in template.deadlines.get(source["id"], ()):
        row = {**d, "case_id": case_id}
        row.pop("id")
        deadlines.append(row)
    keys = key_rows(case_id, case["given_name"], case["family_name"], case["police_reference"],
                    case["referral_date"])
    return case, chain, deadlines, keys


def _planned_cases(template: Template, sizes: Sizes) -> Iterator[tuple[dict, dict[str, str]]]:
    """(template case, names to re-key) for every case of the benchmark's database, in order."""
    for copy in range(sizes.live_copies):
        names = {old: bench_case_manager(3 * copy + i + 1)
                 for i, old in enumerate(TEMPLATE_CASE_MANAGERS)}
        for source in template.cases:
            yield source, names
    historic = [c for c in template.cases if c["id"] in template.terminal]
    pool = ([bench_case_manager(n) for n in range(1, 3 * sizes.live_copies + 1)]
            + [f"former_cm{n:03d}" for n in range(3 * sizes.live_copies + 1,
                                                  HISTORIC_CASE_MANAGERS + 1)])
    for n in range(sizes.total_cases - sizes.live_copies * len(template.cases)):
        source = historic[n % len(historic)]
        manager = source["case_manager"]
        yield source, ({manager: pool[n % len(pool)]} if manager else {})


def _insert(conn, table, rows: list[dict]) -> None:
    """Insert `rows`: with COPY on PostgreSQL (several times faster than INSERT), else
    SQLAlchemy's executemany."""
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    from psycopg.types.json import Jsonb

    columns = [c.name for c in table.columns if c.name in rows[0]]
    json_columns = {c.name for c in table.columns if c.name in rows[0]
                    and isinstance(c.type, JSON)}
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with conn.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([Jsonb(row[c]) if c in json_columns else row[c] for c in columns])


def load_database(engine: Engine, template: Template, sizes: Sizes, chunk: int = 5_000) -> None:
    """The schema, the panel meetings, the users and `total_cases` cases."""
    rechain = _engine_bench().rechain
    first = template.cases[0]
    recomputed = [e["hash"] for e in rechain(template.events[first["id"]], first["id"])]
    if recomputed != [e["hash"] for e in template.events[first["id"]]]:
        raise SystemExit("bulk load: recomputing a template case's hash chain does not match the "
                         "service's; the loader would write rows the service would not.")
    upgrade_schema(engine)
    started = time.perf_counter()
    with unit_of_work(engine) as session:  # the users who sign in (argon2 is slow by design)
        for n in range(1, CASE_MANAGERS + 1):
            add_user(session, username=bench_case_manager(n), roles=["case_manager"],
                     password=PASSWORD, display_name=f"Bench Case Manager {n}",
                     now=datetime.now(UTC))
        # The countersign page is a manager's: of the same team (none) as the case managers.
        add_user(session, username=MANAGER, roles=["manager"], password=PASSWORD,
                 display_name="Bench Manager", now=datetime.now(UTC))
    say(f"  {CASE_MANAGERS + 1} users added through add_user (argon2) in "
        f"{time.perf_counter() - started:.1f} s")
    cases, events, deadlines = Case.__table__, AuditEvent.__table__, Deadline.__table__
    keys = CaseSearchKey.__table__
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(PanelMeeting.__table__.insert(), template.meetings)
    case_rows: list[dict] = []
    event_rows: list[dict] = []
    deadline_rows: list[dict] = []
    key_rows_: list[dict] = []

    def write() -> None:
        with engine.begin() as conn:
            for table, rows in ((cases, case_rows), (events, event_rows),
                                (deadlines, deadline_rows), (keys, key_rows_)):
                if rows:
                    _insert(conn, table, rows)
        case_rows.clear(), event_rows.clear(), deadline_rows.clear(), key_rows_.clear()

    for case_id, (source, names) in enumerate(_planned_cases(template, sizes), start=1):
        case, chain, due, found_by = _copy_case(template, source, case_id, names, rechain)
        case_rows.append(case)
        event_rows.extend(chain)
        deadline_rows.extend(due)
        key_rows_.extend(found_by)
        if len(case_rows) == chunk:
            write()
            if case_id % 20_000 == 0 or case_id == sizes.total_cases:
                say(f"  loaded {case_id:,} of {sizes.total_cases:,} cases "
                    f"({time.perf_counter() - started:.0f} s)")
    if case_rows:
        write()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in ("cases", "panel_meetings"):  # ids were given explicitly
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))  # what autovacuum would do shortly after a bulk load
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    with engine.connect() as conn:
        counts = {t.name: conn.scalar(select(func.count()).select_from(t))
                  for t in (cases, events, deadlines)}
    say(f"  bulk load: {counts['cases']:,} cases, {counts['audit_events']:,} audit events, "
        f"{counts['deadlines']:,} deadlines in {time.perf_counter() - started:.0f} s")
    if sizes.total_cases <= 10_000:  # the smoke run checks that the loader's rows are sound
        with unit_of_work(engine) as session:
            checked, _, problems = verify_trail(session)
        if problems:
            raise SystemExit(f"bulk load: the audit trail does not verify: {problems[:3]}")
        say(f"  audit trail verified (ooc.audit.verify_trail): {checked:,} cases")



@dataclass
class Targets:
    """What the pages are asked for, chosen from the loaded database."""

    case_managers: list[str]
    full_records: list[int]  # case pages cycle through these
    countersign: list[int]  # cases awaiting countersignature
    search_name: str  # a family name shared by many cases
    search_found: int
    reviews: dict[str, list[int]]  # each case manager's intervention cases, none a full record
    open_cases: list[int]  # per case manager


def choose_targets(engine: Engine, registry: WorkflowRegistry) -> Targets:
    managers = [bench_case_manager(n + 1) for n in range(CASE_MANAGERS)]
    with engine.connect() as conn:
        rows = conn.execute(select(Case.id, Case.state, Case.case_manager, Case.workflow_name,
                                   Case.workflow_version)
                            .where(Case.case_manager.in_(managers))).all()
        triggers: dict[int, set[str]] = defaultdict(set)
        counts: Counter[int] = Counter()
        for case_id, trigger in conn.execute(
                select(AuditEvent.case_id, AuditEvent.trigger).join(
                    Case, Case.id == AuditEvent.case_id)
                .where(Case.case_manager.in_(managers))):
            triggers[case_id].add(trigger)
            counts[case_id] += 1
        # The family name of the most cases the case managers reach (theirs and nobody's).
        name, found = conn.execute(
            select(Case.family_name, func.count()).where(
                Case.case_manager.in_(managers) | Case.case_manager.is_(None))
            .group_by(Case.family_name).order_by(func.count().desc()).limit(1)).one()
    full = sorted((c for c in counts if FULL_RECORD <= triggers[c]),
                  key=lambda c: (-counts[c], c))[:FULL_RECORDS_SHOWN]
    reviews: dict[str, list[int]] = defaultdict(list)
    open_cases: Counter[str] = Counter()
    countersign = []
    for row in rows:
        if not registry.get(row.workflow_name, row.workflow_version).is_terminal(row.state):
            open_cases[row.case_manager] += 1
        if row.state == "intervention" and row.id not in full:
            reviews[row.case_manager].append(row.id)
        if row.state == "awaiting_countersignature":
            countersign.append(row.id)
    missing = [u for u in managers if not reviews[u]]
    if missing or not full or not countersign or found < 20:
        raise SystemExit(f"the database lacks what the pages need (intervention cases for "
                         f"{missing}, {len(full)} full records, {len(countersign)} cases awaiting "
                         f"countersignature, {found} cases named {name}); use a bigger template.")
    return Targets(managers, full, sorted(countersign), name, found,
                   {u: sorted(reviews[u]) for u in managers},
                   [open_cases[u] for u in managers])


def count_reviews(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(AuditEvent)
                           .where(AuditEvent.trigger == "record_review"))


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


# --- the servers -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(name: str, command: list[str], env: dict[str, str], port: int, ready_path: str,
           folder: Path) -> Iterator[str]:
    """A server process (in its own process group, with its workers) until the block ends."""
    log_path = folder / f"{name}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{name} stopped at start:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(url + ready_path, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} did not answer within 60 s:\n"
                                 f"{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        try:
            yield url
        except BaseException:  # what the server said may explain it
            say(f"{name}'s log (the end):\n{log_path.read_text()[-3000:]}")
            raise
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the group this Popen started
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def uvicorn_command(app: str, port: int, workers: int, app_dir: Path) -> list[str]:
    """uvicorn as `ooc serve` runs it (ooc.cli.run_server), with `app` from `app_dir`, and
    connections kept open while idle (the sessions of the open loop wait their turn)."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from ooc.cli import run_server; "
            "run_server(sys.argv[2], host='127.0.0.1', port=int(sys.argv[3]), "
            "workers=int(sys.argv[4]), timeout_keep_alive=300)")
    return [sys.executable, "-c", code, str(app_dir), app, str(port), str(workers)]


# --- the clients -----------------------------------------------------------------------------


# --- the people --------------------------------------------------------------------------------


class BenchError(Exception):
    pass


class Refused(Exception):
    """An answer other than the one expected (an error in the open-loop load)."""


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'name="expected_version" value="(\d+)"')
RESULTS = re.compile(r"^/search\?results=([\w-]+)$")


def _client(url: str, connections: int = 1) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, timeout=TIMEOUT, follow_redirects=False,
                             limits=httpx.Limits(max_connections=connections,
                                                 max_keepalive_connections=connections))


class Person:
    """One person signed in through the sign-in form: a session cookie and its connections.

    Each request's latency is from `since` (the open loop's scheduled send time) when given,
    else from when it is sent.
    """

    def __init__(self, url: str, username: str, connections: int = 1):
        self.http = _client(url, connections)
        self.username = username
        self.search = ""  # the results id of the search this session keeps

    async def sign_in(self) -> None:
        page = await self.http.get("/sign-in")
        response = await self.http.post("/sign-in", data={
            "username": self.username, "password": PASSWORD,
            "csrf_token": CSRF.search(page.text).group(1), "next": ""})
        if response.status_code != 303:
            raise BenchError(f"signing in as {self.username}: HTTP {response.status_code}")

    async def save_search(self, name: str) -> None:
        """POST the search for `name`, as the form does; its results page is then a GET."""
        form = await self.http.get("/search")
        response = await self.http.post("/search", data={
            "csrf_token": CSRF.search(form.text).group(1), "name": name})
        found = RESULTS.match(response.headers.get("location", ""))
        if response.status_code != 303 or not found:
            raise BenchError(f"searching for {name}: HTTP {response.status_code}")
        self.search = found.group(1)
        page = await self.http.get(f"/search?results={self.search}")
        if "Showing 1 to 20," not in page.text:
            raise BenchError(f"the search for {name} does not show 20 cases on its first page")

    async def get(self, path: str, since: float | None = None) -> tuple[float, httpx.Response]:
        started = since or time.perf_counter()
        response = await self.http.get(path)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise Refused(f"GET {path.split('?')[0]}: HTTP {response.status_code}")
        return elapsed, response

    async def transition(self, case_id: int, since: float | None = None
                         ) -> tuple[float, float]:
        """The action form (a fresh CSRF token and version), then its POST: both latencies,
        the POST's from when the form was answered."""
        path = f"/cases/{case_id}/actions/record_review"
        form_seconds, page = await self.get(path, since)
        data = {"csrf_token": CSRF.search(page.text).group(1),
                "expected_version": VERSION.search(page.text).group(1), **REVIEW}
        started = time.perf_counter()
        response = await self.http.post(path, data=data)
        post_seconds = time.perf_counter() - started
        # Refused forms are shown again (4xx) or sent back to the form (303 elsewhere).
        if response.status_code != 303 or response.headers.get("location") != f"/cases/{case_id}":
            raise Refused(f"POST record_review: HTTP {response.status_code} to "
                          f"{response.headers.get('location')}")
        return form_seconds, post_seconds


async def sign_in_all(people: list[Person], search_name: str) -> None:
    await asyncio.gather(*(p.sign_in() for p in people))
    await asyncio.gather(*(p.save_search(search_name) for p in people if p.username != MANAGER))


@dataclass
class Visitor:
    """bench_cm01 and the manager, one connection each, and one to the baseline: each page of
    the benchmark as one request, cycling through the targets."""

    case_manager: Person
    manager: Person
    baseline: httpx.AsyncClient | None
    targets: Targets
    sent: Counter[str] = field(default_factory=Counter)

    def _next(self, contender: str, cases: list[int]) -> int:
        self.sent[contender] += 1
        return cases[(self.sent[contender] - 1) % len(cases)]

    async def request(self, contender: str) -> dict[str, float]:
        """One contender's request(s): latency in seconds by label."""
        me, targets = self.case_manager, self.targets
        if contender == "baseline":
            started = time.perf_counter()
            (await self.baseline.get("/ping")).raise_for_status()
            return {"baseline": time.perf_counter() - started}
        if contender == "caseload":
            return {"caseload": (await me.get("/caseload"))[0]}
        if contender == "case page":
            case_id = self._next(contender, targets.full_records)
            return {"case page": (await me.get(f"/cases/{case_id}"))[0]}
        if contender == "countersign page":
            case_id = self._next(contender, targets.countersign)
            path = f"/cases/{case_id}/actions/countersign"
            return {"countersign page": (await self.manager.get(path))[0]}
        if contender == "search results":
            return {"search results": (await me.get(f"/search?results={me.search}"))[0]}
        form, post = await me.transition(self._next(contender, targets.reviews[me.username]))
        return {"action form": form, "transition POST": post}

    async def close(self) -> None:
        for client in (self.case_manager.http, self.manager.http, self.baseline):
            if client is not None:
                await client.aclose()


async def visitor(app_url: str, baseline_url: str | None, targets: Targets) -> Visitor:
    people = [Person(app_url, targets.case_managers[0]), Person(app_url, MANAGER)]
    await sign_in_all(people, targets.search_name)
    return Visitor(*people, _client(baseline_url) if baseline_url else None, targets)


async def alone(visit: Visitor, rounds: int, rng: random.Random) -> dict[str, list[float]]:
    """(a): `rounds` rounds of one request of each contender, one at a time, each round in a new
    random order so that noise falls alike on all."""
    times: dict[str, list[float]] = defaultdict(list)
    contenders = [c for c in CONTENDERS if visit.baseline or c != "baseline"]
    for _ in range(rounds):
        rng.shuffle(contenders)
        for contender in contenders:
            for label, seconds in (await visit.request(contender)).items():
                times[label].append(seconds)
    return dict(times)


def checked_reviews(db: Engine, before: int, answered: int) -> int:
    """The count of record_review events, after checking that every POST answered as done
    wrote one."""
    now = count_reviews(db)
    if now - before < answered:
        raise BenchError(f"{answered} review POSTs were answered as done but only "
                         f"{now - before} record_review events were written.")
    return now


# --- (b) the open-loop load ------------------------------------------------------------------


@dataclass
class OpenLoop:
    rate: float  # asked for: HTTP requests a second
    seconds: float
    latencies: dict[str, list[float]]  # by page, of the answered requests
    errors: Counter[str]  # by page
    problems: Counter[str]  # what went wrong, by kind
    lag: list[float]  # how late each request's task started (the client's own delay)
    sent: int = 0

    def all_latencies(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]


def arrivals(rate: float, seconds: float, rng: random.Random) -> list[tuple[float, str]]:
    """(time, page) of each arrival: a Poisson process at `rate` HTTP requests a second, a
    transition counting as its two requests."""
    per_arrival = sum(w * (2 if page == "transition" else 1) for page, w in MIX.items())
    pages, weights = list(MIX), list(MIX.values())
    plan, at = [], 0.0
    while True:
        at += rng.expovariate(rate / per_arrival)
        if at >= seconds:
            return plan
        plan.append((at, rng.choices(pages, weights)[0]))


async def open_loop(case_managers: list[Person], manager: Person, targets: Targets,
                    rate: float, seconds: float, rng: random.Random) -> OpenLoop:
    """(b): every arrival sent at its time as its own task, answered or not the ones before."""
    result = OpenLoop(rate, seconds, defaultdict(list), Counter(), Counter(), [])
    free: asyncio.Queue[tuple[Person, int]] = asyncio.Queue()  # cases no transition is on
    pairs = [(p, c) for p in case_managers for c in targets.reviews[p.username]]
    rng.shuffle(pairs)
    for pair in pairs:
        free.put_nowait(pair)
    case_pages = iter(targets.full_records * (1 + int(rate * seconds)))
    countersign = iter(targets.countersign * (1 + int(rate * seconds)))

    async def send(page: str, scheduled: float) -> None:
        result.lag.append(time.perf_counter() - scheduled)
        me = rng.choice(case_managers)
        try:
            if page == "transition":
                person, case_id = await free.get()
                try:
                    form, post = await person.transition(case_id, scheduled)
                    result.latencies["action form"].append(form)
                    result.latencies["transition POST"].append(post)
                finally:
                    free.put_nowait((person, case_id))
                return
            if page == "caseload":
                path, person = "/caseload", me
            elif page == "case page":
                path, person = f"/cases/{next(case_pages)}", me
            elif page == "countersign page":
                path, person = f"/cases/{next(countersign)}/actions/countersign", manager
            else:
                path, person = f"/search?results={me.search}", me
            result.latencies[page].append((await person.get(path, scheduled))[0])
        except (Refused, httpx.HTTPError) as error:
            result.errors[page] += 1
            result.problems[str(error) or type(error).__name__] += 1

    tasks = []
    start = time.perf_counter()
    for at, page in arrivals(rate, seconds, rng):
        delay = start + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(page, start + at)))
        result.sent += 2 if page == "transition" else 1
    await asyncio.gather(*tasks)
    return result


async def measure(app_url: str, baseline_url: str, targets: Targets, sizes: Sizes, db: Engine,
                  rate: float) -> tuple[dict[str, list[float]], OpenLoop]:
    """(a), then (b), each after its warm-up, checking that every transition POST fired."""
    rng = random.Random(SEED)
    visit = await visitor(app_url, baseline_url, targets)
    connections = 8  # per session in (b): enough that requests never wait for one
    pool = [Person(app_url, u, connections) for u in targets.case_managers]
    manager = Person(app_url, MANAGER, connections)
    try:
        reviews = count_reviews(db)
        await alone(visit, sizes.warmup, rng)
        say(f"  (a) warmed up: {sizes.warmup} rounds; measuring {sizes.rounds} rounds...")
        times = await alone(visit, sizes.rounds, rng)
        reviews = checked_reviews(db, reviews, visit.sent["transition"])
        started = time.perf_counter()
        await sign_in_all([*pool, manager], targets.search_name)
        say(f"  (b) {len(pool) + 1} sessions signed in in {time.perf_counter() - started:.1f} s;"
            f" warming up for {sizes.warmup_seconds:g} s...")
        warm = await open_loop(pool, manager, targets, rate, sizes.warmup_seconds, rng)
        reviews = checked_reviews(db, reviews, len(warm.latencies["transition POST"]))
        say(f"  (b) measuring: {rate:g} requests a second for {sizes.seconds:g} s...")
        loaded = await open_loop(pool, manager, targets, rate, sizes.seconds, rng)
        checked_reviews(db, reviews, len(loaded.latencies["transition POST"]))
        return times, loaded
    finally:
        await visit.close()
        await asyncio.gather(*(p.http.aclose() for p in [*pool, manager]))


# --- the figures -------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile, in milliseconds (infinite when nothing was answered)."""
    ordered = sorted(values)
    if not ordered:
        return float("inf")
    return 1000 * ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


@dataclass
class Results:
    database: str
    workers: int
    alone: dict[str, list[float]]
    loaded: OpenLoop

    def ratio(self, page: str) -> float:
        """The page's median latency served alone over the bare endpoint's."""
        return statistics.median(self.alone[page]) / statistics.median(self.alone["baseline"])

    def worst_ratio(self) -> float:
        return max(self.ratio(page) for page in PAGES)

    def p95(self) -> float:
        return percentile(self.loaded.all_latencies(), 95)

    def errors(self) -> int:
        return sum(self.loaded.errors.values())


def report_alone(r: Results) -> None:
    say(f"(a) each page served alone on {r.database} ({r.workers} uvicorn "
        f"worker{'s' if r.workers > 1 else ''}): {len(r.alone['baseline'])} requests of each, "
        "one at a time, interleaved")
    say(f"  {'page':<20}{'median ms':>10}{'quartiles ms':>16}{'/ baseline':>12}")
    for label in ("baseline", *PAGES[:-1], "action form", PAGES[-1]):
        values = r.alone[label]
        ratio = "" if label == "baseline" else f"{r.ratio(label):.1f}x"
        quartiles = f"{percentile(values, 25):.1f}-{percentile(values, 75):.1f}"
        say(f"  {label:<20}{1000 * statistics.median(values):>10.1f}{quartiles:>16}"
            f"{ratio:>12}")
    worst = max(PAGES, key=r.ratio)
    say(f"  aim: every page within {RATIO_AIM:g}x the bare endpoint: "
        f"{'met' if r.worst_ratio() <= RATIO_AIM else 'NOT met'} (worst: {worst}, "
        f"{r.ratio(worst):.1f}x)")


def report_open_loop(r: Results) -> None:
    o = r.loaded
    say(f"(b) open loop on {r.database} ({r.workers} uvicorn worker{'s' if r.workers > 1 else ''}"
        f"): Poisson arrivals, {o.sent:,} requests in {o.seconds:g} s "
        f"({o.sent / o.seconds:.1f}/s, {o.rate:g}/s asked); ms from the scheduled send time")
    say(f"  {'page':<20}{'answered':>9}{'p50':>8}{'p95':>8}{'p99':>8}{'errors':>8}")
    rows = [(label, o.latencies.get(label, []), o.errors[label])
            for label in (*PAGES[:-1], "action form", PAGES[-1])]
    rows.append(("all", o.all_latencies(), sum(o.errors.values())))
    for label, values, errors in rows:
        if values:
            say(f"  {label:<20}{len(values):>9,}{percentile(values, 50):>8.1f}"
                f"{percentile(values, 95):>8.1f}{percentile(values, 99):>8.1f}{errors:>8}")
        else:
            say(f"  {label:<20}{0:>9}{'':>24}{errors:>8}")
    for problem, n in o.problems.most_common(5):
        say(f"  error x{n}: {problem}")
    say(f"  the client's own lag starting requests: p99 {percentile(o.lag, 99):.1f} ms, "
        f"max {percentile(o.lag, 100):.1f} ms")
    met = r.p95() < P95_AIM_MS and not r.errors()
    say(f"  aim: p95 < {P95_AIM_MS:g} ms with no errors: {'met' if met else 'NOT met'} "
        f"(p95 {r.p95():.1f} ms, {r.errors()} errors)")


# --- where the time goes: the instrumented server --------------------------------------------

LABELS = [("GET", re.compile(r"^/caseload$"), "caseload"),
          ("GET", re.compile(r"^/cases/\d+$"), "case page"),
          ("GET", re.compile(r"^/cases/\d+/actions/countersign$"), "countersign page"),
          ("GET", re.compile(r"^/search$"), "search results"),
          ("GET", re.compile(r"^/cases/\d+/actions/[a-z_]+$"), "action form"),
          ("POST", re.compile(r"^/cases/\d+/actions/[a-z_]+$"), "transition POST")]
PHASES = ("total", "sql_n", "sql", "commit", "render", "cookie")


def serve_instrumented(port: int) -> None:
    """The application from the environment (as web.main), timed and profiled per request.

    Runs in its own process. Thread-pool calls run inline, so a single client's requests run on
    one thread from start to end: phases can be timed and cProfile sees everything.
    """
    import anyio.to_thread
    import jinja2
    import uvicorn
    from sqlalchemy import event
    from sqlalchemy.orm import Session as OrmSession
    from starlette.middleware import sessions

    record: dict[str, float] = {}

    def add(name: str, seconds: float) -> None:
        record[name] = record.get(name, 0.0) + seconds

    async def run_inline(func, *args, abandon_on_cancel=False, cancellable=None, limiter=None):
        return func(*args)

    anyio.to_thread.run_sync = run_inline

    @event.listens_for(Engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    @event.listens_for(Engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        seconds = time.perf_counter() - conn.info["bench_started"].pop()
        if not record.get("in_commit"):
            add("sql", seconds)
            add("sql_n", 1)

    original_commit = OrmSession.commit

    def commit(self):
        started = time.perf_counter()
        record["in_commit"] = 1
        try:
            return original_commit(self)
        finally:
            record["in_commit"] = 0
            add("commit", time.perf_counter() - started)

    OrmSession.commit = commit
    original_render = jinja2.Template.render

    def render(self, *args, **kwargs):
        """Time in the outermost render, less the SQL and commits run from inside it."""
        if record.get("in_render"):
            return original_render(self, *args, **kwargs)
        record["in_render"] = 1
        started = time.perf_counter()
        inside = record.get("sql", 0.0) + record.get("commit", 0.0)
        try:
            return original_render(self, *args, **kwargs)
        finally:
            record["in_render"] = 0
            add("render", time.perf_counter() - started
                - (record.get("sql", 0.0) + record.get("commit", 0.0) - inside))

    jinja2.Template.render = render
    original_init = sessions.SessionMiddleware.__init__

    def session_init(self, app, *args, **kwargs):
        async def inner(scope, receive, send):
            started = time.perf_counter()
            try:
                await app(scope, receive, send)
            finally:
                add("inner", time.perf_counter() - started)

        original_init(self, inner, *args, **kwargs)

    sessions.SessionMiddleware.__init__ = session_init

    from web.app import create_app

    app = create_app()
    records: dict[str, list[dict[str, float]]] = defaultdict(list)
    profiles: dict[str, cProfile.Profile] = {}
    profiling = False

    async def respond(send, body: str, content_type: str = "application/json") -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", content_type.encode())]})
        await send({"type": "http.response.body", "body": body.encode()})

    async def wrapper(scope, receive, send):
        nonlocal profiling
        if scope["type"] != "http":
            return await app(scope, receive, send)
        path, method = scope["path"], scope["method"]
        if path == "/__bench/stats":
            body = json.dumps(records)
            records.clear()
            return await respond(send, body)
        if path == "/__bench/profile":
            query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
            if query.get("do") == "start":
                profiles.clear()
                profiling = True
                return await respond(send, "{}")
            profiling = False
            stats = profiles.get(query.get("label", ""))
            out = io.StringIO()
            if stats is not None:
                table = pstats.Stats(stats, stream=out)
                if query.get("all"):  # everything, by own time
                    table.sort_stats("tottime").print_stats(int(query.get("limit", 30)))
                else:  # the project's functions, by cumulative time
                    table.sort_stats("cumulative").print_stats(f"{ROOT}/(ooc|web)/",
                                                               int(query.get("limit", 12)))
            return await respond(send, out.getvalue().replace(f"{ROOT}/", ""), "text/plain")
        label = next((name for m, pattern, name in LABELS
                      if m == method and pattern.match(path)), None)
        record.clear()
        profiler = None
        if profiling and label:
            profiler = profiles.setdefault(label, cProfile.Profile())
            profiler.enable()
        started = time.perf_counter()
        try:
            await app(scope, receive, send)
        finally:
            total = time.perf_counter() - started
            if profiler:
                profiler.disable()
            if label and not profiling:
                records[label].append({
                    "total": total, "cookie": total - record.get("inner", total),
                    **{k: record.get(k, 0.0) for k in ("sql_n", "sql", "commit", "render")}})

    uvicorn.run(wrapper, host="127.0.0.1", port=port, log_level="warning")


async def breakdown(url: str, targets: Targets, sizes: Sizes, full_profile: bool) -> None:
    """One visitor's sequential requests, as in (a): the server's time per phase, then
    cProfile."""
    visit = await visitor(url, None, targets)
    rng = random.Random(SEED)
    try:
        await alone(visit, 3, rng)  # warm up
        (await visit.case_manager.http.get("/__bench/stats")).raise_for_status()
        seen = await alone(visit, sizes.breakdown, rng)
        stats = (await visit.case_manager.http.get("/__bench/stats")).json()
        say(f"  one visitor, {sizes.breakdown} sequential requests per page, mean ms per "
            "request (server side; SQL outside commits; n = statements):")
        say(f"  {'page':<17}{'client p50':>11}{'server':>8}{'SQL n':>7}{'SQL':>7}"
            f"{'commit':>8}{'render':>8}{'cookie':>8}{'rest':>7}")
        for label, rows in stats.items():
            mean = {k: statistics.fmean(r[k] for r in rows) for k in PHASES}
            rest = mean["total"] - mean["sql"] - mean["commit"] - mean["render"] - mean["cookie"]
            say(f"  {label:<17}{percentile(seen[label], 50):>11.1f}{1000 * mean['total']:>8.1f}"
                f"{mean['sql_n']:>7.1f}{1000 * mean['sql']:>7.1f}{1000 * mean['commit']:>8.1f}"
                f"{1000 * mean['render']:>8.1f}{1000 * mean['cookie']:>8.2f}{1000 * rest:>7.1f}")
        profiled = max(3, sizes.breakdown // 2)
        (await visit.case_manager.http.get("/__bench/profile",
                                           params={"do": "start"})).raise_for_status()
        await alone(visit, profiled, rng)
        views = [("the project's functions by cumulative time",
                  {"limit": 30} if full_profile else {}),
                 ("all functions by own time", {"all": 1, "limit": 30 if full_profile else 10})]
        for label in (name for _, _, name in LABELS):
            for title, params in views:
                response = await visit.case_manager.http.get(
                    "/__bench/profile", params={"label": label, **params})
                lines = [line for line in response.text.splitlines() if line.strip()]
                start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
                say(f"  cProfile, {label}: {title} (seconds over {profiled} requests; "
                    "cProfile slows everything down)")
                for line in lines[start:]:
                    say(f"    {line}")
    finally:
        await visit.close()


# --- the run ---------------------------------------------------------------------------------


def bench_database(name: str, url: str, folder: Path, template: Template, sizes: Sizes,
                   registry: WorkflowRegistry, workers: int, rate: float,
                   full_profile: bool) -> Results:
    say(f"== {name}: {url.split('?')[0]}")
    say(f"Loading {sizes.total_cases:,} cases...")
    engine = make_engine(url)
    try:
        load_database(engine, template, sizes)
        targets = choose_targets(engine, registry)
        say(f"  the case managers: {min(targets.open_cases)}-{max(targets.open_cases)} open "
            f"cases each ({min(len(r) for r in targets.reviews.values())}-"
            f"{max(len(r) for r in targets.reviews.values())} in intervention); "
            f"{len(targets.full_records)} full records, {len(targets.countersign)} cases "
            f"awaiting countersignature; the search for '{targets.search_name}' finds "
            f"{targets.search_found:,} cases")
        env = {**os.environ, "OOC_DATABASE_URL": url, "OOC_SECRET_KEY": secrets.token_urlsafe(48),
               "OOC_WORKFLOWS_DIR": str(ROOT / "workflows")}
        app_port, baseline_port = free_port(), free_port()
        say(f"Serving web.main:app on 127.0.0.1:{app_port} and the bare FastAPI app on "
            f"127.0.0.1:{baseline_port} (uvicorn, {workers} worker{'s' if workers > 1 else ''} "
            "each)...")
        with ExitStack() as stack:
            app_url = stack.enter_context(server(
                f"{name}-app", uvicorn_command("web.main:app", app_port, workers, ROOT), env,
                app_port, "/sign-in", folder))
            baseline_url = stack.enter_context(server(
                f"{name}-baseline", uvicorn_command("ooc_bench_baseline:app", baseline_port,
                                                    workers, folder),
                env, baseline_port, "/ping", folder))
            times, loaded = asyncio.run(measure(app_url, baseline_url, targets, sizes, engine,
                                                rate))
        results = Results(name, workers, times, loaded)
        say("")
        report_alone(results)
        report_open_loop(results)
        if results.errors():  # what the server said may explain them
            log = (folder / f"{name}-app.log").read_text().splitlines()
            say(f"  the end of the application's log ({len(log):,} lines):")
            for line in log[-40:]:
                say(f"    {line}")
        say("")
        say(f"Where the time goes on {name}: the application again, instrumented "
            "(bench/web.py --serve-instrumented)...")
        port = free_port()
        with server(f"{name}-instrumented", [sys.executable, str(Path(__file__).resolve()),
                                             "--serve-instrumented", "--port", str(port)],
                    env, port, "/sign-in", folder) as url_:
            asyncio.run(breakdown(url_, targets, sizes, full_profile))
        return results
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a much smaller run (well under a minute), for CI smoke tests")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default=None,
                        help="default: both when PostgreSQL's server binaries are installed")
    parser.add_argument("--workers", type=int, default=None,
                        help="uvicorn worker processes (default: 1 on SQLite, 2 on PostgreSQL)")
    parser.add_argument("--rate", type=float, default=None,
                        help=f"open-loop HTTP requests a second (default {RATE:g}; quick: half)")
    parser.add_argument("--profile", action="store_true",
                        help="print full cProfile tables, not only the project's functions")
    parser.add_argument("--dir", type=Path, default=None,
                        help="where to put the databases (default: a new temporary directory)")
    parser.add_argument("--serve-instrumented", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_instrumented:
        serve_instrumented(args.port)
        return
    sizes = QUICK if args.quick else FULL
    rate = args.rate or (RATE / 2 if args.quick else RATE)
    bindir = find_bindir()
    databases = args.database or ("both" if bindir else "sqlite")
    if databases in ("postgresql", "both") and bindir is None:
        raise SystemExit("PostgreSQL's server binaries are not installed (apt-get install "
                         "postgresql); use --database sqlite.")
    started = time.perf_counter()
    say(f"ooc web benchmark ({'quick' if args.quick else 'full'} run; databases: {databases})")
    if not args.database and not bindir:
        say("  PostgreSQL's server binaries are not installed: SQLite only")
    registry = WorkflowRegistry.from_folder(ROOT / "workflows")
    results: list[Results] = []
    with tempfile.TemporaryDirectory(prefix="ooc-bench-web-", dir=args.dir) as tmp:
        folder = Path(tmp)
        (folder / "ooc_bench_baseline.py").write_text(BASELINE_APP)
        say(f"Databases in {folder}. Template: {sizes.template_cases} demo cases through the "
            "transition service (ooc.demo.load_demo)...")
        t = time.perf_counter()
        template = build_template(folder / "template.db", registry, sizes.template_cases)
        say(f"  {time.perf_counter() - t:.1f} s")
        if databases in ("sqlite", "both"):
            results.append(bench_database("SQLite", f"sqlite:///{folder / 'ooc.db'}", folder,
                                          template, sizes, registry, args.workers or 1, rate,
                                          args.profile))
        if databases in ("postgresql", "both"):
            say("")
            postgres = DurablePostgres(bindir)
            try:
                say("Starting a throwaway PostgreSQL server (durable commits)...")
                url = postgres.start()
                results.append(bench_database("PostgreSQL", url, folder, template, sizes,
                                              registry, args.workers or 2, rate, args.profile))
            finally:
                postgres.stop()
    say("")
    say(f"Summary: (a) median ms served alone, and / the bare endpoint's; (b) open loop at "
        f"{rate:g}/s, ms")
    for r in results:
        pages = ", ".join(f"{page} {1000 * statistics.median(r.alone[page]):.1f} "
                          f"({r.ratio(page):.1f}x)" for page in PAGES)
        say(f"  {r.database:<11}(a) baseline {1000 * statistics.median(r.alone['baseline']):.1f};"
            f" {pages}")
        all_ = r.loaded.all_latencies()
        say(f"  {'':<11}(b) {r.workers} worker{'s' if r.workers > 1 else ''}: p50 "
            f"{percentile(all_, 50):.1f}, p95 {percentile(all_, 95):.1f}, p99 "
            f"{percentile(all_, 99):.1f}, errors {r.errors()}")
    say(f"Whole run: {time.perf_counter() - started:.0f} s")
    say(f"ratio={max(r.worst_ratio() for r in results):.1f} "
        f"p95={max(r.p95() for r in results):.1f} errors={sum(r.errors() for r in results)}")


if __name__ == "__main__":
    main()
