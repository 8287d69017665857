"""Finding a case: by part of the child's name, the police reference or the date of birth, with
filters for stage, case manager, team and open or closed; and a police officer's referrals.

Speed at any size. A name is found through `case_search_keys`: one row for every prefix of every
word of the name ("ali" and "smi" both find Alice Smith), lower-case and without accents, with
the case's referral date. Each search word is an equality on that table's key, whose rows are
kept in referral-date order, so the newest matches are read straight off the index and a page is
about 20 index entries whatever the number of cases. A police reference is a key of its own,
found whole (case and spaces ignored). A date of birth is an index on `cases`, and is the one to
start from when given: a few dozen children share a birthday. With filters too, the search
starts from whichever list has the fewest rows to walk (`_way_in`). Counts stop at
`COUNT_LIMIT` ("more than 1,000 cases found"). The conditions are the same on SQLite and
PostgreSQL, with no LIKE and no collation-dependent ranges; where their planners differ, the
code says what it does for each (`_matches`, `search`).

Nothing here commits: the caller logs the cases shown (`ooc.access.log_list_view`) and commits.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date
from math import ceil
from typing import Any

from sqlalchemy import and_, exists, func, insert, intersect, select, text
from sqlmodel import Session

from ooc.definitions import Definition, Option
from ooc.errors import FieldProblem
from ooc.machine import WorkflowRegistry
from ooc.models import Case, CaseSearchKey, User

PAGE_SIZE = 20
# Counting stops here ("more than 1,000 cases found"): a count of every match would read them all,
# and nobody pages through more than 50 pages to find a child.
COUNT_LIMIT = 1000
MAX_NAME_WORDS = 6
REFERENCE_MARK = "#"  # a key that is a whole police reference; names' keys are letters and digits
KEY_LENGTH = CaseSearchKey.__table__.c.key.type.length
MAIN_TRACK = "main"  # the track whose state is the case's stage (TRACK_COLUMNS)

# Where the workflow keeps the panel's decision and its sign-off (workflows/oocd.v1.toml: the
# record "decision" with its field "outcome", and the record "sign_off"). Named here, once; a
# definition that records neither shows no outcome.
DECISION_RECORD = "decision"
OUTCOME_FIELD = "outcome"
SIGN_OFF_RECORD = "sign_off"

CASES = Case.__table__
KEYS = CaseSearchKey.__table__
_APOSTROPHES = frozenset("'\u2019\u2018\u02bc`")


# --- the words a name is found by ------------------------------------------------------------


def _plain(text: str) -> str:
    """Lower case without accents: "Zoë" -> "zoe", "Łukasz" -> "łukasz"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _split(text: str) -> list[list[str]]:
    """Each word of `text` as its parts between apostrophes: "O'Brien-Hall" ->
    [["o", "brien"], ["hall"]]. Anything but a letter, a digit or an apostrophe ends a word."""
    words: list[list[str]] = []
    parts: list[str] = []
    part = ""
    for c in _plain(text) + " ":
        if c.isalnum():
            part += c
        elif c in _APOSTROPHES:
            parts.append(part)
            part = ""
        else:
            parts = [p for p in [*parts, part] if p]
            if parts:
                words.append(parts)
            parts, part = [], ""
    return words


def query_words(text: str) -> list[str]:
    """The words typed into a name search, as keys: "O'Brien" is "obrien"."""
    return ["".join(parts)[:KEY_LENGTH] for parts in _split(text)]


def name_keys(*names: str) -> set[str]:
    """Every key a name is found by: each prefix of each word, written whole ("obrien") and
    from each apostrophe on ("brien")."""
    keys = set()
    for name in names:
        for parts in _split(name):
            for start in range(len(parts)):
                word = "".join(parts[start:])[:KEY_LENGTH]
                keys.update(word[:n] for n in range(1, len(word) + 1))
    return keys


def reference_key(reference: str) -> str:
    return (REFERENCE_MARK + "".join(_plain(reference).split()))[:KEY_LENGTH]


def search_keys(given_name: str, family_name: str, police_reference: str) -> set[str]:
    return name_keys(given_name, family_name) | {reference_key(police_reference)}


def key_rows(case_id: int, given_name: str, family_name: str, police_reference: str,
             referral_date: date) -> list[dict[str, Any]]:
    """The `case_search_keys` rows of a case."""
    return [{"key": key, "referral_date": referral_date, "case_id": case_id}
            for key in sorted(search_keys(given_name, family_name, police_reference))]


