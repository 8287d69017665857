"""SQL building blocks that SQLite and PostgreSQL spell differently, as SQLAlchemy constructs.

Each compiles to the database's own functions, so the figures are worked out by the database
whichever one holds the cases.
"""

from __future__ import annotations

from sqlalchemy import Date, Integer, Select, String, Subquery
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session

# United Kingdom summer time (since 1996): from 01:00 UTC on the last Sunday of March to 01:00
# UTC on the last Sunday of October. SQLite has no time zones, so it is spelled out there;
# PostgreSQL uses its own zone database.
_SQLITE_SUMMER = (
    "(({t}) >= date(strftime('%Y', {t}) || '-03-25', 'weekday 0') || ' 01:00:00' "
    "AND ({t}) < date(strftime('%Y', {t}) || '-10-25', 'weekday 0') || ' 01:00:00')"
)


class local_date(FunctionElement):
    """The Europe/London date of a stored UTC instant."""

    type = Date()
    inherit_cache = True
    name = "local_date"


@compiles(local_date, "sqlite")
def _local_date_sqlite(element, compiler, **kw):
    t = compiler.process(element.clauses.clauses[0], **kw)
    return (f"date({t}, CASE WHEN {_SQLITE_SUMMER.format(t=t)} "
            "THEN '+1 hour' ELSE '+0 hour' END)")


@compiles(local_date, "postgresql")
def _local_date_postgresql(element, compiler, **kw):
    t = compiler.process(element.clauses.clauses[0], **kw)
    return f"CAST(({t}) AT TIME ZONE 'Europe/London' AS DATE)"


class whole_years(FunctionElement):
    """Whole years from the first date to the second (an age on a day)."""

    type = Integer()
    inherit_cache = True
    name = "whole_years"


@compiles(whole_years, "sqlite")
def _whole_years_sqlite(element, compiler, **kw):
    born, on = (compiler.process(c, **kw) for c in element.clauses.clauses)
    return (f"(CAST(strftime('%Y', {on}) AS INTEGER) - CAST(strftime('%Y', {born}) AS INTEGER)"
            f" - (strftime('%m-%d', {on}) < strftime('%m-%d', {born})))")


@compiles(whole_years, "postgresql")
def _whole_years_postgresql(element, compiler, **kw):
    born, on = (compiler.process(c, **kw) for c in element.clauses.clauses)
    return (f"(CAST(EXTRACT(YEAR FROM {on}) AS INTEGER)"
            f" - CAST(EXTRACT(YEAR FROM {born}) AS INTEGER)"
            f" - CASE WHEN to_char({on}, 'MM-DD') < to_char({born}, 'MM-DD') THEN 1 ELSE 0 END)")


class id_list(FunctionElement):
    """The non-null values of a column in a group, as one comma-separated string."""

    type = String()
    inherit_cache = True
    name = "id_list"


@compiles(id_list, "sqlite")
def _id_list_sqlite(element, compiler, **kw):
    return f"group_concat({compiler.process(element.clauses.clauses[0], **kw)}, ',')"


@compiles(id_list, "postgresql")
def _id_list_postgresql(element, compiler, **kw):
    value = compiler.process(element.clauses.clauses[0], **kw)
    return f"string_agg(CAST({value} AS TEXT), ',')"


def row_by_row(session: Session, query: Select) -> Subquery:
    """`query` as a subquery that the query around it reads row by row. SQLite would otherwise
    merge the two; there, a LIMIT of -1 (no limit) is what keeps them apart."""
    if session.get_bind().dialect.name == "sqlite":
        query = query.limit(-1)
    return query.subquery()


def parse_ids(text: str | None) -> tuple[int, ...]:
    return tuple(sorted(int(i) for i in text.split(","))) if text else ()
