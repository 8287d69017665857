"""Benchmark of the web application: page and transition latency under 20 concurrent clients.

Run from the project root:

    .venv/bin/python bench/web.py                      # full run: ~100,000 cases, 10-25 min
    .venv/bin/python bench/web.py --quick              # smoke run for CI, well under a minute
    .venv/bin/python bench/web.py --database sqlite    # sqlite | postgresql | both (the default
                                                       # when PostgreSQL's binaries are installed)
    .venv/bin/python bench/web.py --workers 2          # uvicorn worker processes (default 1)
    .venv/bin/python bench/web.py --think 1            # clients pause ~1 s between requests
    .venv/bin/python bench/web.py --profile            # longer cProfile tables per endpoint

What is measured
----------------
The real application (`web.main:app`, the module `ooc serve` runs), served by uvicorn on a free
loopback port with `--workers 1` and `--log-level warning` as `ooc serve` does, and in the same
run a bare FastAPI application with one trivial endpoint (a sync `def` returning a tiny HTML
page, so that it too goes through FastAPI's thread pool) served by the same uvicorn with the
same options on another port. Both servers get `--timeout-keep-alive 300` so that the clients'
keep-alive connections survive while the other contenders run.

20 clients on loopback (20 asyncio tasks in this process, each with its own `httpx.AsyncClient`
and so its own connection and cookie jar), closed loop with no think time: each sends its next
request as soon as the last one is answered (`--think S`: a random pause of S seconds on average
after each answer instead, like people reading pages). Each signs in through the real sign-in
form (GET the form for its CSRF token, POST the username and password: argon2 is paid only
there) as its own case manager, bench_cm01 to bench_cm20. The contenders, each a phase of
`per_phase` requests shared by the 20 clients:

- baseline: GET /ping on the bare FastAPI application;
- caseload: GET /caseload, the client's own caseload;
- case page: GET /cases/{id}, alternately one of the client's own open cases and a random case
  from the whole database (nearly all of them closed), each view written to the access log;
- transition: GET /cases/{id}/actions/record_review (the action form: a fresh page for the CSRF
  token and the case's current `expected_version`) then POST it (`record_review` in
  `intervention`: a self-transition a case manager may fire again and again). Only the POST is
  the transition's latency; the form GET is reported as "action form". Each client reviews its
  own intervention cases only, so no two clients ever race for a case, and after every phase
  the number of new `record_review` events in the database must equal the number of POSTs: a
  POST that did not really fire a transition stops the benchmark.

The contenders run alternately in rounds, the order reversed every round, because this 2-core
machine is noisy (and the client shares the cores with the servers). Latency percentiles are
over all the measured requests of an endpoint; requests per second is the median of the rounds
(for the transition: form GET + POST pairs per second). Every phase stops after `phase_seconds`
even if it has not sent all its requests, and every request times out after 30 s.

The ratio
---------
For each page (caseload, case page) the p95 latency of the round divided by the baseline's p95
in the same round; the median of those per-round ratios is printed per page and database, and
the last line, `ratio=`, is the worst page's on the worst database. 1.0 would mean a page costs
no more than a bare FastAPI endpoint under the same load. The aim of issue 3 is p95 < 50 ms for
the pages; the run prints whether it was met. With 20 closed-loop clients, latency is about
20 / throughput (Little's law), so that aim means at least ~400 pages a second from the server.

Where the time goes
-------------------
After the load rounds, the application is started once more in this file's own process wrapper
(`--serve-instrumented`, the same `create_app` from the environment) with the thread pool
replaced by inline calls, so that one client's sequential requests run on one thread and can be
timed and profiled: per endpoint, the server's own time split into SQL statements (count and
execute time, outside commits), commits (flush + COMMIT, the fsync on SQLite), template
rendering, the session cookie (SessionMiddleware) and the rest (Python: ORM objects, guards and
`available_actions`, deadlines, FastAPI and Starlette, HTTP). On SQLite, rows are stepped while
they are fetched, so part of a query's cost is in the rest; the cProfile tables show it. Then a
cProfile pass, printed per endpoint as the project's own functions by cumulative time and all
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
`ooc.audit.verify_trail`). The 20 users who sign in are added through `ooc.accounts.add_user`;
the other people named in the copied events (police1, chair1, ...) are names only.
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
from datetime import date
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
    warmup: int  # requests per contender before measuring
    rounds: int
    per_phase: int  # requests per contender per round
    phase_seconds: float  # a phase stops after this long, done or not
    breakdown: int  # sequential requests per endpoint for the breakdown and the profile


FULL = Sizes(template_cases=600, live_copies=7, total_cases=100_000, warmup=100, rounds=5,
             per_phase=200, phase_seconds=60, breakdown=60)
QUICK = Sizes(template_cases=200, live_copies=7, total_cases=2_000, warmup=20, rounds=2,
              per_phase=80, phase_seconds=20, breakdown=8)

CLIENTS = 20
SEED = 20260101
HISTORIC_CASE_MANAGERS = 100
PASSWORD = "bench-password-long-enough"
TEMPLATE_CASE_MANAGERS = ("casemanager1", "casemanager2", "casemanager3")
REVIEW = {"summary": "Attending every session; school reports better attendance.",
          "child_views": "Finds the sessions useful.",
          "parent_views": "Pleased with the progress."}
CONTENDERS = ("baseline", "caseload", "case page", "transition")
PAGES = ("caseload", "case page")
AIM_MS = 50.0
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
        for n in range(1, CLIENTS + 1):
            add_user(session, username=bench_case_manager(n), roles=["case_manager"],
                     password=PASSWORD, display_name=f"Bench Case Manager {n}")
    say(f"  {CLIENTS} users added through add_user (argon2) in "
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
class Workload:
    """What each client asks for."""

    usernames: list[str]
    case_pages: list[list[int]]  # per client, cycled
    reviews: list[list[int]]  # per client: its own intervention cases, cycled
    open_per_manager: list[int]
    closed_per_manager: list[int]


def plan_workload(engine: Engine, registry: WorkflowRegistry, clients: int) -> Workload:
    rng = random.Random(SEED)
    with engine.connect() as conn:
        max_id = conn.scalar(select(func.max(Case.id)))
        usernames = [bench_case_manager(n + 1) for n in range(clients)]
        rows = conn.execute(select(Case.id, Case.state, Case.case_manager, Case.workflow_name,
                                   Case.workflow_version)
                            .where(Case.case_manager.in_(usernames))).all()
    mine: dict[str, list[int]] = defaultdict(list)
    closed: Counter[str] = Counter()
    reviews: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if registry.get(row.workflow_name, row.workflow_version).is_terminal(row.state):
            closed[row.case_manager] += 1
        else:
            mine[row.case_manager].append(row.id)
            if row.state == "intervention":
                reviews[row.case_manager].append(row.id)
    missing = [u for u in usernames if not reviews[u]]
    if missing:
        raise SystemExit(f"{', '.join(missing)} have no case in intervention to review; use a "
                         "bigger template.")
    case_pages = []
    for username in usernames:
        own = mine[username][:]
        rng.shuffle(own)
        anywhere = [rng.randint(1, max_id) for _ in own]
        case_pages.append([c for pair in zip(own, anywhere, strict=True) for c in pair])
    return Workload(usernames, case_pages, [sorted(reviews[u]) for u in usernames],
                    [len(mine[u]) for u in usernames], [closed[u] for u in usernames])


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
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the group this Popen started
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def uvicorn_command(app: str, port: int, workers: int, app_dir: Path) -> list[str]:
    return [sys.executable, "-m", "uvicorn", app, "--app-dir", str(app_dir), "--host",
            "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level",
            "warning", "--timeout-keep-alive", "300"]


# --- the clients -----------------------------------------------------------------------------


class BenchError(Exception):
    pass


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'name="expected_version" value="(\d+)"')


def _expect(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise BenchError(f"{what}: HTTP {response.status_code} (expected {status}): "
                         f"{response.text[:300]!r}")


def _client(url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, timeout=30, follow_redirects=False,
                             limits=httpx.Limits(max_connections=1,
                                                 max_keepalive_connections=1))


class Client:
    """One person: a signed-in session on the application, and a connection to the baseline."""

    def __init__(self, app_url: str, baseline_url: str | None, username: str,
                 case_pages: list[int], reviews: list[int]):
        self.app = _client(app_url)
        self.baseline_client = _client(baseline_url) if baseline_url else None
        self.username = username
        self.case_pages, self.reviews = case_pages, reviews
        self.next_page = self.next_review = 0
        self.bytes: Counter[str] = Counter()

    async def close(self) -> None:
        await self.app.aclose()
        if self.baseline_client:
            await self.baseline_client.aclose()

    async def sign_in(self) -> None:
        page = await self.app.get("/sign-in")
        _expect(page, 200, "sign-in form")
        response = await self.app.post("/sign-in", data={
            "username": self.username, "password": PASSWORD,
            "csrf_token": CSRF.search(page.text).group(1), "next": ""})
        _expect(response, 303, f"signing in as {self.username}")

    async def _get(self, what: str, path: str, client: httpx.AsyncClient | None = None
                   ) -> tuple[float, httpx.Response]:
        started = time.perf_counter()
        response = await (client or self.app).get(path)
        elapsed = time.perf_counter() - started
        _expect(response, 200, f"GET {path}")
        self.bytes[what] += len(response.content)
        return elapsed, response

    async def baseline(self) -> float:
        return (await self._get("baseline", "/ping", self.baseline_client))[0]

    async def caseload(self) -> float:
        return (await self._get("caseload", "/caseload"))[0]

    async def case_page(self) -> float:
        case_id = self.case_pages[self.next_page % len(self.case_pages)]
        self.next_page += 1
        return (await self._get("case page", f"/cases/{case_id}"))[0]

    async def transition(self) -> tuple[float, float]:
        """The action form (fresh CSRF token and version), then its POST: both latencies."""
        case_id = self.reviews[self.next_review % len(self.reviews)]
        self.next_review += 1
        path = f"/cases/{case_id}/actions/record_review"
        form_seconds, page = await self._get("action form", path)
        data = {"csrf_token": CSRF.search(page.text).group(1),
                "expected_version": VERSION.search(page.text).group(1), **REVIEW}
        started = time.perf_counter()
        response = await self.app.post(path, data=data)
        post_seconds = time.perf_counter() - started
        _expect(response, 303, f"POST {path}")
        if response.headers.get("location") != f"/cases/{case_id}":
            raise BenchError(f"POST {path} redirected to {response.headers.get('location')} "
                             "(the form was refused)")
        return form_seconds, post_seconds


@dataclass
class Phase:
    latencies: list[float]
    seconds: float
    forms: list[float] = field(default_factory=list)  # the transition's form GETs

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds > 0 else float("inf")


async def run_phase(clients: list[Client], contender: str, total: int, seconds: float,
                    think: float = 0.0) -> Phase:
    """`total` requests of one contender shared by all the clients: closed loop, or with a
    random pause (exponential, `think` seconds on average) after each answer."""
    remaining = total
    latencies: list[float] = []
    forms: list[float] = []
    stop_at = time.monotonic() + seconds

    async def one_client(client: Client, rng: random.Random) -> None:
        nonlocal remaining
        if think:  # staggered starts, or the first requests of a phase all come at once
            await asyncio.sleep(rng.uniform(0, 2 * think))
        while remaining > 0 and time.monotonic() < stop_at:
            remaining -= 1
            if contender == "transition":
                form_seconds, post_seconds = await client.transition()
                forms.append(form_seconds)
                latencies.append(post_seconds)
            else:
                latencies.append(await getattr(client, contender.replace(" ", "_"))())
            if think:
                await asyncio.sleep(min(rng.expovariate(1 / think),
                                        max(0.0, stop_at - time.monotonic())))

    started = time.perf_counter()
    await asyncio.gather(*(one_client(c, random.Random(SEED + i)) for i, c in enumerate(clients)))
    return Phase(latencies, time.perf_counter() - started, forms)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


@dataclass
class Results:
    database: str
    phases: dict[str, list[Phase]]
    bytes: Counter[str]

    def latencies(self, contender: str) -> list[float]:
        return [x for p in self.phases[contender] for x in p.latencies]

    def forms(self) -> list[float]:
        return [x for p in self.phases["transition"] for x in p.forms]

    def ratio(self, page: str) -> float:
        """Median over the rounds of the page's p95 / the baseline's p95."""
        return statistics.median(percentile(p.latencies, 95) / percentile(b.latencies, 95)
                                 for p, b in zip(self.phases[page], self.phases["baseline"],
                                                 strict=True))


async def load_test(app_url: str, baseline_url: str, workload: Workload, sizes: Sizes,
                    db: Engine, database: str, think: float) -> Results:
    clients = [Client(app_url, baseline_url, username, pages, reviews)
               for username, pages, reviews in zip(workload.usernames, workload.case_pages,
                                                   workload.reviews, strict=True)]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(c.sign_in() for c in clients))
        say(f"  {len(clients)} clients signed in through the sign-in form in "
            f"{time.perf_counter() - started:.1f} s")
        reviews = count_reviews(db)

        async def phase(contender: str, count: int) -> Phase:
            nonlocal reviews
            result = await run_phase(clients, contender, count, sizes.phase_seconds, think)
            if contender == "transition":
                now = count_reviews(db)
                if now - reviews != len(result.latencies):
                    raise BenchError(f"{len(result.latencies)} review POSTs were answered but "
                                     f"{now - reviews} record_review events were written.")
                reviews = now
            return result

        for contender in CONTENDERS:
            await phase(contender, sizes.warmup)
        say(f"  warmed up: {sizes.warmup} requests of each contender")
        phases: dict[str, list[Phase]] = {c: [] for c in CONTENDERS}
        for r in range(sizes.rounds):
            order = CONTENDERS if r % 2 == 0 else CONTENDERS[::-1]
            for contender in order:
                phases[contender].append(await phase(contender, sizes.per_phase))
            say(f"  round {r + 1}/{sizes.rounds}: " + ", ".join(
                f"{c} p95 {percentile(phases[c][-1].latencies, 95):.1f} ms "
                f"{phases[c][-1].rate:,.0f}/s" for c in CONTENDERS))
        total_bytes: Counter[str] = Counter()
        for c in clients:
            total_bytes.update(c.bytes)
        return Results(database, phases, total_bytes)
    finally:
        await asyncio.gather(*(c.close() for c in clients))


def report(results: Results, sizes: Sizes, workers: int, think: float) -> None:
    say("")
    loop = f"pausing {think:g} s on average" if think else "closed loop"
    say(f"Results on {results.database}: {CLIENTS} clients, {loop}, {workers} uvicorn "
        f"worker{'s' if workers > 1 else ''}; latency over all {sizes.rounds} rounds, req/s the "
        "median of the rounds (min-max)")
    say(f"  {'endpoint':<22}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'req/s':>9}  {'(min-max)':<14}{'p95/baseline':>13}")
    rows = [(c, results.latencies(c), [p.rate for p in results.phases[c]]) for c in CONTENDERS]
    for name, values, rates in rows:
        ratio = f"{results.ratio(name):.1f}" if name in PAGES else ""
        label = {"baseline": "baseline (bare)", "transition": "transition POST"}.get(name, name)
        spread = f"({min(rates):,.0f}-{max(rates):,.0f})"
        say(f"  {label:<22}{len(values):>9,}{percentile(values, 50):>9.1f}"
            f"{percentile(values, 95):>9.1f}{percentile(values, 99):>9.1f}"
            f"{statistics.median(rates):>9,.0f}  {spread:<14}{ratio:>13}")
    forms = results.forms()
    say(f"  {'action form (GET)':<22}{len(forms):>9,}{percentile(forms, 50):>9.1f}"
        f"{percentile(forms, 95):>9.1f}{percentile(forms, 99):>9.1f}"
        "         (the GET before each POST; transition req/s counts GET + POST pairs)")
    sizes_kb = {name: results.bytes[name] / max(1, len(results.latencies(name))) / 1024
                for name in ("caseload", "case page")}
    say(f"  page sizes: caseload {sizes_kb['caseload']:.1f} KiB, case page "
        f"{sizes_kb['case page']:.1f} KiB on average")
    for page in PAGES:
        p95 = percentile(results.latencies(page), 95)
        say(f"  aim p95 < {AIM_MS:.0f} ms, {page}: {'met' if p95 < AIM_MS else 'NOT met'} "
            f"({p95:.1f} ms)")
    if think:
        return
    page_rate = min(statistics.median(p.rate for p in results.phases[pg]) for pg in PAGES)
    say(f"  Little's law: {CLIENTS} clients / {page_rate:,.0f} pages/s = "
        f"{1000 * CLIENTS / page_rate:.0f} ms a page on average; p95 < {AIM_MS:.0f} ms at "
        f"{CLIENTS} closed-loop clients needs > {CLIENTS * 1000 / AIM_MS:,.0f} pages/s")


# --- where the time goes: the instrumented server --------------------------------------------

LABELS = [("GET", re.compile(r"^/caseload$"), "caseload"),
          ("GET", re.compile(r"^/cases/\d+$"), "case page"),
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


async def breakdown(url: str, workload: Workload, sizes: Sizes, full_profile: bool) -> None:
    """One client's sequential requests: the server's time per phase, then cProfile."""
    client = Client(url, None, workload.usernames[0], workload.case_pages[0],
                    workload.reviews[0])
    try:
        await client.sign_in()
        seen: dict[str, list[float]] = defaultdict(list)

        async def run(count: int) -> None:
            for _ in range(count):
                seen["caseload"].append(await client.caseload())
                seen["case page"].append(await client.case_page())
                form_seconds, post_seconds = await client.transition()
                seen["action form"].append(form_seconds)
                seen["transition POST"].append(post_seconds)

        await run(5)  # warm up
        (await client.app.get("/__bench/stats")).raise_for_status()
        seen.clear()
        await run(sizes.breakdown)
        stats = (await client.app.get("/__bench/stats")).json()
        say(f"  one client, {sizes.breakdown} sequential requests per endpoint, mean ms per "
            "request (server side; SQL outside commits; n = statements):")
        say(f"  {'endpoint':<17}{'client p50':>11}{'server':>8}{'SQL n':>7}{'SQL':>7}"
            f"{'commit':>8}{'render':>8}{'cookie':>8}{'rest':>7}")
        for label, rows in stats.items():
            mean = {k: statistics.fmean(r[k] for r in rows) for k in PHASES}
            rest = mean["total"] - mean["sql"] - mean["commit"] - mean["render"] - mean["cookie"]
            say(f"  {label:<17}{percentile(seen[label], 50):>11.1f}{1000 * mean['total']:>8.1f}"
                f"{mean['sql_n']:>7.1f}{1000 * mean['sql']:>7.1f}{1000 * mean['commit']:>8.1f}"
                f"{1000 * mean['render']:>8.1f}{1000 * mean['cookie']:>8.2f}{1000 * rest:>7.1f}")
        (await client.app.get("/__bench/profile", params={"do": "start"})).raise_for_status()
        await run(max(5, sizes.breakdown // 2))
        views = [("the project's functions by cumulative time",
                  {"limit": 30} if full_profile else {}),
                 ("all functions by own time", {"all": 1, "limit": 30 if full_profile else 10})]
        for label in ("caseload", "case page", "action form", "transition POST"):
            for title, params in views:
                response = await client.app.get("/__bench/profile",
                                                params={"label": label, **params})
                lines = [line for line in response.text.splitlines() if line.strip()]
                start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
                say(f"  cProfile, {label}: {title} (seconds over "
                    f"{max(5, sizes.breakdown // 2)} requests; cProfile slows everything down)")
                for line in lines[start:]:
                    say(f"    {line}")
    finally:
        await client.close()


# --- the run ---------------------------------------------------------------------------------


def bench_database(name: str, url: str, folder: Path, template: Template, sizes: Sizes,
                   registry: WorkflowRegistry, workers: int, full_profile: bool,
                   think: float) -> Results:
    say(f"== {name}: {url.split('?')[0]}")
    say(f"Loading {sizes.total_cases:,} cases...")
    engine = make_engine(url)
    try:
        load_database(engine, template, sizes)
        workload = plan_workload(engine, registry, CLIENTS)
        say(f"  the {CLIENTS} clients' case managers: {min(workload.open_per_manager)}-"
            f"{max(workload.open_per_manager)} open cases each "
            f"({min(len(r) for r in workload.reviews)}-"
            f"{max(len(r) for r in workload.reviews)} in intervention), "
            f"{min(workload.closed_per_manager):,}-{max(workload.closed_per_manager):,} "
            "closed or withdrawn")
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
            say(f"Measuring: {sizes.rounds} rounds of {sizes.per_phase} requests per contender "
                f"({', '.join(CONTENDERS)}), order reversed every round...")
            results = asyncio.run(load_test(app_url, baseline_url, workload, sizes, engine,
                                            name, think))
        report(results, sizes, workers, think)
        say("")
        say(f"Where the time goes on {name}: the application again, instrumented "
            "(bench/web.py --serve-instrumented)...")
        port = free_port()
        with server(f"{name}-instrumented", [sys.executable, str(Path(__file__).resolve()),
                                             "--serve-instrumented", "--port", str(port)],
                    env, port, "/sign-in", folder) as url_:
            asyncio.run(breakdown(url_, workload, sizes, full_profile))
        return results
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a much smaller run (well under a minute), for CI smoke tests")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default=None,
                        help="default: both when PostgreSQL's server binaries are installed")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--think", type=float, default=0.0, metavar="SECONDS",
                        help="each client pauses this long on average (exponential) after each "
                             "answer; default 0: closed loop, as issue 3 asks")
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
                                          template, sizes, registry, args.workers,
                                          args.profile, args.think))
        if databases in ("postgresql", "both"):
            say("")
            postgres = DurablePostgres(bindir)
            try:
                say("Starting a throwaway PostgreSQL server (durable commits)...")
                url = postgres.start()
                results.append(bench_database("PostgreSQL", url, folder, template, sizes,
                                              registry, args.workers, args.profile, args.think))
            finally:
                postgres.stop()
    say("")
    say("Summary: p95 ms (caseload, case page, transition POST; baseline), and page p95 / "
        "baseline p95 (median of per-round ratios)")
    worst = 0.0
    for r in results:
        p95 = {c: percentile(r.latencies(c), 95) for c in CONTENDERS}
        ratios = {page: r.ratio(page) for page in PAGES}
        worst = max(worst, *ratios.values())
        say(f"  {r.database:<11} caseload {p95['caseload']:.1f}, case page "
            f"{p95['case page']:.1f}, transition {p95['transition']:.1f}; baseline "
            f"{p95['baseline']:.1f}; ratio caseload {ratios['caseload']:.1f}, case page "
            f"{ratios['case page']:.1f}")
    say(f"Whole run: {time.perf_counter() - started:.0f} s")
    say(f"ratio={worst:.1f}")


if __name__ == "__main__":
    main()