def index_case(session: Session, case: Case) -> None:
    """Write the search keys of a case just created (flushed, so that it has an id)."""
    session.execute(insert(KEYS), key_rows(case.id, case.given_name, case.family_name,
                                           case.police_reference, case.referral_date))


# --- what may be searched for ----------------------------------------------------------------


STATUSES = {"": "Open and closed", "open": "Open", "closed": "Closed or withdrawn"}


def main_stages(registry: WorkflowRegistry) -> list[Option]:
    """The main track's states of every workflow version, in the order the newest definition
    lists them, each with the newest definition's label."""
    labels: dict[str, str] = {}
    for definition in sorted(registry, key=lambda d: d.version, reverse=True):
        for state in definition.states.values():
            if state.track == MAIN_TRACK:
                labels.setdefault(state.name, state.label)
    return [Option(name, label) for name, label in labels.items()]


def ended_states(registry: WorkflowRegistry) -> list[str]:
    """The main track's terminal states (closed, withdrawn), in any workflow version."""
    return sorted({s.name for d in registry for s in d.states.values()
                   if s.track == MAIN_TRACK and s.terminal})


@dataclass(frozen=True)
class Choices:
    """The values the filters offer."""

    stages: list[Option]
    case_managers: list[Option]  # value: username, label: display name
    teams: list[str]

    @classmethod
    def of(cls, registry: WorkflowRegistry, users: Iterable[Any]) -> Choices:
        users = list(users)
        managers = sorted((Option(u.username, u.display_name) for u in users
                           if "case_manager" in u.roles), key=lambda o: o.label.casefold())
        teams = sorted({u.team for u in users if u.team}, key=str.casefold)
        return cls(main_stages(registry), managers, teams)


def people(session: Session) -> list[Any]:
    """Every user's username, display name, roles and team (a small table)."""
    return session.execute(select(User.username, User.display_name, User.roles,
                                  User.team)).all()


@dataclass(frozen=True)
class Criteria:
    name: str = ""
    reference: str = ""
    date_of_birth: date | None = None
    stage: str = ""
    case_manager: str = ""
    team: str = ""
    status: str = ""  # "", "open" or "closed"

    def to_dict(self) -> dict[str, str]:
        """What was searched for, as text, leaving out what was not (kept small: it is kept
        in the session cookie)."""
        values = asdict(self)
        values["date_of_birth"] = self.date_of_birth.isoformat() if self.date_of_birth else ""
        return {name: value for name, value in values.items() if value}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Criteria:
        known = {k: str(values.get(k) or "") for k in cls.__dataclass_fields__}
        born = known.pop("date_of_birth")
        return cls(**known, date_of_birth=date.fromisoformat(born) if born else None)

    def date_parts(self) -> dict[str, str]:
        born = self.date_of_birth
        return ({"day": str(born.day), "month": str(born.month), "year": str(born.year)}
                if born else {})


DATE_PARTS = ("day", "month", "year")


def read_date(parts: Mapping[str, str], label: str, today: date
              ) -> tuple[date | None, FieldProblem | None, set[str]]:
    """A date typed into a GOV.UK date input (day, month, year): the date, or the problem in
    the words of the GOV.UK pattern and the parts to highlight. All blank is no date."""
    typed = {p: (parts.get(p) or "").strip() for p in DATE_PARTS}
    missing = [p for p in DATE_PARTS if not typed[p]]
    if len(missing) == 3:
        return None, None, set()
    if missing:
        return None, FieldProblem(label, f"{label} must include a {' and '.join(missing)}"), \
            set(missing)
    not_numbers = {p for p in DATE_PARTS if not (typed[p].isascii() and typed[p].isdigit())}
    if not_numbers:
        return None, FieldProblem(label, f"{label} must be a real date"), not_numbers
    if len(typed["year"]) != 4:
        return None, FieldProblem(label, "Year must include 4 numbers"), {"year"}
    try:
        value = date(int(typed["year"]), int(typed["month"]), int(typed["day"]))
    except ValueError:
        return None, FieldProblem(label, f"{label} must be a real date"), set(DATE_PARTS)
    if value > today:
        return None, FieldProblem(label, f"{label} must be in the past"), set(DATE_PARTS)
    return value, None, set()


