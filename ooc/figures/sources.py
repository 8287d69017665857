"""How a figure is counted: `Measure`s over one of the figures' tables (`ooc.figures.facts`),
summed by the database in one GROUP BY per table (`Sources.cube`).

A measure is a pair of conditions on a row: `counted` (in the denominator) and `hit` (also in the
numerator). A cube holds, for each group of the breakdown columns, each measure's counts and,
when the cases are asked for, the ids of the cases behind them; a figure or a breakdown row is
then a sum of cells (at most a few hundred), so the whole set of figures is a handful of passes
over the period's rows however many measures it has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    FromClause,
    and_,
    case,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlmodel import Session

from ooc.figures.facts import CASE_FACTS, DECISION_FACTS, STEP_FACTS, working_days_to
from ooc.figures.model import Count, Period, Row
from ooc.figures.sql import id_list, parse_ids, row_by_row
from ooc.machine import WorkflowRegistry

__all__ = ["CASE_FACTS", "DECISION_FACTS", "STEP_FACTS", "Cube", "Measure", "Sources",
           "working_days_to"]


@dataclass(frozen=True)
class Measure:
    name: str
    counted: ColumnElement[bool]
    hit: ColumnElement[bool]


def _add(a: Count, b: Count) -> Count:
    return Count(a.numerator + b.numerator, (a.denominator or 0) + (b.denominator or 0),
                 a.numerator_cases + b.numerator_cases,
                 a.denominator_cases + b.denominator_cases)


def _sorted(count: Count) -> Count:
    return Count(count.numerator, count.denominator, tuple(sorted(count.numerator_cases)),
                 tuple(sorted(count.denominator_cases)))


@dataclass(frozen=True)
class Cube:
    """Each measure's count in each group of the breakdown columns."""

    cells: list[tuple[dict[str, str], dict[str, Count]]]

    def count(self, measure: str, where: Mapping[str, str] | None = None) -> Count:
        """The measure over the groups that match `where` (all of them by default)."""
        total = Count(0, 0)
        for group, counts in self.cells:
            if not where or all(group[k] == v for k, v in where.items()):
                total = _add(total, counts[measure])
        return _sorted(total)

    def rows(self, measure: str, by: Sequence[str]) -> list[Row]:
        """The measure per group of `by`, in order; groups with nothing counted are left out,
        except that with no `by` there is always the one total row."""
        if not by:
            return [Row({}, self.count(measure))]
        sums: dict[tuple[str, ...], Count] = {}
        for group, counts in self.cells:
            key = tuple(group[name] for name in by)
            sums[key] = _add(sums.get(key, Count(0, 0)), counts[measure])
        return [Row(dict(zip(by, key, strict=True)), _sorted(count))
                for key, count in sorted(sums.items()) if count.denominator]


