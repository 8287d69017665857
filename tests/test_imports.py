"""Importing referrals from CSV: every row checked, bad rows listed, never a case twice."""

from __future__ import annotations

import csv
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, func
from sqlalchemy.exc import DataError
from sqlmodel import Session, select
from typer.testing import CliRunner

from ooc import new_cases
from ooc.audit import content_digest, verify_trail
from ooc.cli import app
from ooc.errors import RoleNotAllowed
from ooc.figures.facts import facts_differences
from ooc.imports import (
    ImportInterrupted,
    ImportRefused,
    column_guide,
    import_referrals,
    template_csv,
)
from ooc.models import AuditEvent, Case, CaseFacts, CaseSearchKey, Deadline, User
from tests.support import NOW, Walker, referral

EXAMPLE = Path(__file__).resolve().parent / "data" / "referrals.csv"
COLUMNS = list(referral())
runner = CliRunner()


def csv_text(*rows: dict, columns: list[str] | None = None) -> str:
    """A referral file as a spreadsheet would save it (yes/no answers, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, columns or COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("yes" if v is True else "no" if v is False else v)
                         for k, v in row.items()})
    return out.getvalue()


def run_import(session, registry, users, rows, who="police", **kwargs):
    """Import the file; it commits batch by batch, through its own sessions."""
    return import_referrals(session.get_bind(), registry=registry, actor=users[who], rows=rows,
                            now=NOW, **kwargs)


def counts(session) -> tuple[int, int, int]:
    """Cases, audit events and deadlines in the database."""
    return tuple(session.exec(select(func.count()).select_from(table)).one()
                 for table in (Case, AuditEvent, Deadline))


def references(session) -> list[str]:
    return sorted(session.exec(select(Case.police_reference)).all())


# --- good rows --------------------------------------------------------------------------------


def test_the_example_file_creates_a_case_for_every_row(session, registry, users):
    report = run_import(session, registry, users, EXAMPLE.read_bytes())
    session.commit()
    assert report.ok
    assert [(c.row, c.police_reference) for c in report.created] == [
        (2, "SYN/26/0001"), (3, "SYN/26/0002"), (4, "SYN/26/0003"), (5, "SYN/26/0004"),
        (6, "SYN/26/0005")]
    assert report.summary() == ("Created 5 cases; 0 rows skipped as duplicates; "
                                "0 rows rejected.")
    second = session.exec(select(Case).where(Case.police_reference == "SYN/26/0002")).one()
    assert second.offence_description == "Criminal damage to a bus shelter, with a friend"
    assert second.bail_date == date(2026, 3, 20)
    assert (second.state, second.victim_state) == ("referred", "awaiting_contact")
    third = session.exec(select(Case).where(Case.police_reference == "SYN/26/0003")).one()
    assert third.looked_after is True and third.victim_state == "not_applicable"
    # Each case is created as the referral form would create it: an audit event and deadlines.
    events = session.exec(select(AuditEvent).where(AuditEvent.case_id == second.id)).all()
    assert [(e.trigger, e.actor) for e in events] == [("create", "police")]
    assert counts(session)[2] > 0


def test_headings_may_be_labels_and_choices_may_be_written_as_their_labels(
        session, registry, users):
    text = ("\ufeffPolice reference,Child's first name,Child's last name,DATE_OF_BIRTH,Sex,"
            "Ethnicity,Looked-after child,Date of the offence,Offence,Offence category,"
            "Gravity score,admission,previous formal outcomes,referral_date,has_victim\r\n"
            "LBL/1,Sample,Person,2011-06-15,Female,w1,No,2026-02-20,Theft,"
            "Theft and handling stolen goods,2,TRUE,0,2026-03-02,false\r\n"
            ",,,,,,,,,,,,,,\r\n")
    report = run_import(session, registry, users, text)
    assert report.ok and report.blank_rows == 1
    case = session.get(Case, report.created[0].case_id)
    assert (case.sex, case.ethnicity, case.offence_category, case.admission) == (
        "female", "W1", "theft_and_handling", True)


def test_rows_may_be_given_as_dictionaries(session, registry, users):
    report = run_import(session, registry, users, [referral(police_reference="D/1"),
                                                   referral(police_reference="D/2")])
    assert [(c.row, c.police_reference) for c in report.created] == [(2, "D/1"), (3, "D/2")]


# --- bad rows ---------------------------------------------------------------------------------


def test_each_bad_row_is_listed_with_its_reasons_and_the_good_rows_are_created(
        session, registry, users):
    text = csv_text(
        referral(police_reference="GOOD/1"),
        referral(police_reference="BAD/2", gravity_score=7, date_of_birth="15/06/2011"),
        referral(police_reference="BAD/3", date_of_birth="2016-06-15"),  # 9 at the offence
        referral(police_reference="BAD/4", given_name="", looked_after="maybe"),
        referral(police_reference="BAD/5", sex="F"),
        referral(police_reference="BAD/6", offence_date="2026-03-10"),
        referral(police_reference="", family_name="Nobody"),
        referral(police_reference="GOOD/8"),
    )
    report = run_import(session, registry, users, text)
    session.commit()
    assert [c.police_reference for c in report.created] == ["GOOD/1", "GOOD/8"]
    rejected = {r.row: r for r in report.rejected}
    assert sorted(rejected) == [3, 4, 5, 6, 7, 8]
    assert rejected[3].police_reference == "BAD/2"
    assert rejected[3].reasons == (
        "Date of birth must be a real date, written as year-month-day, for example 2026-03-27.",
        "Gravity score must be between 1 and 5.")
    assert rejected[4].reasons == (
        "The child was 9 on the date of the offence; out-of-court disposals are for children "
        "aged 10 to 17. Check the date of birth and the offence date.",)
    assert rejected[5].reasons == ("Enter child's first name.",
                                   "Looked-after child: answer yes or no.")
    assert rejected[6].reasons == (
        "Sex: 'F' is not one of the allowed values (female, male, not_known).",)
    assert "is after the referral date" in rejected[7].reasons[0]
    assert rejected[7].reasons[1] == (
        "Date of the offence (10 March 2026) is in the future. Enter the date it happened, on or "
        "before today (02 March 2026).")
    assert rejected[8].reasons == ("Enter police reference.",)
    assert not report.ok
    assert references(session) == ["GOOD/1", "GOOD/8"]


def complete_cases(session) -> dict[str, tuple[int, int, int, int]]:
    """Each case's audit events, search keys, figures' rows and deadlines."""
    session.expire_all()
    cases = session.exec(select(Case.id, Case.police_reference)).all()

    def of(table, column="case_id"):
        return dict(session.exec(select(getattr(table, column), func.count())
                                 .group_by(getattr(table, column))).all())

    events, keys, facts, deadlines = (of(AuditEvent), of(CaseSearchKey), of(CaseFacts),
                                      of(Deadline))
    return {ref: (events.get(i, 0), keys.get(i, 0), facts.get(i, 0), deadlines.get(i, 0))
            for i, ref in cases}


def test_a_batch_that_fails_stops_the_import_whole_batches_kept_and_a_rerun_finishes_it(
        session, registry, users, monkeypatch):
    """The second batch fails after its cases and audit events are written: its transaction
    takes them back, the first batch stays, and importing the file again creates just the
    rest: no case twice, none half-written."""
    real = new_cases.add_new_cases_facts

    def failing(session, registry, case_ids):
        if len(case_ids) == 2 and session.get(Case, case_ids[0]).police_reference == "HALF/3":
            raise DataError("INSERT INTO case_facts ...", {}, Exception("disk I/O error"))
        return real(session, registry, case_ids)

    monkeypatch.setattr(new_cases, "add_new_cases_facts", failing)
    text = csv_text(*(referral(police_reference=f"HALF/{n}") for n in range(1, 6)))
    with pytest.raises(ImportInterrupted) as stopped:
        run_import(session, registry, users, text, batch_rows=2)
    assert stopped.value.message == (
        "The import stopped at row 4: disk I/O error. The 2 cases created from the rows before "
        "it are kept, each complete; nothing from row 4 on was written. Import the same file "
        "again to finish: the rows already imported are skipped as duplicates.")
    assert [c.police_reference for c in stopped.value.report.created] == ["HALF/1", "HALF/2"]
    written = complete_cases(session)
    assert sorted(written) == ["HALF/1", "HALF/2"]
    assert all(events == 1 and keys > 0 and facts == 1 and deadlines > 0
               for events, keys, facts, deadlines in written.values())

    monkeypatch.setattr(new_cases, "add_new_cases_facts", real)
    again = run_import(session, registry, users, text, batch_rows=2)
    assert [c.police_reference for c in again.created] == ["HALF/3", "HALF/4", "HALF/5"]
    assert [d.police_reference for d in again.duplicates] == ["HALF/1", "HALF/2"]
    written = complete_cases(session)
    assert sorted(written) == [f"HALF/{n}" for n in range(1, 6)]
    assert len({counts for counts in written.values()}) == 1  # every case alike
    assert verify_trail(session)[2] == []
    assert facts_differences(session, registry) == []


def test_an_imported_case_is_written_exactly_as_the_referral_form_writes_one(
        session, registry, users):
    """The batch writer and `create_case` write the same rows: the same state, audit event
    (hash and all), deadlines, figures' row and search keys."""
    Walker(session, registry, users).create(**referral(police_reference="SAME/FORM"))
    session.commit()
    run_import(session, registry, users, [referral(police_reference="SAME/FILE")])

    def written(reference: str) -> dict:
        case = session.exec(select(Case).where(Case.police_reference == reference)).one()
        event = session.exec(select(AuditEvent).where(AuditEvent.case_id == case.id)).one()
        rows = {
            "case": {k: v for k, v in case.model_dump().items()
                     if k not in ("id", "police_reference", "audit_head")},
            "event": {k: v for k, v in event.model_dump().items()
                      if k not in ("id", "case_id", "hash", "data", "data_digest")},
            # The digest differs with the data (another police reference); each is its own.
            "digest": event.data_digest == content_digest(event.data, event.reason),
            "referral": {k: v for k, v in event.data["referral"].items()
                         if k != "police_reference"},
            "initial": event.data["initial"],
            "head": case.audit_head == event.hash,
            "deadlines": sorted((d.name, d.started_on, d.due_on) for d in session.exec(
                select(Deadline).where(Deadline.case_id == case.id))),
            "facts": session.exec(select(func.count()).select_from(CaseFacts)
                                  .where(CaseFacts.case_id == case.id)).one(),
            "keys": len(session.exec(select(CaseSearchKey.key)
                                     .where(CaseSearchKey.case_id == case.id)).all()),
        }
        return rows

    form, file = written("SAME/FORM"), written("SAME/FILE")
    assert file == form
    assert verify_trail(session)[2] == []
    assert facts_differences(session, registry) == []


