"""Benchmark of the transition service: committed transitions per second, scale and memory.

Run from the project root:

    .venv/bin/python bench/engine.py            # full run, a few minutes
    .venv/bin/python bench/engine.py --quick    # smoke run for CI, seconds
    .venv/bin/python bench/engine.py --profile  # cProfile of `fire`, instead of the benchmark

What is measured
----------------
Every measured transition is `defer` on a case in `ready_for_panel` (a self-transition a panel
chair may fire again and again, with a reason), fired through `ooc.service.fire` inside its own
`ooc.db.unit_of_work`, so each one is its own committed SQLite transaction. The databases are
files in one temporary directory, made by `make_engine` + `upgrade_schema`, so they run with
`ooc.db.SQLITE_PRAGMAS` (WAL, synchronous=FULL: every commit waits for an fsync). The cases are
taken to `ready_for_panel` by the real workflow (create_case, take_case, submit_assessment,
countersign).

1. Throughput against a floor: the service on a database of ~1,000 cases, against the standard
   library's sqlite3 doing the durable work of a transition and nothing else.
2. Scale: the service on a database of ~100,000 cases, transitions spread over all of them,
   against the ~1,000-case database. 1.0 means a transition costs the same however many cases
   there are.
3. Memory: resident set size and the number of live Python objects (after a full collection),
   sampled every 10,000 of 100,000 transitions on the ~100,000-case database. `tracemalloc` is
   not used: it slows `fire` about fourfold, which would make the run far longer.

The three contenders of 1 and 2 run alternately, in many short rounds of equal size, the order
reversed every round: this machine is noisy (other processes share its two cores and its disk,
and fsync times swing by an order of magnitude). Each ratio is the median of the per-round
ratios, so that a contender is only ever compared with another that ran just before or after
it; the medians of the rates are printed too.

Why the raw baseline is fair
----------------------------
It runs on a copy (sqlite3 backup) of the service's 1,000-case database, in the same directory,
with the same pragmas (read from `ooc.db.SQLITE_PRAGMAS`): the same schema, indexes, row sizes
and tree depth. Per transition it does what must reach the disk: update the case row with the
optimistic version check (`UPDATE cases SET state=?, version=version+1, ... WHERE id=? AND
version=?`), insert one full audit row (same columns, same kind of values), commit. It leaves out
what is not durable work: reading the case (it keeps each case's version in a dict), the ORM,
form and guard checks, the state machine and the hash chain. So `ratio` = service rate / raw
rate is the share of the floor the service keeps; 1.00 would mean the service adds nothing.

The ~100,000-case database is the 1,000-case one plus cases bulk-loaded row for row as the
service writes them: a real case's case row, audit events and deadlines, re-keyed and with the
hash chain recomputed (checked against the service's own chain). Loading them through
`create_case` and three `fire` calls each would take several minutes (the run prints the
estimate); the measured transitions always go through `fire`.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import itertools
import pstats
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, func, select  # noqa: E402
from sqlmodel import Session  # noqa: E402

from ooc.audit import chain_hash  # noqa: E402
from ooc.calendar import local_date  # noqa: E402
from ooc.db import SQLITE_PRAGMAS, make_engine, unit_of_work, upgrade_schema  # noqa: E402
from ooc.machine import WorkflowRegistry  # noqa: E402
from ooc.models import AuditEvent, Case, CaseSearchKey, Deadline, PanelMeeting, User  # noqa: E402
from ooc.panels import record_meeting  # noqa: E402
from ooc.search import key_rows  # noqa: E402
from ooc.service import create_case, fire  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    small_cases: int
    large_cases: int
    warmup: int
    rounds: int
    per_round: int
    memory_transitions: int
    memory_every: int
    profile_transitions: int


FULL = Sizes(small_cases=1_000, large_cases=100_000, warmup=500, rounds=20, per_round=500,
             memory_transitions=100_000, memory_every=10_000, profile_transitions=3_000)
QUICK = Sizes(small_cases=200, large_cases=2_000, warmup=100, rounds=5, per_round=100,
              memory_transitions=2_000, memory_every=500, profile_transitions=500)

POLICE = User(username="bench_police", display_name="Bench police officer", roles=["police"])
CASE_MANAGER = User(username="bench_cm", display_name="Bench case manager",
                    roles=["case_manager"])
MANAGER = User(username="bench_manager", display_name="Bench manager", roles=["manager"])
CHAIR = User(username="bench_chair", display_name="Bench panel chair", roles=["panel_chair"])

ASSESSMENT = {
    "desistance": "Positive activities after school and a mentor.",
    "safety_and_wellbeing": "No current concerns.",
    "risk_to_others": "low",
    "safety_of_others": "No identified risk.",
    "proposed_outcome": "community_resolution",
    "proposed_outcome_reasons": "First offence, admitted, low gravity.",
    "child_views": "Wants to put things right.",
    "parent_views": "Supportive of an out-of-court outcome.",
}
DEFER_REASON = "The panel needs the school's report before deciding."
DEFER_CODE = "more_information_needed"
SETUP_BATCH = 250  # cases per transaction while setting up


def say(message: str) -> None:
    print(message, flush=True)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


# --- setting up the databases ----------------------------------------------------------------


def referral(n: int) -> dict:
    return {
        "police_reference": f"BENCH-{n:07d}",
        "given_name": f"Child{n}",
        "family_name": "Example",
        "date_of_birth": date(2011, 6, 1),
        "sex": ("female", "male")[n % 2],
        "ethnicity": "W1",
        "looked_after": False,
        "offence_date": date(2026, 1, 5),
        "offence_description": "Criminal damage to a bus shelter",
        "offence_category": "criminal_damage",
        "gravity_score": 2,
        "admission": True,
        "previous_formal_outcomes": 0,
        "referral_date": date(2026, 1, 12),
        "has_victim": False,
    }


def make_ready_case(session: Session, registry: WorkflowRegistry, n: int) -> int:
    """A new case taken through the real workflow to `ready_for_panel`; returns its id."""
    now = datetime.now(UTC)
    case = create_case(session, registry=registry, actor=POLICE, referral=referral(n), now=now)
    for trigger, actor, data in (("take_case", CASE_MANAGER, None),
                                 ("submit_assessment", CASE_MANAGER, ASSESSMENT),
                                 ("countersign", MANAGER, None)):
        fire(session, registry=registry, case_id=case.id, trigger=trigger, actor=actor,
             now=now, data=data)
    return case.id


def build_service_db(path: Path, registry: WorkflowRegistry, cases: int) -> tuple[Engine, float]:
    """A migrated database with `cases` ready cases; returns it and the seconds per case."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade_schema(engine)
    with unit_of_work(engine) as session:  # the staff, as accounts: who may act is checked
        session.add_all(User(**user.model_dump(exclude={"id"}))
                        for user in (POLICE, CASE_MANAGER, MANAGER, CHAIR))
    started = time.perf_counter()
    for first in range(0, cases, SETUP_BATCH):
        with unit_of_work(engine) as session:
            for n in range(first, min(first + SETUP_BATCH, cases)):
                make_ready_case(session, registry, n)
    seconds = (time.perf_counter() - started) / cases
    with unit_of_work(engine) as session:  # today's panel, which defers the cases
        now = datetime.now(UTC)
        record_meeting(session, definition=registry.latest("oocd"), held_on=local_date(now),
                       chair=CHAIR.username, agencies=["police", "yjs", "health", "education"],
                       now=now)
    return engine, seconds