def read_criteria(form: Mapping[str, str], choices: Choices, today: date
                  ) -> tuple[Criteria, list[FieldProblem], set[str]]:
    """The search asked for, from the form's fields (name, reference, date_of_birth-day,
    -month, -year, stage, case_manager, team, status): the criteria, a problem for each field
    that cannot be searched for, and the date's parts in error."""
    def text(name: str) -> str:
        return " ".join((form.get(name) or "").split())

    problems = []
    name, reference = text("name"), text("reference")
    if len(name) > KEY_LENGTH:
        problems.append(FieldProblem("name", f"Name must be {KEY_LENGTH} characters or fewer"))
    elif name and not query_words(name):
        problems.append(FieldProblem("name", "Enter a name using letters"))
    elif len(query_words(name)) > MAX_NAME_WORDS:
        problems.append(FieldProblem("name", f"Enter no more than {MAX_NAME_WORDS} words of "
                                             "the name"))
    limit = CASES.c.police_reference.type.length
    if len(reference) > limit:
        problems.append(FieldProblem("reference", f"Police reference must be {limit} "
                                                  "characters or fewer"))
    born, problem, date_errors = read_date(
        {p: form.get(f"date_of_birth-{p}") or "" for p in DATE_PARTS}, "Date of birth", today)
    if problem:
        problems.append(FieldProblem("date_of_birth", problem.message))
    chosen = {}
    for field, label, allowed in (
            ("stage", "stage", {o.value for o in choices.stages}),
            ("case_manager", "case manager", {o.value for o in choices.case_managers}),
            ("team", "team", set(choices.teams)),
            ("status", "open or closed", set(STATUSES))):
        value = (form.get(field) or "").strip()
        if value and value not in allowed:
            problems.append(FieldProblem(field, f"There is no {label} called ‘{value[:40]}’: "
                                                f"choose one from the list"))
            value = ""
        chosen[field] = value
    return Criteria(name=name, reference=reference, date_of_birth=born, **chosen), problems, \
        date_errors


# --- searching -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FoundCase:
    id: int
    child_name: str
    police_reference: str
    date_of_birth: date
    referral_date: date
    state: str
    stage: str  # the state's label
    case_manager: str | None  # username
    ended: bool  # closed or withdrawn
    outcome: str | None = None  # the signed-off decision's outcome label (referrals only)


@dataclass(frozen=True)
class ResultPage:
    cases: list[FoundCase]
    found: int  # matches counted, up to COUNT_LIMIT
    more: bool  # more than COUNT_LIMIT match
    number: int  # this page, from 1
    pages: int  # pages that can be shown (at least 1)

    @property
    def exists(self) -> bool:
        """Whether the page asked for is one of the results' pages."""
        return 1 <= self.number <= self.pages


_SHOWN = (CASES.c.id, CASES.c.given_name, CASES.c.family_name, CASES.c.police_reference,
          CASES.c.date_of_birth, CASES.c.referral_date, CASES.c.state, CASES.c.case_manager,
          CASES.c.workflow_name, CASES.c.workflow_version)


def _filters(session: Session, registry: WorkflowRegistry, c: Criteria,
             indexed: bool = True, reach: Any = None) -> list[Any]:
    """The conditions of the filters (stage, open or closed, case manager, team) on `cases`.
    Not `indexed`: written so that no index serves them (`state || ''`), for when they match
    so many cases that walking the referral-date index and checking each is quicker."""
    state, manager = CASES.c.state, CASES.c.case_manager
    if not indexed:
        state, manager = state.concat(""), manager.concat("")
    conditions = []
    if c.stage:
        conditions.append(state == c.stage)
    if c.status:
        ended = ended_states(registry)
        if c.status == "closed":
            conditions.append(state.in_(ended))
        else:  # as a list of states, which an index finds
            conditions.append(state.in_([s.value for s in main_stages(registry)
                                         if s.value not in ended]))
    if c.case_manager:
        conditions.append(manager == c.case_manager)
    if c.team:
        members = session.scalars(select(User.username).where(User.team == c.team)).all()
        conditions.append(manager.in_(members))
    if reach is not None:  # the cases the searcher's work reaches (ooc.access.viewable)
        conditions.append(reach)
    return conditions


def _capped_count(session: Session, query, cap: int, in_order: bool = False) -> int:
    """The rows of `query`, counted up to `cap` (`in_order`: read in the query's order, where
    that order is the index's and tells SQLite it can merge the keys' rows)."""
    return session.execute(select(func.count()).select_from(
        (query if in_order else query.order_by(None)).limit(cap).subquery())).scalar_one()


@dataclass(frozen=True)
class _Plan:
    """Where a search starts: the rows of one search key, in their index's (referral-date)
    order; or `cases`, through the date-of-birth index, a filter's index or the referral-date
    index. Whatever it starts from, every other key is one probe of the keys' primary key and
    every filter a check of the case."""

    keys: list[str]
    key: str | None  # the key to start from (None: start from `cases`)
    filters: list[Any]
    filtered: int | None  # the cases the filters match, counted up to SIZED_UP_TO (if they were)
    dialect: str = ""