def test_too_long_values_are_rejected_the_same_way_on_every_database(session, registry, users):
    report = run_import(session, registry, users, csv_text(
        referral(police_reference="X" * 65), referral(police_reference="LONG/2")))
    session.commit()
    assert report.rejected[0].reasons == (
        "Police reference is 65 characters long; the most allowed is 64.",)
    assert references(session) == ["LONG/2"]


def test_a_value_in_a_column_without_a_heading_rejects_the_row(session, registry, users):
    text = csv_text(referral(police_reference="EXTRA/1"), referral(police_reference="EXTRA/2"))
    lines = text.splitlines()
    text = "\r\n".join([lines[0] + ",", lines[1] + ",", lines[2] + ",surprise"]) + "\r\n"
    report = run_import(session, registry, users, text)
    assert [c.police_reference for c in report.created] == ["EXTRA/1"]
    assert report.rejected[0].reasons == (
        "Column Q has 'surprise' but no heading in row 1; remove it or name the column.",)


# --- duplicates -------------------------------------------------------------------------------


def test_a_reference_already_in_the_database_or_repeated_in_the_file_is_skipped(
        session, registry, users):
    existing = Walker(session, registry, users).create(police_reference="DUP/1",
                                                       given_name="Original")
    report = run_import(session, registry, users, csv_text(
        referral(police_reference="DUP/1", given_name="Changed"),
        referral(police_reference="NEW/2"),
        referral(police_reference=" NEW/2 ", given_name="Again"),
    ))
    session.commit()
    assert [c.police_reference for c in report.created] == ["NEW/2"]
    assert [(d.row, d.reason) for d in report.duplicates] == [
        (2, f"Police reference DUP/1 already has a case (case {existing.id})."),
        (4, "Police reference NEW/2 is the same as in row 3 of this file."),
    ]
    assert report.ok  # duplicates are skipped, not rejected
    session.refresh(existing)
    assert existing.given_name == "Original"
    assert references(session) == ["DUP/1", "NEW/2"]


