"""Every CSV and XLSX file ooc writes goes through here, so that an export is data and never a
formula (CSV or formula injection).

Text typed by people (a plan action, an owner, a status note) lands in cells that a spreadsheet
opens. A cell that begins with `=`, `+`, `-` or `@`, or with a tab, carriage return or line feed,
may be read as a formula: `=HYPERLINK("http://...","x")` becomes a live link that can send the
sheet's contents away. OWASP's guidance (CSV Injection, and ASVS 1.2.10) is to put a single
quote before such a text cell, which spreadsheets read as "this is text" and do not show. In
XLSX the cell is written as a text cell instead (never a formula) and marked with the quote
prefix style, so that editing it in Excel keeps it text. Only text is changed: numbers stay
numbers (a negative number is a number, not a formula), and dates are real date cells in XLSX.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

# OWASP's list: the formula starters, tab and carriage return; line feed added to it in 2025.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
QUOTE = "'"
DATE_FORMAT = "yyyy-mm-dd"  # the form `ooc plan import` and the CSV files use
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def safe_text(text: str) -> str:
    """Text for a CSV cell: a leading single quote if a spreadsheet could take it as a formula."""
    return QUOTE + text if is_formula_like(text) else text


def unquote(text: str) -> str:
    """The text as typed, from a cell `safe_text` wrote (for reading our own exports back)."""
    if text.startswith(QUOTE) and is_formula_like(text[1:]):
        return text[1:]
    return text


def csv_value(value: Any) -> Any:
    """A value for a CSV cell: None as empty, dates in ISO form, text made safe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return value
    return safe_text(str(value))


def write_csv_rows(out: IO[str], rows: Iterable[Sequence[Any]], **options: Any) -> None:
    """Write rows of values to a text stream as CSV, every cell through `csv_value`."""
    writer = csv.writer(out, **options)
    for row in rows:
        writer.writerow([csv_value(v) for v in row])


def csv_text(rows: Iterable[Sequence[Any]], **options: Any) -> str:
    out = io.StringIO()
    write_csv_rows(out, rows, **options)
    return out.getvalue()


# --- XLSX ------------------------------------------------------------------------------------


def _illegal_removed(text: str) -> str:
    """XLSX cannot hold most control characters; openpyxl refuses them rather than write."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", text)


def xlsx_cell(sheet: Any, value: Any) -> Any:
    """An openpyxl cell of `sheet` holding `value`: text as text, never a formula; numbers as
    numbers; dates as dates shown year-month-day."""
    from openpyxl.cell.cell import Cell

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Cell(sheet, value=value)
    if isinstance(value, datetime):
        cell = Cell(sheet, value=value.replace(tzinfo=None))  # Excel has no time zones
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = Cell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    if value is None:
        return Cell(sheet, value=None)
    if isinstance(value, bool):
        value = "yes" if value else "no"
    text = _illegal_removed(str(value))
    cell = Cell(sheet, value=text)
    cell.data_type = "s"  # openpyxl makes "=..." a formula and "#N/A" an error; neither here
    if is_formula_like(text):
        cell.quotePrefix = True  # Excel shows it as text and keeps it text when edited
    return cell


def append_row(sheet: Any, values: Iterable[Any]) -> None:
    """`sheet.append`, with every cell made by `xlsx_cell`."""
    sheet.append([xlsx_cell(sheet, v) for v in values])


def new_workbook() -> Any:
    from openpyxl import Workbook

    return Workbook()


def xlsx_bytes(book: Any) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_table(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """One table to a .xlsx file (one sheet) or else a CSV file (UTF-8 with a byte order mark,
    so that Excel reads it as UTF-8)."""
    if path.suffix.lower() == ".xlsx":
        book = new_workbook()
        append_row(book.active, header)
        for row in rows:
            append_row(book.active, row)
        path.write_bytes(xlsx_bytes(book))
    else:
        with path.open("w", newline="", encoding="utf-8-sig") as out:
            write_csv_rows(out, [header, *rows])