def meeting_id(engine: Engine) -> int:
    """The panel meeting the deferrals name."""
    with engine.connect() as conn:
        return conn.scalar(select(func.max(PanelMeeting.id)))


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy (WAL included) through the sqlite3 backup API."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def rechain(events: list[dict], case_id: int) -> list[dict]:
    """`events` (one case's, in order) moved to `case_id`, hash chain recomputed."""
    prev, out = events[0]["prev_hash"], []
    for event in events:
        values = {**event, "case_id": case_id, "prev_hash": prev}
        values.pop("id")
        values["hash"] = prev = chain_hash(prev, values)
        out.append(values)
    return out


def bulk_load(engine: Engine, extra: int, chunk: int = 10_000) -> None:
    """Add `extra` ready cases shaped exactly like the first case the service wrote."""
    cases, events, deadlines = Case.__table__, AuditEvent.__table__, Deadline.__table__
    with engine.connect() as conn:
        template = dict(conn.execute(select(cases).order_by(cases.c.id).limit(1)).mappings().one())
        template_events = [dict(r) for r in conn.execute(
            select(events).where(events.c.case_id == template["id"])
            .order_by(events.c.seq)).mappings()]
        template_deadlines = [dict(r) for r in conn.execute(
            select(deadlines).where(deadlines.c.case_id == template["id"])).mappings()]
        next_id = conn.scalar(select(func.max(cases.c.id))) + 1
    recomputed = [e["hash"] for e in rechain(template_events, template["id"])]
    if recomputed != [e["hash"] for e in template_events]:
        raise SystemExit("bulk load: recomputing the template's hash chain does not match the "
                         "service's; the loader would write rows the service would not.")
    for first in range(0, extra, chunk):
        case_rows, event_rows, deadline_rows, found_by = [], [], [], []
        for case_id in range(next_id + first, next_id + min(first + chunk, extra)):
            chain = rechain(template_events, case_id)
            case_rows.append({**template, "id": case_id, "audit_head": chain[-1]["hash"],
                              "police_reference": f"BULK-{case_id:07d}"})
            found_by.extend(key_rows(case_id, template["given_name"], template["family_name"],
                                     f"BULK-{case_id:07d}", template["referral_date"]))
            event_rows.extend(chain)
            deadline_rows.extend({**d, "case_id": case_id, "id": None}
                                 for d in template_deadlines)
        with engine.begin() as conn:
            conn.execute(cases.insert(), case_rows)
            conn.execute(events.insert(), event_rows)
            conn.execute(deadlines.insert(), deadline_rows)
            conn.execute(CaseSearchKey.__table__.insert(), found_by)
        say(f"  bulk-loaded {min(first + chunk, extra):,} of {extra:,} cases")


