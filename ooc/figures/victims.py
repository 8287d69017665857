"""Victims, V1 to V4: decisions of the period on cases with an identified victim (measures of
the decision cube, `ooc.figures.decisions`)."""

from __future__ import annotations

from sqlalchemy import and_, not_, or_

from ooc.figures.model import Figure
from ooc.figures.sources import DECISION_FACTS, Cube, Measure, Sources

D = DECISION_FACTS.c


def victim_measures(src: Sources) -> list[Measure]:
    informed = src.by_as_of(D.informed_at)
    return [
        Measure("V1", D.has_victim, D.victim_views_before),
        Measure("V2", and_(D.has_victim, src.by_as_of(D.rj_reached_at)),
                src.by_as_of(D.rj_decided_at)),
        Measure("V3", and_(D.has_victim, src.by_as_of(D.consented_at)),
                src.by_as_of(D.took_part_at)),
        Measure("V4", and_(D.has_victim, not_(D.victim_opted_out),
                           or_(informed, D.inform_due_on < src.period.as_of_date)),
                and_(informed, D.informed_on <= D.inform_due_on)),
    ]


def victim_figures(decisions: Cube) -> list[Figure]:
    return [
        Figure("V1", "Victim's views before the decision", decisions.count("V1")),
        Figure("V2", "Restorative justice considered", decisions.count("V2")),
        Figure("V3", "Victims engaged in restorative justice (YJB KPI 10)",
               decisions.count("V3")),
        Figure("V4", "Victim informed on time", decisions.count("V4")),
    ]