def test_the_first_row_with_a_reference_counts_even_when_it_is_rejected(session, registry,
                                                                       users):
    report = run_import(session, registry, users, csv_text(
        referral(police_reference="TWICE/1", gravity_score=9),
        referral(police_reference="TWICE/1"),
    ))
    assert [r.row for r in report.rejected] == [2]
    assert [(d.row, d.first_row) for d in report.duplicates] == [(3, 2)]
    assert not report.created


def test_importing_the_same_file_again_creates_nothing_new(session, registry, users):
    data = EXAMPLE.read_bytes()
    first = run_import(session, registry, users, data)
    session.commit()
    before = counts(session)
    again = run_import(session, registry, users, data, who="case_manager")
    session.commit()
    assert not again.created and again.ok
    assert [(d.row, d.case_id) for d in again.duplicates] == [
        (c.row, c.case_id) for c in first.created]
    assert counts(session) == before


def test_a_corrected_file_imports_only_the_rows_that_were_rejected(session, registry, users):
    rows = [referral(police_reference="FIX/1"), referral(police_reference="FIX/2",
                                                         gravity_score=0)]
    assert len(run_import(session, registry, users, csv_text(*rows)).rejected) == 1
    session.commit()
    rows[1]["gravity_score"] = 2
    report = run_import(session, registry, users, csv_text(*rows))
    session.commit()
    assert [c.police_reference for c in report.created] == ["FIX/2"]
    assert [d.police_reference for d in report.duplicates] == ["FIX/1"]
    assert references(session) == ["FIX/1", "FIX/2"]