def ready_case_ids(engine: Engine, seed: int) -> list[int]:
    """Every case in ready_for_panel, shuffled so that transitions spread over the whole table."""
    with engine.connect() as conn:
        ids = list(conn.scalars(select(Case.id).where(Case.state == "ready_for_panel")))
    random.Random(seed).shuffle(ids)
    return ids


# --- the contenders: one committed transition per call ---------------------------------------


def service_defer(engine: Engine, registry: WorkflowRegistry,
                  case_ids: list[int]) -> Callable[[], None]:
    """`defer` through the transition service, on the next case, in its own unit of work."""
    targets = itertools.cycle(case_ids)
    data = {"meeting_id": meeting_id(engine)}

    def transition() -> None:
        with unit_of_work(engine) as session:
            fire(session, registry=registry, case_id=next(targets), trigger="defer",
                 actor=CHAIR, now=datetime.now(UTC), data=data, reason=DEFER_REASON,
                 reason_code=DEFER_CODE)

    return transition


UPDATE_CASE = ("UPDATE cases SET state=?, version=version+1, audit_head=?, updated_at=? "
               "WHERE id=? AND version=?")
INSERT_EVENT = (
    "INSERT INTO audit_events (case_id, seq, at, actor, role, trigger, track, from_state, "
    "to_state, reason_code, reason, data, workflow_name, workflow_version, data_digest, "
    "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


class RawDefer:
    """The durable work of a `defer`, with the standard library's sqlite3 and nothing else."""

    def __init__(self, path: Path, case_ids: list[int]):
        self.conn = sqlite3.connect(path)
        for name, value in SQLITE_PRAGMAS.items():
            self.conn.execute(f"PRAGMA {name}={value}")
        self.heads = {case_id: (version, head) for case_id, version, head
                      in self.conn.execute("SELECT id, version, audit_head FROM cases")}
        self.targets = itertools.cycle(case_ids)
        meeting = self.conn.execute("SELECT max(id) FROM panel_meetings").fetchone()[0]
        self.data = f'{{"meeting_id": {meeting}}}'

    def __call__(self) -> None:
        case_id = next(self.targets)
        version, head = self.heads[case_id]
        at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy stores it
        new_head = f"{case_id:032x}{version + 1:032x}"  # 64 hex characters, like a SHA-256
        updated = self.conn.execute(UPDATE_CASE, ("ready_for_panel", new_head, at, case_id,
                                                  version))
        if updated.rowcount != 1:
            raise RuntimeError(f"raw baseline: version conflict on case {case_id}")
        self.conn.execute(INSERT_EVENT, (
            case_id, version + 1, at, CHAIR.username, "panel_chair", "defer", "main",
            "ready_for_panel", "ready_for_panel", DEFER_CODE, DEFER_REASON, self.data, "oocd", 1,
            new_head, head, new_head))  # the digest: 64 hex characters, as the head
        self.conn.commit()
        self.heads[case_id] = (version + 1, new_head)

    def close(self) -> None:
        self.conn.close()


# --- measuring -------------------------------------------------------------------------------


def timed_rate(transition: Callable[[], None], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        transition()
    return rate(count, time.perf_counter() - started)


def rounds(contenders: dict[str, Callable[[], None]], sizes: Sizes) -> dict[str, list[float]]:
    """Each contender `per_round` transitions a round, in an order reversed every round."""
    for transition in contenders.values():
        timed_rate(transition, sizes.warmup)
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for r in range(sizes.rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            rates[name].append(timed_rate(contenders[name], sizes.per_round))
        say(f"  round {r + 1}/{sizes.rounds}: "
            + ", ".join(f"{name} {rates[name][-1]:,.0f}/s" for name in names))
    return rates


def paired_median(numerators: list[float], denominators: list[float]) -> float:
    """The median of the per-round ratios."""
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


def rss_mib() -> float:
    """Resident set size now (Linux), or the peak where /proc is not available."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class MemorySample:
    transitions: int
    rss_mib: float
    objects: int
    rate: float


def memory_run(transition: Callable[[], None], total: int, every: int) -> list[MemorySample]:
    samples: list[MemorySample] = []
    for done in range(every, total + 1, every):
        chunk_rate = timed_rate(transition, every)
        gc.collect()
        sample = MemorySample(done, rss_mib(), len(gc.get_objects()), chunk_rate)
        samples.append(sample)
        say(f"  {done:>7,} transitions: RSS {sample.rss_mib:7.1f} MiB, "
            f"{sample.objects:,} live objects, {chunk_rate:,.0f} transitions/s")
    return samples


# --- the run ---------------------------------------------------------------------------------


def benchmark(folder: Path, sizes: Sizes, registry: WorkflowRegistry) -> None:
    started = time.perf_counter()
    small_path, raw_path, large_path = (folder / "service-small.db", folder / "raw.db",
                                        folder / "service-large.db")
    say(f"Databases in {folder}; pragmas {SQLITE_PRAGMAS}")
    say(f"Setting up {sizes.small_cases:,} cases through the service "
        "(create_case, take_case, submit_assessment, countersign)...")
    small, per_case = build_service_db(small_path, registry, sizes.small_cases)
    extra = sizes.large_cases - sizes.small_cases
    say(f"  {per_case * 1000:.2f} ms a case; loading {extra:,} more cases that way would take "
        f"about {per_case * extra:,.0f} s, so they are bulk-loaded as rows of the same shape")
    small.dispose()
    copy_database(small_path, raw_path)
    copy_database(small_path, large_path)
    large = make_engine(f"sqlite:///{large_path}")
    load_started = time.perf_counter()
    bulk_load(large, extra)
    say(f"  bulk load: {extra:,} cases in {time.perf_counter() - load_started:.1f} s")

    small = make_engine(f"sqlite:///{small_path}")
    raw = RawDefer(raw_path, ready_case_ids(small, seed=1))
    small_name = f"service@{sizes.small_cases:,}"
    large_name = f"service@{sizes.large_cases:,}"
    contenders = {  # the middle one runs next to each of the others, in turn before and after
        "raw sqlite3": raw,
        small_name: service_defer(small, registry, ready_case_ids(small, seed=1)),
        large_name: service_defer(large, registry, ready_case_ids(large, seed=2)),
    }
    say(f"Measuring: {sizes.rounds} rounds of {sizes.per_round:,} committed transitions each "
        f"(after {sizes.warmup:,} to warm up)...")
    rates = rounds(contenders, sizes)

    say(f"Memory: {sizes.memory_transitions:,} transitions through the service on the "
        f"{sizes.large_cases:,}-case database...")
    samples = memory_run(contenders[large_name], sizes.memory_transitions, sizes.memory_every)
    raw.close()
    small.dispose()
    large.dispose()

    medians = {name: statistics.median(values) for name, values in rates.items()}
    ratio = paired_median(rates[small_name], rates["raw sqlite3"])
    scale = paired_median(rates[large_name], rates[small_name])
    first, last = samples[0], samples[-1]
    say("")
    say("Results: committed transitions per second, median of the rounds (min-max)")
    for name in contenders:
        say(f"  {name:<16} {medians[name]:>8,.0f}/s  ({min(rates[name]):,.0f}-"
            f"{max(rates[name]):,.0f}), {1000 / medians[name]:.3f} ms a transition")
    say(f"Service / raw: {ratio:.2f} (median of per-round ratios; ratio of the medians "
        f"{medians[small_name] / medians['raw sqlite3']:.2f})")
    say(f"Scale: {large_name} / {small_name} = {scale:.2f} (median of per-round ratios; "
        f"ratio of the medians {medians[large_name] / medians[small_name]:.2f}); 1.00: the "
        "cost does not grow with the number of cases")
    say(f"Memory over {last.transitions:,} transitions, from the sample at "
        f"{first.transitions:,} to the one at {last.transitions:,}: "
        f"RSS {last.rss_mib - first.rss_mib:+.1f} MiB ({first.rss_mib:.1f} -> "
        f"{last.rss_mib:.1f}), live objects {last.objects - first.objects:+,} "
        f"({first.objects:,} -> {last.objects:,})")
    say(f"Whole run: {time.perf_counter() - started:.0f} s")
    say(f"ratio={ratio:.2f}")


def profile(folder: Path, sizes: Sizes, registry: WorkflowRegistry) -> None:
    """Where the time of `fire` goes: cProfile over `profile_transitions` committed defers."""
    say(f"Setting up {sizes.small_cases:,} cases in {folder}...")
    engine, _ = build_service_db(folder / "profile.db", registry, sizes.small_cases)
    transition = service_defer(engine, registry, ready_case_ids(engine, seed=1))
    timed_rate(transition, sizes.warmup)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(sizes.profile_transitions):
        transition()
    profiler.disable()
    engine.dispose()
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    say(f"Profile of {sizes.profile_transitions:,} committed defers, by cumulative time:")
    stats.sort_stats("cumulative").print_stats(40)
    say("By own time:")
    stats.sort_stats("tottime").print_stats(20)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a much smaller run (seconds), for CI smoke tests")
    parser.add_argument("--profile", action="store_true",
                        help="profile committed `defer` transitions instead of benchmarking")
    parser.add_argument("--dir", type=Path, default=None,
                        help="where to put the databases (default: a new temporary directory; "
                             "use a real disk, not tmpfs, or fsync costs nothing)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    registry = WorkflowRegistry.from_folder(ROOT / "workflows")
    with tempfile.TemporaryDirectory(prefix="ooc-bench-", dir=args.dir) as folder:
        if args.profile:
            profile(Path(folder), sizes, registry)
        else:
            say(f"ooc transition benchmark ({'quick' if args.quick else 'full'} run)")
            benchmark(Path(folder), sizes, registry)


if __name__ == "__main__":
    main()
