"""ooc/search.py without the pages: the keys a name is found by, the date of birth as typed,
what a new case writes, and that every search is read from an index."""

from __future__ import annotations

import importlib.util
from datetime import date

import pytest
from sqlalchemy import func, select

from ooc import search
from ooc.access import viewable
from ooc.models import Case, CaseSearchKey
from ooc.settings import PROJECT_ROOT
from tests.support import Walker


def _migration():
    path = PROJECT_ROOT / "migrations" / "versions" / "0009_case_search.py"
    spec = importlib.util.spec_from_file_location("migration_0009", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NAMES = [("Alice", "Smith", "AB/2026/0001"), ("Zoë", "O'Brien-Hall", "ab 2026 2"),
         ("Łukasz", "Nowak", "X"), ("Anne Marie", "D’Souza", "REF-1"), ("Siân", "ap Rhys", "r"),
         ("Mohammed", "Al-Hassan", "A/1"), ("Jean-Luc", "Picard", "1701"),
         ("Ngọc", "Trần", "VN/9"), ("Ffion", "ŒUVRE-Straße", "DE/1")]


def test_a_name_is_found_by_the_start_of_any_of_its_words():
    keys = search.name_keys("Zoë", "O'Brien-Hall")
    for key in ("z", "zo", "zoe", "o", "ob", "obrien", "b", "br", "brien", "h", "hall"):
        assert key in keys, key
    assert "oe" not in keys and "rien" not in keys and "zoë" not in keys
    assert search.query_words("  O’BRIEN   zoë ") == ["obrien", "zoe"]
    assert search.query_words("Anne-Marie") == ["anne", "marie"]
    assert search.query_words("!!") == []
    assert search.reference_key(" ab/2026/ 0001 ") == search.reference_key("AB/2026/0001")


def test_the_migration_writes_the_keys_the_application_writes():
    """Migration 0009 keeps its own copy of the rules (a migration must not change when the
    code does); while the rules are these, the two must agree."""
    migration = _migration()
    for given, family, reference in NAMES:
        assert migration.search_keys(given, family, reference) == search.search_keys(
            given, family, reference), (given, family)


@pytest.mark.parametrize(("parts", "problem", "highlighted"), [
    (("", "", ""), None, set()),
    (("15", "6", "2011"), None, set()),
    ((" 5 ", "06", "2011"), None, set()),
    (("31", "2", "2012"), "Date of birth must be a real date", {"day", "month", "year"}),
    (("", "6", "2011"), "Date of birth must include a day", {"day"}),
    (("15", "", ""), "Date of birth must include a month and year", {"month", "year"}),
    (("15", "June", "2011"), "Date of birth must be a real date", {"month"}),
    (("15", "6", "211"), "Year must include 4 numbers", {"year"}),
    (("3", "3", "2026"), "Date of birth must be in the past", {"day", "month", "year"}),
])
def test_a_date_of_birth_is_read_as_the_gov_uk_date_pattern_says(parts, problem, highlighted):
    typed = dict(zip(("day", "month", "year"), parts, strict=True))
    value, found, parts_in_error = search.read_date(typed, "Date of birth", date(2026, 3, 2))
    assert (found.message if found else None) == problem
    assert parts_in_error == highlighted
    if problem is None and any(parts):
        assert value == date(2011, 6, int(parts[0]))


def test_criteria_survive_the_session_as_they_were():
    criteria = search.Criteria(name="ali smi", reference="AB/1", date_of_birth=date(2011, 6, 15),
                               stage="referred", case_manager="cm", team="North", status="open")
    assert search.Criteria.from_dict(criteria.to_dict()) == criteria
    assert search.Criteria.from_dict({}) == search.Criteria()


def test_stages_are_the_main_tracks_states_from_the_workflow(registry):
    definition = registry.latest("oocd")
    main = [s for s in definition.states.values() if s.track == "main"]
    assert [(o.value, o.label) for o in search.main_stages(registry)] == [
        (s.name, s.label) for s in main]
    assert search.ended_states(registry) == sorted(s.name for s in main if s.terminal)


def test_the_reference_workflow_records_the_decision_and_sign_off_the_search_reads(registry):
    definition = registry.latest("oocd")
    records = {t.records: t for t in definition.transitions if t.records}
    assert search.OUTCOME_FIELD in {f.name for f in records[search.DECISION_RECORD].fields}
    assert search.SIGN_OFF_RECORD in records


def test_a_new_case_records_who_referred_it_and_the_keys_it_is_found_by(session, registry,
                                                                        users):
    case = Walker(session, registry, users).create(given_name="Zoë", family_name="Hart",
                                                   police_reference="K/1")
    assert case.referred_by == "police"
    stored = set(session.scalars(select(CaseSearchKey.key)
                                 .where(CaseSearchKey.case_id == case.id)))
    assert stored == search.search_keys("Zoë", "Hart", "K/1")
    dates = set(session.scalars(select(CaseSearchKey.referral_date)
                                .where(CaseSearchKey.case_id == case.id)))
    assert dates == {case.referral_date}


def _plans(session, statement) -> str:
    sql = str(statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    return " / ".join(row[-1] for row in session.connection().exec_driver_sql(
        "EXPLAIN QUERY PLAN " + sql))


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # PostgreSQL plans from statistics
def test_every_kind_of_search_is_read_from_an_index_not_a_scan_of_the_cases(
        engine, session, registry, users):
    """The query plans (SQLite's EXPLAIN QUERY PLAN) of each way into a search: a key's rows,
    the intersection of several keys', the date of birth, a filter."""
    walker = Walker(session, registry, users)
    walker.create()
    criteria = [
        search.Criteria(name="alex"),
        search.Criteria(name="alex exam", reference="TEST/0001"),
        search.Criteria(date_of_birth=date(2011, 6, 15), name="ex"),
        search.Criteria(stage="referred"),
        search.Criteria(case_manager="case_manager", name="alex"),
        search.Criteria(status="open", name="ale"),
    ]
    for c in criteria:
        plan = search._plan(session, registry, c, None)
        for statement in (search._matches(plan), search._matches(plan).order_by(None)):
            explained = _plans(session, statement)
            assert "SCAN cases" not in explained and "SCAN k" not in explained, (c, explained)
            assert "SEARCH" in explained, (c, explained)
    assert session.scalar(select(func.count()).select_from(Case)) == 1


def test_every_way_into_a_search_finds_what_reading_every_case_finds(session, registry, users,
                                                                     monkeypatch):
    """Small limits, so that each way in is taken (a key's rows, several keys, the date of
    birth, a filter's index, the referral-date walk, counts that stop): the pages of results
    must be exactly the matching cases, newest referral first, as far as the count goes."""
    monkeypatch.setattr(search, "COUNT_LIMIT", 5)
    monkeypatch.setattr(search, "SIZED_UP_TO", 6)
    monkeypatch.setattr(search, "PAGE_SIZE", 2)
    for name in ("case_manager", "senior_practitioner", "manager", "manager2"):
        users[name].team = "North"  # managers countersign and sign off their team's work
    users["case_manager2"].team = "South"
    session.commit()
    walker = Walker(session, registry, users)
    people = [("Alice", "Smith"), ("Alicia", "Smithers"), ("Bob", "Smith"), ("Ali", "Jones"),
              ("Zara", "Smyth"), ("Alan", "Smith-Jones"), ("Bea", "Alison"), ("Sam", "Ali")]
    plans = ["referred", "assessing", "assessing2", "withdrawn", "referred", "closed"]
    for n in range(16):
        given, family = people[n % len(people)]
        case = walker.create(police_reference=f"W/{n:02d}", given_name=given, family_name=family,
                             date_of_birth=f"2011-06-{10 + n % 3:02d}",
                             referral_date=f"2026-02-{(n * 7) % 27 + 1:02d}",
                             offence_date="2026-01-20")
        plan = plans[n % len(plans)]
        if plan == "assessing2":
            walker.fire(case, "take_case", "case_manager2")
        elif plan != "referred":
            walker.to(case, plan)
    cases = session.scalars(select(Case)).all()
    by_id = {case.id: case for case in cases}
    ended = set(search.ended_states(registry))
    teams = {u.username: u.team for u in users.values()}

    def matches(case: Case, c: search.Criteria) -> bool:
        words = [w.lower() for w in f"{case.given_name} {case.family_name}".replace("-", " ")
                 .split()]
        return (all(any(w.startswith(q) for w in words) for q in c.name.lower().split())
                and (not c.reference or c.reference.lower() == case.police_reference.lower())
                and (not c.date_of_birth or c.date_of_birth == case.date_of_birth)
                and (not c.stage or c.stage == case.state)
                and (not c.status or (case.state in ended) == (c.status == "closed"))
                and (not c.case_manager or c.case_manager == case.case_manager)
                and (not c.team or teams.get(case.case_manager) == c.team))

    born = date(2011, 6, 10)
    for c in [search.Criteria(), search.Criteria(name="ali"), search.Criteria(name="smi"),
              search.Criteria(name="smith jones"), search.Criteria(name="al smi"),
              search.Criteria(name="ali", status="closed"), search.Criteria(status="closed"),
              search.Criteria(status="open"), search.Criteria(stage="referred"),
              search.Criteria(stage="assessing", name="a"), search.Criteria(team="North"),
              search.Criteria(team="South", name="b"), search.Criteria(case_manager="case_manager"),
              search.Criteria(date_of_birth=born), search.Criteria(date_of_birth=born, name="s"),
              search.Criteria(reference="w/03"), search.Criteria(reference="w/03", name="zzz"),
              search.Criteria(name="s", status="open", team="North")]:
        expected = [case.id for case in sorted(cases, key=lambda k: (k.referral_date, k.id),
                                                reverse=True) if matches(case, c)]
        first = search.search(session, registry, c)
        shown = [case.id for page in range(1, first.pages + 1)
                 for case in search.search(session, registry, c, page).cases]
        assert (first.found, first.more) == (min(len(expected), 5), len(expected) > 5), c
        assert shown == expected[:5], c
        # And kept to the cases a North case manager's work reaches: North's and untaken ones.
        reach = viewable(users["case_manager"], registry)
        theirs = [i for i in expected if teams.get(by_id[i].case_manager, "North") == "North"]
        first = search.search(session, registry, c, reach=reach)
        shown = [case.id for page in range(1, first.pages + 1)
                 for case in search.search(session, registry, c, page, reach=reach).cases]
        assert (first.found, shown) == (min(len(theirs), 5), theirs[:5]), c