def test_two_imports_of_the_same_file_at_once_create_each_case_once(engine, registry, users):
    """Two people upload the same file at the same moment: every reference becomes one case;
    whatever one import created, the other reports as a duplicate."""
    text = csv_text(*(referral(police_reference=f"RACE/{n:02d}") for n in range(20)))
    barrier = threading.Barrier(2)

    def contend(who: str):
        with Session(engine) as session:
            actor = session.exec(select(User).where(User.username == who)).one()
        barrier.wait(timeout=30)
        # Batches of 3: the two imports' batches interleave.
        return import_referrals(engine, registry=registry, actor=actor, rows=text, now=NOW,
                                batch_rows=3)

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(contend, ["police", "case_manager"]))
    assert all(r.ok and r.rows == 20 for r in reports)
    created = [c.police_reference for r in reports for c in r.created]
    assert sorted(created) == [f"RACE/{n:02d}" for n in range(20)]
    assert sum(len(r.duplicates) for r in reports) == 20
    with Session(engine) as session:
        assert references(session) == sorted(created)


# --- files that cannot be imported at all -----------------------------------------------------


def test_unknown_and_missing_columns_refuse_the_whole_file(session, registry, users):
    columns = [c for c in COLUMNS if c not in ("gravity_score", "sex")] + ["gravity", "notes"]
    with pytest.raises(ImportRefused) as refused:
        run_import(session, registry, users, csv_text(referral(police_reference="HDR/1"),
                                                      columns=columns))
    assert refused.value.message == ("The header row (row 1) does not match the referral "
                                     "columns, so nothing was imported.")
    assert refused.value.reasons[:4] == [
        "Column O ('gravity') is not a referral field. Did you mean gravity_score?",
        "Column P ('notes') is not a referral field.",
        "The required column sex (Sex) is missing.",
        "The required column gravity_score (Gravity score) is missing.",
    ]
    assert refused.value.reasons[4].startswith(
        "Row 1 must name these columns: police_reference, given_name, family_name,")
    assert refused.value.reasons[4].endswith(
        "(bail_date and victim_opted_out may be left out).")
    session.rollback()
    assert counts(session) == (0, 0, 0)


