"""Importing police referrals from a CSV file: one case per row, never two for one reference.

The file
--------
UTF-8 text (a byte-order mark is fine; Excel's "CSV UTF-8 (comma delimited)"), commas between
cells, one referral per row. The first row names the columns: the `[referral]` fields of the
workflow, by field name (``police_reference``) or by label (``Police reference``), in any order
and any letter case. For the reference workflow (`workflows/oocd.v1.toml`) they are:

========================  ========  =====================================================
column                    required  what to enter
========================  ========  =====================================================
police_reference          yes       the police reference, unique per case
given_name, family_name   yes       the child's first and last name
date_of_birth             yes       a date, written year-month-day: 2011-06-15
sex                       yes       female, male or not_known
ethnicity                 yes       an ONS 2021 code, for example W1 (workflows/ethnicity.toml)
looked_after              yes       yes or no (true/false also accepted)
offence_date              yes       a date, year-month-day
offence_description       yes       text
offence_category          yes       one of the categories, for example theft_and_handling
gravity_score             yes       a whole number from 1 to 5
admission                 yes       yes or no
previous_formal_outcomes  yes       a whole number from 0 to 99
referral_date             yes       a date, year-month-day
bail_date                 no        a date, or blank when the child is not on bail
has_victim                yes       yes or no
victim_opted_out          no        yes or no (the victim asked not to be contacted)
========================  ========  =====================================================

`column_guide` gives the same table for any workflow, from its definition. Choice cells may be
written as the value or the label, in any letter case ("Female", "female").

The rules
---------
- The header is checked first. An unknown column, a column named twice or a missing required
  column refuses the whole file (`ImportRefused`, listing each problem) before any row is read,
  so nothing is written. So does a file that is not UTF-8 CSV text.
- Every row is then checked exactly as `ooc.service.create_case` checks a referral from the
  form or the API: types, required cells and the referral guards (aged 10 to 17 at the offence,
  offence not after the referral), plus the lengths the database allows (a police reference of
  at most 64 characters, for example), so that a row too long for PostgreSQL is rejected with
  the same reason on SQLite. Rows are numbered as a spreadsheet numbers them: the header is
  row 1. Every row is checked before anything is written (`check_referrals` only reads).
- The rows that passed are then written in batches (`ooc.import_batches`): each batch is a
  short transaction of its own, so a big import never holds the database for long and the
  service stays usable meanwhile; a case and everything written with it (audit event,
  deadlines, figures' row, search keys) are in the same batch, so no case is ever
  half-written. A rejected row is never written; the command line imports the other rows and
  lists it, the web upload refuses a file with any rejected row (writing nothing).
- If a batch cannot be written (`ImportInterrupted`), the batches before it stay; importing the
  same file again creates just the rest.
- A row whose police reference already has a case, or repeats the reference of an earlier row in
  the file, is skipped as a duplicate, never a second case (the first row with a reference is the
  one that counts). So importing the same file again creates nothing new, and a file whose
  rejected rows have been corrected can simply be imported again.
  Two imports of the same file at the same moment still create each case once: whatever one
  created, the other reports as a duplicate.
- Rows whose cells are all blank (spreadsheets often export some at the end) are ignored; a file
  with no other rows is refused.

Unlike the other services, `import_referrals` commits, batch by batch, through sessions of its
own: that is what keeps a 50,000-row import from locking everyone else out.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from sqlalchemy import Engine
from sqlmodel import Session

from ooc import service
from ooc.calendar import ENGLAND_AND_WALES, WorkingDayCalendar
from ooc.definitions import Definition, FormField
from ooc.errors import GuardsFailed, InvalidForm, OocError, RoleNotAllowed
from ooc.import_batches import (
    BATCH_ROWS,
    BatchFailed,
    PendingRow,
    Written,
    existing_cases,
    write_in_batches,
)
from ooc.machine import WorkflowRegistry
from ooc.models import Case, User
from ooc.spreadsheet import csv_text

SAVE_AS = ("In your spreadsheet program choose Save As and the format 'CSV UTF-8 (comma "
           "delimited)', then import that file.")


class ImportRefused(OocError):
    """The file as a whole cannot be imported (not CSV text, or a wrong header row); nothing
    was written."""


@dataclass(frozen=True)
class Column:
    """One column a referral file may have, for the help on the page and the command line."""

    name: str
    label: str
    required: bool
    what: str


@dataclass(frozen=True)
class CreatedRow:
    row: int
    police_reference: str
    case_id: int


@dataclass(frozen=True)
class DuplicateRow:
    """A row not imported because its police reference already has a case, or repeats an
    earlier row of the same file."""

    row: int
    police_reference: str
    case_id: int | None = None
    first_row: int | None = None

    @property
    def reason(self) -> str:
        if self.case_id is not None:
            return (f"Police reference {self.police_reference} already has a case "
                    f"(case {self.case_id}).")
        return (f"Police reference {self.police_reference} is the same as in row "
                f"{self.first_row} of this file.")


@dataclass(frozen=True)
class RejectedRow:
    row: int
    police_reference: str
    reasons: tuple[str, ...]


@dataclass
class ImportReport:
    created: list[CreatedRow] = field(default_factory=list)
    duplicates: list[DuplicateRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    # Rows with every cell blank, which are ignored.
    blank_rows: int = 0

    @property
    def rows(self) -> int:
        """Rows read, not counting the header and blank rows."""
        return len(self.created) + len(self.duplicates) + len(self.rejected)

    @property
    def ok(self) -> bool:
        return not self.rejected

    def summary(self, *, dry_run: bool = False) -> str:
        created = _count(len(self.created), "case")
        return (f"{'Would create' if dry_run else 'Created'} {created}; "
                f"{_count(len(self.duplicates), 'row')} skipped as duplicates; "
                f"{_count(len(self.rejected), 'row')} rejected.")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# --- what the columns are ---------------------------------------------------------------------


def _what(f: FormField) -> str:
    if f.type == "date":
        return "A date written year-month-day, for example 2011-06-15."
    if f.type == "bool":
        return "yes or no (true or false also accepted)."
    if f.type == "int":
        if f.minimum is not None and f.maximum is not None:
            return f"A whole number from {f.minimum} to {f.maximum}."
        return "A whole number."
    if f.type == "choice":
        return f"One of: {', '.join(o.value for o in f.options)}."
    return "Text."


def column_guide(definition: Definition) -> list[Column]:
    """The columns of a referral file for `definition`, in the order of its referral form."""
    return [Column(f.name, f.label, f.required, (f.hint + " " if f.hint else "") + _what(f))
            for f in definition.referral.fields]


def template_csv(definition: Definition) -> str:
    """A file with just the header row, to fill in."""
    return csv_text([[f.name for f in definition.referral.fields]], lineterminator="\r\n")


# --- reading the file -------------------------------------------------------------------------


def decode_csv(data: bytes) -> str:
    """The text of an uploaded or opened file, or ImportRefused saying why it is not CSV."""
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportRefused("This is a spreadsheet workbook (such as .xlsx), not a CSV file. "
                            + SAVE_AS)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportRefused("This file is saved as UTF-16 ('Unicode text'), not as UTF-8 CSV. "
                            + SAVE_AS)
    if b"\x00" in data:
        raise ImportRefused("This is not a CSV file: it contains binary data. " + SAVE_AS)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ImportRefused(
            f"This file is not UTF-8 text: line {line} has characters in another encoding "
            "(often a name with an accent, saved by Excel as plain 'CSV'). " + SAVE_AS) from None


def _column_letter(index: int) -> str:
    """A spreadsheet's name for the column at 0-based `index`: A, B, ... Z, AA, ..."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _normal(heading: str) -> str:
    return re.sub(r"[\s\-]+", "_", heading.strip().lower())