SIZED_UP_TO = 5 * COUNT_LIMIT


def _plan(session: Session, registry: WorkflowRegistry, c: Criteria, reach: Any) -> _Plan:
    return replace(_way_in(session, registry, c, reach),
                   dialect=session.get_bind().dialect.name)


def _way_in(session: Session, registry: WorkflowRegistry, c: Criteria, reach: Any) -> _Plan:
    keys = list(dict.fromkeys(([reference_key(c.reference)] if c.reference else [])
                              + query_words(c.name)))
    filters = _filters(session, registry, c, reach=reach)
    if c.date_of_birth:  # a few dozen children share a birthday
        return _Plan(keys, None, [CASES.c.date_of_birth == c.date_of_birth, *filters], None)
    if not filters:  # keys alone: from the longest (the most telling)
        return _Plan(keys, max(keys, key=len) if keys else None, [], None)
    if not keys:  # the filters alone (`search` counts them if it needs to)
        return _Plan(keys, None, filters, None)
    # Each way in is a list: a key's rows, or the cases the filters match. The count has to
    # walk the way in until COUNT_LIMIT matches are found or the list ends, so the way in is
    # the list with the fewest rows to walk, judged from each list's length (counted from an
    # index alone, up to a cap) and how many of its rows the other lists are likely to keep.
    # All counted in one statement.
    lists = [select(CASES.c.id).where(*filters),
             *(select(KEYS.c.case_id).where(KEYS.c.key == key) for key in keys)]
    counted = session.execute(select(
        select(func.max(CASES.c.id)).scalar_subquery(),
        *(select(func.count()).select_from(listed.limit(SIZED_UP_TO).subquery())
          .scalar_subquery() for listed in lists))).one()
    total = max(counted[0] or 1, 1)
    sizes: dict[str | None, int] = dict(zip([None, *keys], counted[1:], strict=True))

    def to_walk(side: str | None) -> float:
        kept = 1.0
        for other, size in sizes.items():
            if other != side:
                kept *= min(1.0, size / total)
        return min(sizes[side], (COUNT_LIMIT + 1) / max(kept, 1e-9))

    # On a tie, a key (its rows are small) and the longest (the most telling).
    start = min(sizes, key=lambda side: (to_walk(side), side is None, -len(side or "")))
    return _Plan(keys, start, filters, sizes[None])


def _matches(plan: _Plan, filters: list[Any] | None = None):
    """The (referral date, case id) of the matching cases, newest first; `filters` stand for
    the plan's own (the same conditions, written another way). Several keys: one key's rows,
    each kept if the others have the same row (a probe of their index on SQLite, a merge of
    the indexes' rows on PostgreSQL)."""
    filters = plan.filters if filters is None else filters
    if plan.dialect == "sqlite" and plan.key is not None and not filters and len(plan.keys) > 1:
        # SQLite merges the keys' rows as they come, in order (a third of the time of a
        # probe for each row); PostgreSQL would hash both lists whole.
        both = intersect(*(select(KEYS.c.referral_date, KEYS.c.case_id).where(KEYS.c.key == key)
                           for key in plan.keys))
        return both.order_by(both.selected_columns.referral_date.desc(),
                             both.selected_columns.case_id.desc())
    if plan.key is not None:
        first = KEYS.alias("k")
        date_, case_id = first.c.referral_date, first.c.case_id
        source = first.join(CASES, CASES.c.id == case_id) if filters else first
        query = select(date_, case_id).select_from(source).where(first.c.key == plan.key)
    else:
        date_, case_id = CASES.c.referral_date, CASES.c.id
        query = select(date_, case_id.label("case_id"))
    for key in plan.keys:
        if key != plan.key:
            other = KEYS.alias()
            query = query.where(exists().where(and_(other.c.key == key,
                                                    other.c.referral_date == date_,
                                                    other.c.case_id == case_id)))
    return query.where(*filters).order_by(date_.desc(), case_id.desc())


def _pages(found: int) -> int:
    return max(1, ceil(found / PAGE_SIZE))