def test_a_column_named_twice_refuses_the_file(session, registry, users):
    text = csv_text(referral(), columns=COLUMNS + ["given_name"])
    with pytest.raises(ImportRefused) as refused:
        run_import(session, registry, users, text)
    assert refused.value.reasons[0] == "Columns B and Q are both given_name; keep one."


def test_optional_columns_may_be_left_out(session, registry, users):
    columns = [c for c in COLUMNS if c not in ("bail_date", "victim_opted_out")]
    report = run_import(session, registry, users, csv_text(referral(), columns=columns))
    assert len(report.created) == 1


@pytest.mark.parametrize(("data", "message"), [
    ("Société,x\n".encode("latin-1"), "This file is not UTF-8 text: line 1 has characters in "
                                      "another encoding"),
    (b"PK\x03\x04rest-of-a-zip", "This is a spreadsheet workbook (such as .xlsx), not a CSV"),
    ("police_reference,given_name\n".encode("utf-16"), "saved as UTF-16"),
    (b"", "The file is empty"),
    (csv_text() + ",,,\r\n", "There are no referrals in this file"),
    ("police_reference;given_name;family_name\nA;B;C\n", "separated by semicolons or tabs"),
])
def test_a_file_that_is_not_utf8_csv_gets_a_clear_message(session, registry, users, data,
                                                          message):
    with pytest.raises(ImportRefused) as refused:
        run_import(session, registry, users, data)
    assert message in refused.value.message
    assert "CSV UTF-8 (comma delimited)" in refused.value.message or "empty" in message \
        or "no referrals" in message


def test_only_police_and_case_managers_may_import(session, registry, users):
    with pytest.raises(RoleNotAllowed) as refused:
        run_import(session, registry, users, EXAMPLE.read_bytes(), who="board")
    assert str(refused.value) == ("Only a police or a case manager can import referrals; "
                                  "board is not.")
    assert counts(session) == (0, 0, 0)


# --- speed and progress -----------------------------------------------------------------------


def test_statements_grow_with_batches_not_rows_and_progress_is_reported(engine, session,
                                                                        registry, users):
    """Speed without a stopwatch (shared test machines vary): each batch of rows costs a fixed
    number of statements, so 1,200 rows (three batches) cost about three times what 10 rows
    (one batch) cost, not 120 times. bench/imports.py measures the speed itself."""
    statements = []

    def count(*_args):
        statements.append(1)

    def run(n: int, prefix: str) -> tuple[int, list]:
        text = csv_text(*(referral(police_reference=f"{prefix}/{i:04d}") for i in range(n)))
        statements.clear()
        seen = []
        report = run_import(session, registry, users, text,
                            progress=lambda done, total: seen.append((done, total)))
        assert len(report.created) == n
        return len(statements), seen

    event.listen(engine, "before_cursor_execute", count)
    try:
        (small, _), (big, seen) = run(10, "SMALL"), run(1200, "BIG")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert seen == [(500, 1200), (1000, 1200), (1200, 1200)]
    assert big <= 4 * small


def test_the_column_guide_and_template_follow_the_workflow(registry):
    definition = registry.latest("oocd")
    guide = {c.name: c for c in column_guide(definition)}
    assert guide["gravity_score"].what.endswith("A whole number from 1 to 5.")
    assert guide["bail_date"].required is False
    assert template_csv(definition).split("\r\n")[0].split(",") == COLUMNS[:14] + [
        "bail_date", "has_victim", "victim_opted_out"]


# --- the command ------------------------------------------------------------------------------


