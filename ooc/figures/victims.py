"""Victims, V1 to V4: decisions of the period on cases with an identified victim."""

from __future__ import annotations

from sqlalchemy import Subquery, and_, func, not_, or_, select

from ooc.figures.model import Figure
from ooc.figures.sources import EVENTS, Sources, not_blank
from ooc.figures.sql import local_date

RJ_STEP = ("record_victim_views", "offer_rj", "not_offer_rj")


def _rows(d: Subquery, hit, where) -> Subquery:
    return select(d.c.case_id, hit.label("hit")).where(where).subquery("rows")


def victim_figures(src: Sources) -> list[Figure]:
    d = src.decisions()
    victim = d.c.has_victim
    views_before = or_(src.event_before(d.c.case_id, d.c.seq, "record_victim_views"),
                       not_blank(d.c.victim_views_reason))
    closed = EVENTS.alias("closed")
    reached = or_(src.event_by_as_of(d.c.case_id, RJ_STEP),
                  select(closed.c.id).where(closed.c.case_id == d.c.case_id,
                                            closed.c.to_state == "closed",
                                            closed.c.track == "main",
                                            src.by_as_of(closed)).exists())
    rj_decided = src.event_by_as_of(d.c.case_id, ("offer_rj", "not_offer_rj"),
                                    lambda e: not_blank(e.c.data["reasons"].as_string()))
    consented = src.event_by_as_of(d.c.case_id, ("contact_victim",),
                                   lambda e: e.c.data["consents_to_contact"].as_boolean())
    took_part = src.event_by_as_of(d.c.case_id, ("start_rj",))
    return [
        Figure("V1", "Victim's views before the decision",
               src.count(_rows(d, views_before, victim))),
        Figure("V2", "Restorative justice considered",
               src.count(_rows(d, rj_decided, and_(victim, reached)))),
        Figure("V3", "Victims engaged in restorative justice (YJB KPI 10)",
               src.count(_rows(d, took_part, and_(victim, consented)))),
        Figure("V4", "Victim informed on time", src.count(informed_on_time(src, d))),
    ]


def informed_on_time(src: Sources, d: Subquery) -> Subquery:
    informed = (select(EVENTS.c.case_id, func.min(EVENTS.c.at).label("at"))
                .where(EVENTS.c.trigger == "inform_victim", src.by_as_of())
                .group_by(EVENTS.c.case_id).subquery("informed"))
    dated = (select(d.c.case_id, src.add_wd(d.c.decided_on, 5).label("due_on"),
                    local_date(informed.c.at).label("done_on"))
             .select_from(d.outerjoin(informed, informed.c.case_id == d.c.case_id))
             .where(d.c.has_victim, not_(d.c.victim_opted_out)).subquery("dated"))
    return (select(dated.c.case_id, (dated.c.done_on <= dated.c.due_on).label("hit"))
            .where(or_(dated.c.done_on.is_not(None), dated.c.due_on < src.period.as_of_date))
            .subquery("rows"))