@dataclass(frozen=True)
class Sources:
    """The session, the period and, when `with_cases`, the ids of the cases behind each count
    (for opening them; the counts alone are what the board sees)."""

    session: Session
    period: Period
    registry: WorkflowRegistry
    with_cases: bool = False

    def by_as_of(self, instant: ColumnElement) -> ColumnElement[bool]:
        """It happened, by `as_of` (false, not unknown, when it never happened)."""
        return and_(instant.is_not(None), instant <= self.period.as_of)

    def in_period(self, instant: ColumnElement) -> ColumnElement[bool]:
        """Its local date is in the period, and it happened by `as_of`."""
        return and_(instant >= self.period.starts_at, instant < self.period.ends_at,
                    instant <= self.period.as_of)

    def cohort(self) -> ColumnElement[bool]:
        """Cases referred in the period and entered by `as_of`."""
        f = CASE_FACTS.c
        return and_(f.referral_date.between(self.period.start, self.period.end),
                    f.created_at <= self.period.as_of)

    def period_decisions(self) -> ColumnElement[bool]:
        """Each case's last decision in the period: the case's next decision, if any, is not."""
        d = DECISION_FACTS.c
        return and_(self.in_period(d.at), or_(d.next_at.is_(None),
                                              d.next_at >= self.period.ends_at,
                                              d.next_at > self.period.as_of))

    def cube(self, table: FromClause, where: ColumnElement[bool], measures: Sequence[Measure],
             dims: Mapping[str, ColumnElement] | None = None) -> Cube:
        """Every measure, per group of `dims`, over the rows of `table` that `where` picks.

        The groups are counted under one small whole number per combination of the dimensions'
        known values (`known_values`): a database that sorts to group (SQLite) then sorts
        numbers rather than several texts a row, three times faster. Should a row hold a value
        not known, the groups are counted again by the texts themselves."""
        dims = dict(dims or {})
        known = {name: self.known_values(name) for name in dims}
        if dims and all(known.values()):
            key, stride = literal(0), 1
            for name, column in dims.items():
                key = key + case({value: i * stride for i, value in enumerate(known[name])},
                                 value=column, else_=null())
                stride *= len(known[name])
            cells = self._cells(table, where, measures, {"key": key})
            if all(group["key"] != "None" for group, _ in cells):
                return Cube([(_decode(int(group["key"]), known), counts)
                             for group, counts in cells])
        return Cube(self._cells(table, where, measures, dims))

    def _cells(self, table: FromClause, where: ColumnElement[bool], measures: Sequence[Measure],
               dims: Mapping[str, ColumnElement]) -> list[tuple[dict[str, str], dict[str, Count]]]:
        """Each measure is one sum: 1 for a row counted, HIT + 1 for a row also a hit, so that
        its condition is worked out once a row and the two counts come apart again here.

        Each row's groups and values are worked out first, in a subquery (`row_by_row`), and
        then summed: SQLite sorts to group, and sorts whatever the sums read, so it sorts a
        few small numbers a row rather than every column the conditions look at."""
        values = [case((m.counted, case((m.hit, literal(HIT + 1, BigInteger)), else_=1)),
                       else_=0).label(f"m{i}") for i, m in enumerate(measures)]
        rows = row_by_row(self.session, select(
            *[column.label(f"d{i}") for i, column in enumerate(dims.values())], *values,
            *([table.c.case_id] if self.with_cases else [])).where(where))
        groups = [rows.c[f"d{i}"] for i in range(len(dims))]
        columns: list[ColumnElement] = list(groups)
        for i in range(len(measures)):
            value = rows.c[f"m{i}"]
            columns.append(func.sum(value))
            if self.with_cases:
                columns += [id_list(case((value > 0, rows.c.case_id))),
                            id_list(case((value > HIT, rows.c.case_id)))]
        width = 3 if self.with_cases else 1
        cells = []
        for row in self.session.execute(select(*columns).group_by(*groups)):
            values = tuple(row)
            group = {name: str(value) for name, value in zip(dims, values, strict=False)}
            counts = {}
            for i, m in enumerate(measures):
                part = values[len(dims) + i * width:len(dims) + (i + 1) * width]
                hits, counted = divmod(int(part[0] or 0), HIT)
                ids = (parse_ids(part[2]), parse_ids(part[1])) if self.with_cases else ((), ())
                counts[m.name] = Count(hits, counted, *ids)
            cells.append((group, counts))
        return cells

    def known_values(self, dimension: str) -> list[str]:
        """The values a breakdown can take, as the workflow files give them ([] if open)."""
        definitions = list(self.registry)
        if dimension == "ethnicity":
            return sorted({g for d in definitions for g in d.ethnicity_rollup.values()}
                          | {"Not known"})
        if dimension == "sex":
            return sorted({o.value for d in definitions for f in d.referral.fields
                           if f.name == "sex" for o in f.options})
        if dimension == "outcome":
            return sorted({o.code for d in definitions for o in d.outcomes.values()})
        return {"age_band": AGE_BANDS, "looked_after": LOOKED_AFTER}.get(dimension, [])

    def ids(self, query) -> tuple[int, ...]:
        """The case ids a one-column query gives, when the cases are asked for."""
        if not self.with_cases:
            return ()
        return tuple(sorted(self.session.execute(query).scalars()))


# A measure's hits are counted in multiples of this, above its rows counted (fewer, always).
HIT = 2 ** 32
AGE_BANDS = ["10-12", "13-14", "15-17", "other"]
LOOKED_AFTER = ["looked after", "not looked after"]


def looked_after_label(looked_after: ColumnElement[bool]) -> ColumnElement[str]:
    return case((looked_after, literal(LOOKED_AFTER[0])), else_=literal(LOOKED_AFTER[1]))


def _decode(key: int, known: Mapping[str, list[str]]) -> dict[str, str]:
    group = {}
    for name, values in known.items():
        key, index = divmod(key, len(values))
        group[name] = values[index]
    return group