@pytest.fixture
def cli_env(engine, monkeypatch):
    monkeypatch.setenv("OOC_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    return engine


def ooc(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def test_the_command_imports_a_file_and_exits_0(cli_env, session, users):
    result = ooc("import", "referrals", str(EXAMPLE), "--actor", "police")
    assert result.exit_code == 0, result.output
    assert f"Read 5 rows from {EXAMPLE}." in result.stdout
    assert "Created 5 cases." in result.stdout
    assert "Rejected 0 rows." in result.stdout
    assert len(references(session)) == 5

    again = ooc("import", "referrals", str(EXAMPLE), "--actor", "case_manager")
    assert again.exit_code == 0
    assert "Created 0 cases." in again.stdout
    assert "Skipped 5 rows as duplicates (no second case):" in again.stdout
    assert "row 2: Police reference SYN/26/0001 already has a case (case 1)." in again.stdout
    assert len(references(session)) == 5


def test_rejected_rows_are_listed_and_the_command_exits_1(cli_env, session, users, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(csv_text(referral(police_reference="CLI/1"),
                             referral(police_reference="CLI/2", gravity_score=6),
                             referral(police_reference="CLI/1")))
    result = ooc("import", "referrals", str(path), "--actor", "police")
    assert result.exit_code == 1
    assert "Created 1 case." in result.stdout
    assert "row 4: Police reference CLI/1 is the same as in row 2 of this file." in result.stdout
    assert "Rejected 1 row:\n  row 3 (CLI/2):\n    - Gravity score must be between 1 and 5.\n" \
        in result.stdout
    assert "The valid rows were imported." in result.stdout
    assert references(session) == ["CLI/1"]


def test_a_dry_run_reports_but_writes_nothing(cli_env, session, users):
    result = ooc("import", "referrals", str(EXAMPLE), "--actor", "police", "--dry-run")
    assert result.exit_code == 0
    assert "Would create 5 cases." in result.stdout
    assert "Dry run: nothing was written." in result.stdout
    assert references(session) == []


def test_a_big_file_shows_progress_in_plain_lines_without_a_terminal(cli_env, session, users,
                                                                      tmp_path):
    """In a log or a scheduled job a progress bar prints nothing until the end: plain lines
    are printed instead, as the import goes."""
    path = tmp_path / "big.csv"
    path.write_text(csv_text(*(referral(police_reference=f"BIG/{n}") for n in range(1200))))
    result = ooc("import", "referrals", str(path), "--actor", "police")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "imported 500 of 1,200 rows (41%)",
        "imported 1,000 of 1,200 rows (83%)",
        "imported 1,200 of 1,200 rows (100%)"]
    assert "Created 1200 cases." in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--actor", "board"], "Only a police or a case manager can import referrals"),
    (["--actor", "nobody"], "There is no user 'nobody'."),
])
def test_the_command_refuses_the_wrong_actor(cli_env, session, users, args, message):
    result = ooc("import", "referrals", str(EXAMPLE), *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert references(session) == []


def test_a_bad_header_or_a_missing_file_is_a_clear_error(cli_env, session, users, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("ref,name\nA,B\n")
    result = ooc("import", "referrals", str(path), "--actor", "police")
    assert result.exit_code == 1
    assert "Error: The header row (row 1) does not match the referral columns" in result.stderr
    assert "Column A ('ref') is not a referral field." in result.stderr
    assert "15 required columns are missing: police_reference, given_name, family_name," \
        in result.stderr
    missing = ooc("import", "referrals", str(tmp_path / "nope.csv"), "--actor", "police")
    assert missing.exit_code == 1
    assert f"there is no file {tmp_path / 'nope.csv'}" in missing.stderr


def test_the_help_states_the_rules_and_exit_codes():
    result = ooc("import", "referrals", "--help")
    text = " ".join(result.output.split())
    assert "valid rows are created even when other rows are rejected" in text
    assert "importing the same file again creates nothing new" in text
    assert "Exit status: 0 when no row was rejected; 1 when any row was rejected" in text
    columns = ooc("import", "columns")
    assert columns.exit_code == 0
    assert "gravity_score" in columns.output and "A whole number from 1 to 5." in columns.output