def search(session: Session, registry: WorkflowRegistry, criteria: Criteria,
           page: int = 1, reach: Any = None) -> ResultPage:
    """One page of the cases matching `criteria` (every condition given must hold), newest
    referral first, closed and withdrawn cases included; only those `reach` holds for (the
    cases the searcher's work reaches, `ooc.access.viewable`), when given."""
    if session.get_bind().dialect.name == "postgresql":
        # psycopg prepares a statement it has run five times, and PostgreSQL then comes to plan
        # it once for any values: for a search, one plan for a rare name and a common one, a
        # selective filter and one that matches nearly every case (measured: 5 ms became 90).
        # Planned for the values given, each time, until the caller's transaction ends.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    plan = _plan(session, registry, criteria, reach)
    matching = []
    # Keys alone, or nothing at all, are read in date order straight from an index (the
    # first key's, or the referral date's): a count, then a page.
    in_order = not plan.filters and (plan.key is not None or not plan.keys)
    if in_order:
        counted = _capped_count(session, _matches(plan), COUNT_LIMIT + 1, in_order=True)
    else:
        # The matches, up to one more than are counted: the count, and (if that is all of
        # them) every page, from one statement.
        matching = session.execute(_matches(plan).order_by(None).limit(COUNT_LIMIT + 1)).all()
        counted = len(matching)
    found, more = min(counted, COUNT_LIMIT), counted > COUNT_LIMIT
    pages = _pages(found)
    if not 1 <= page <= pages:
        return ResultPage([], found, more, page, pages)
    offset = (page - 1) * PAGE_SIZE
    if more or in_order:
        # In the index's order, or more than COUNT_LIMIT matches: walking them newest first
        # meets a page soon. Where thousands of cases pass the filters, the walk is down the
        # referral-date index (their own index would give every one of them to sort).
        filters = None
        if plan.key is None and plan.filters and not criteria.date_of_birth:
            filtered = plan.filtered
            if filtered is None:
                filtered = _capped_count(session, select(CASES.c.id).where(*plan.filters),
                                         SIZED_UP_TO)
            if filtered >= SIZED_UP_TO:
                filters = _filters(session, registry, criteria, indexed=False, reach=reach)
        ids = [row.case_id for row in session.execute(
            _matches(plan, filters).limit(min(PAGE_SIZE, found - offset)).offset(offset))]
    else:
        # All the matches, sorted here: a database asked for "the first 20 in date order" may
        # walk the whole date index looking for a few scattered matches.
        ids = [row.case_id for row in sorted(matching, reverse=True)[offset:offset + PAGE_SIZE]]
    by_id = {row.id: row for row in session.execute(select(*_SHOWN).where(CASES.c.id.in_(ids)))}
    return ResultPage([_found(registry, by_id[i]) for i in ids], found, more, page, pages)


def _found(registry: WorkflowRegistry, row: Any, outcome: str | None = None) -> FoundCase:
    state = registry.get(row.workflow_name, row.workflow_version).states[row.state]
    return FoundCase(id=row.id, child_name=f"{row.given_name} {row.family_name}",
                     police_reference=row.police_reference, date_of_birth=row.date_of_birth,
                     referral_date=row.referral_date, state=row.state, stage=state.label,
                     case_manager=row.case_manager, ended=state.terminal, outcome=outcome)


# --- a police officer's referrals ------------------------------------------------------------


def signed_off_outcome(definition: Definition, data: Mapping[str, Any]) -> str | None:
    """The label of the case's decided outcome once the decision is signed off, else None.
    (After a breach the panel decides again: the new outcome shows once that is signed off.)"""
    records = {t.records for t in definition.transitions}
    if not {DECISION_RECORD, SIGN_OFF_RECORD} <= records:
        return None
    decision, sign_off = data.get(DECISION_RECORD), data.get(SIGN_OFF_RECORD)
    if not decision or not sign_off or sign_off.get("at", "") < decision.get("at", ""):
        return None
    outcome = definition.outcomes.get(decision.get(OUTCOME_FIELD))
    return outcome.label if outcome else None


def referrals_made_by(session: Session, registry: WorkflowRegistry, username: str,
                      page: int = 1) -> ResultPage:
    """One page of the referrals `username` made, newest first, with each one's stage and,
    once signed off, its outcome."""
    mine = select(*_SHOWN, CASES.c.data).where(CASES.c.referred_by == username)
    counted = _capped_count(session, mine.with_only_columns(CASES.c.id), COUNT_LIMIT + 1)
    found, more = min(counted, COUNT_LIMIT), counted > COUNT_LIMIT
    pages = _pages(found)
    if not 1 <= page <= pages:
        return ResultPage([], found, more, page, pages)
    offset = (page - 1) * PAGE_SIZE
    rows = session.execute(mine.order_by(CASES.c.referral_date.desc(), CASES.c.id.desc())
                           .limit(min(PAGE_SIZE, found - offset)).offset(offset)).all()
    return ResultPage([_found(registry, row, signed_off_outcome(
        registry.get(row.workflow_name, row.workflow_version), row.data)) for row in rows],
        found, more, page, pages)