@dataclass
class _Layout:
    """Which referral field each column of the file holds (None: a column with no heading)."""

    fields: list[str | None]


def _layout(headings: list[str], definition: Definition) -> _Layout:
    """Match the header row to the referral fields, or refuse the file listing every problem."""
    fields = definition.referral.fields
    names = {}
    for f in fields:
        names[_normal(f.name)] = f.name
        names.setdefault(_normal(f.label), f.name)
    columns: list[str | None] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for index, heading in enumerate(headings):
        letter = _column_letter(index)
        if not heading.strip():
            columns.append(None)
            continue
        name = names.get(_normal(heading))
        if name is None:
            if len(headings) == 1 and (";" in heading or "\t" in heading):
                raise ImportRefused(
                    "The cells of this file are separated by semicolons or tabs; they must be "
                    "separated by commas. " + SAVE_AS)
            close = difflib.get_close_matches(_normal(heading), [f.name for f in fields], n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            problems.append(f"Column {letter} ('{heading.strip()}') is not a referral "
                            f"field.{hint}")
        elif name in seen:
            problems.append(f"Columns {seen[name]} and {letter} are both {name}; keep one.")
        else:
            seen[name] = letter
        columns.append(name)
    missing = [f for f in fields if f.required and f.name not in seen]
    if len(missing) > 3:
        problems.append(f"{len(missing)} required columns are missing: "
                        f"{', '.join(f.name for f in missing)}.")
    else:
        problems.extend(f"The required column {f.name} ({f.label}) is missing." for f in missing)
    if problems:
        expected = ", ".join(f.name for f in fields)
        raise ImportRefused(
            "The header row (row 1) does not match the referral columns, so nothing was "
            "imported.",
            [*problems, f"Row 1 must name these columns: {expected}{_optional_note(fields)}."])
    return _Layout(columns)


def _optional_note(fields: tuple[FormField, ...]) -> str:
    optional = [f.name for f in fields if not f.required]
    if not optional:
        return ""
    return f" ({' and '.join(optional)} may be left out)"


def _csv_records(text: str) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    row = 1
    try:
        for record in reader:
            yield record
            row += 1
    except csv.Error as e:
        raise ImportRefused(f"Row {row} cannot be read as CSV ({e}), so nothing was "
                            "imported. " + SAVE_AS) from None


Source = str | bytes | IO[str] | IO[bytes] | Iterable[Mapping[str, Any]]


def _read(rows: Source) -> tuple[list[str], list[list[str]]]:
    """The header and the records, from CSV text, bytes, an open file or dictionaries."""
    if hasattr(rows, "read"):
        try:
            rows = rows.read()
        except UnicodeDecodeError:
            raise ImportRefused("This file is not UTF-8 text. " + SAVE_AS) from None
    if isinstance(rows, bytes):
        rows = decode_csv(rows)
    if isinstance(rows, str):
        text = rows.removeprefix("\ufeff")
        records = list(_csv_records(text))
        if not records or not any(cell.strip() for cell in records[0]):
            raise ImportRefused("The file is empty, or its first row is blank. Row 1 must name "
                                "the columns, for example police_reference,given_name,...")
        return records[0], records[1:]
    dicts = [dict(r) for r in rows]
    header: list[str] = []
    for d in dicts:
        header.extend(k for k in d if k not in header)
    if not header:
        raise ImportRefused("There are no rows to import.")
    return header, [["" if d.get(k) is None else str(d.get(k)) for k in header] for d in dicts]


# --- importing --------------------------------------------------------------------------------


def _choice_maps(definition: Definition) -> dict[str, dict[str, str]]:
    maps = {}
    for f in definition.referral.fields:
        if f.type == "choice":
            lookup = {}
            for o in f.options:
                lookup.setdefault(_normal(o.label), o.value)
            for o in f.options:
                lookup[_normal(o.value)] = o.value
            maps[f.name] = lookup
    return maps


def _max_lengths() -> dict[str, int]:
    return {c.name: c.type.length for c in Case.__table__.columns
            if getattr(c.type, "length", None)}


def _reasons(error: OocError, fields: dict[str, FormField],
             values: dict[str, str]) -> tuple[str, ...]:
    if isinstance(error, InvalidForm):
        reasons = []
        for p in error.problems:
            f = fields.get(p.field)
            if f is not None and f.type == "choice" and values.get(p.field):
                allowed = ", ".join(o.value for o in f.options)
                reasons.append(f"{f.label}: '{values[p.field]}' is not one of the allowed "
                               f"values ({allowed}).")
            else:
                reasons.append(p.message)
        return tuple(reasons)
    if isinstance(error, GuardsFailed) and error.reasons:
        return tuple(error.reasons)
    return (error.message, *error.reasons)


@dataclass
class ImportPlan:
    """A file checked row by row, with nothing written: the rows to create, and the report of
    the rows skipped as duplicates or rejected."""

    report: ImportReport
    pending: list[PendingRow]


def check_referrals(session: Session, *, registry: WorkflowRegistry, actor: User,
                    rows: Source, now: datetime, workflow: str = "oocd") -> ImportPlan:
    """Check every row of a referral file (see the module's notes), reading but never writing.

    `rows` is CSV text, its bytes, an open file, or dictionaries keyed by column name.
    """
    definition = registry.latest(workflow)
    allowed = definition.referral.roles
    if not actor.active or not set(actor.roles) & set(allowed):
        who = " or ".join(f"a {r.replace('_', ' ')}" for r in allowed)
        raise RoleNotAllowed(f"Only {who} can import referrals; {actor.username} is not.")
    headings, records = _read(rows)
    layout = _layout(headings, definition)
    fields = {f.name: f for f in definition.referral.fields}
    choices = _choice_maps(definition)
    lengths = _max_lengths()
    width = len(layout.fields)

    # Each record as {field: stripped text}, blank cells left out, with its spreadsheet row.
    parsed: list[tuple[int, dict[str, str], list[str]]] = []
    report = ImportReport()
    for index, record in enumerate(records):
        row = index + 2
        cells = [cell.strip() for cell in record]
        if not any(cells):
            report.blank_rows += 1
            continue
        values: dict[str, str] = {}
        problems: list[str] = []
        for position, cell in enumerate(cells):
            if not cell:
                continue
            name = layout.fields[position] if position < width else None
            if name is None:
                problems.append(f"Column {_column_letter(position)} has '{cell}' but no "
                                "heading in row 1; remove it or name the column.")
            else:
                values[name] = choices.get(name, {}).get(_normal(cell), cell)
        parsed.append((row, values, problems))

    if not parsed:
        raise ImportRefused("There are no referrals in this file: it has a header row but "
                            "nothing below it. Add one row per referral under the header.")
    existing = existing_cases(session, [v.get("police_reference", "") for _, v, _ in parsed])
    first_row: dict[str, int] = {}
    pending: list[PendingRow] = []
    for row, values, problems in parsed:
        reference = values.get("police_reference", "")
        if reference and reference in existing:
            report.duplicates.append(DuplicateRow(row, reference, case_id=existing[reference]))
            continue
        if reference and reference in first_row:
            report.duplicates.append(DuplicateRow(row, reference,
                                                  first_row=first_row[reference]))
            continue
        if reference:
            first_row[reference] = row
        problems = problems + [
            f"{fields[name].label} is {len(value)} characters long; the most allowed is "
            f"{lengths[name]}." for name, value in values.items()
            if name in lengths and len(value) > lengths[name]]
        if problems:
            report.rejected.append(RejectedRow(row, reference, tuple(problems)))
            continue
        try:
            checked = service.check_referral(registry=registry, actor=actor, referral=values,
                                              now=now, workflow=workflow, session=session)
        except OocError as e:
            report.rejected.append(RejectedRow(row, reference, _reasons(e, fields, values)))
        else:
            pending.append(PendingRow(row, checked.values["police_reference"], checked))
    return ImportPlan(report, pending)


class ImportInterrupted(OocError):
    """A batch could not be written: the rows before it were imported, none after it.
    `report` says what was done."""

    def __init__(self, message: str, report: ImportReport):
        super().__init__(message)
        self.report = report


def write_plan(engine: Engine, plan: ImportPlan, *, registry: WorkflowRegistry, actor: User,
               now: datetime, calendar: WorkingDayCalendar = ENGLAND_AND_WALES,
               batch_rows: int = BATCH_ROWS,
               progress: Callable[[int, int], None] | None = None,
               on_batch: Callable[[Session, int], None] | None = None) -> ImportReport:
    """Create the cases of a checked file in short transactions (`ooc.import_batches`), and
    complete its report; ImportInterrupted if a batch fails."""
    report = plan.report
    try:
        written = write_in_batches(engine, plan.pending, registry=registry,
                                   actor=actor.username, now=now, calendar=calendar,
                                   batch_rows=batch_rows, progress=progress, on_batch=on_batch)
    except BatchFailed as stopped:
        _add_written(report, stopped.written)
        raise ImportInterrupted(stopped.message, report) from stopped
    _add_written(report, written)
    return report


def _add_written(report: ImportReport, written: list[Written]) -> None:
    for batch in written:
        report.created.extend(CreatedRow(*c) for c in batch.created)
        report.duplicates.extend(DuplicateRow(row, reference, case_id=case_id)
                                 for row, reference, case_id in batch.duplicates)
    report.duplicates.sort(key=lambda d: d.row)


def import_referrals(engine: Engine, *, registry: WorkflowRegistry, actor: User,
                     rows: Source, now: datetime, workflow: str = "oocd",
                     progress: Callable[[int, int], None] | None = None,
                     calendar: WorkingDayCalendar = ENGLAND_AND_WALES,
                     batch_rows: int = BATCH_ROWS) -> ImportReport:
    """Check every row of a referral file, then create a case for each valid, new row in short
    transactions of their own (committed here, batch by batch: see the module's notes).

    `progress(done, total)` is called after each batch with the rows to create written so far.
    """
    with Session(engine) as session:
        plan = check_referrals(session, registry=registry, actor=actor, rows=rows, now=now,
                               workflow=workflow)
    return write_plan(engine, plan, registry=registry, actor=actor, now=now,
                      calendar=calendar, batch_rows=batch_rows, progress=progress)
