"""The figures' own tables (`case_facts`, `decision_facts`, `step_facts`), worked out from the
audit events and the case records in SQL.

This is the reference definition of their rows. `refresh_facts` rewrites the rows of the cases
given (or of every case: `ooc audit refresh-facts`, the schema upgrade, a case moved to another
workflow version); `facts_differences` recomputes them and says where the stored rows differ
(`ooc audit verify`). Day to day, the transition service brings a case's rows up to date from
each event itself (`ooc.figures.upkeep`), which is cheaper, and the tests check the two agree.

Nothing here depends on a reporting period or an `as_of` instant: each milestone's *first* event
is kept, and a figure asks whether it happened by `as_of`. That is what lets a figure be one pass
over one table (`ooc.figures.sources`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    delete,
    except_,
    false,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlmodel import Session

from ooc.figures.sql import local_date, whole_years
from ooc.machine import WorkflowRegistry
from ooc.models import (
    AuditEvent,
    CalendarDay,
    Case,
    CaseFacts,
    DecisionFacts,
    PanelMeeting,
    StepFacts,
    VictimSteps,
)

EVENTS = AuditEvent.__table__
CASES = Case.__table__
CALENDAR = CalendarDay.__table__
CASE_FACTS = CaseFacts.__table__
DECISION_FACTS = DecisionFacts.__table__
STEP_FACTS = StepFacts.__table__
TABLES = (STEP_FACTS, DECISION_FACTS, CASE_FACTS)  # in the order they are deleted

# METRICS.md: the working days each milestone is allowed from its start.
WORKING_DAYS = {"assessment": 10, "decision": 15, "countersignature": 5, "sign_off": 5,
                "victim_informed": 5}
# Each milestone's first event, by the name its columns begin with.
MILESTONE_TRIGGERS = {"assessed": "submit_assessment", "countersigned": "countersign",
                      "decided": "record_decision", "signed_off": "sign_off",
                      "withdrawn": "withdraw"}
# The victim's steps, which a decision's row copies from its case's row.
VICTIM_COLUMNS = tuple(VictimSteps.model_fields)
FIRST_TIME_OUTCOMES = ("youth_caution", "youth_conditional_caution")
RJ_STEP = ("record_victim_views", "offer_rj", "not_offer_rj")
RJ_DECIDED = ("offer_rj", "not_offer_rj")


def not_blank(text: ColumnElement) -> ColumnElement[bool]:
    return func.coalesce(func.trim(text), "") != ""


# --- working days ------------------------------------------------------------------------------


def working_days_to(day: ColumnElement) -> ColumnElement[int]:
    """Working days from 1 January 2000 to `day` (the calendar table's running count)."""
    day_row = CALENDAR.alias("day_row")
    return (select(day_row.c.working_days_to).where(day_row.c.day == day)
            .correlate_except(day_row).scalar_subquery())


def add_wd(day: ColumnElement, n: int) -> ColumnElement:
    """METRICS.md's add_wd(d, n): the n-th working day after `day` (day 0)."""
    due = CALENDAR.alias("due")
    return (select(func.min(due.c.day))
            .where(due.c.working_days_to == working_days_to(day) + n)
            .correlate_except(due).scalar_subquery())


# --- what the workflow files say ---------------------------------------------------------------


def indicated(registry: WorkflowRegistry, outcome: ColumnElement) -> ColumnElement[bool]:
    """The outcome is one the case's gravity score indicates (its own workflow version)."""
    whens = [(and_(CASES.c.workflow_name == d.name, CASES.c.workflow_version == d.version,
                   CASES.c.gravity_score == score), outcome.in_(codes))
             for d in registry for score, codes in d.gravity.items() if codes]
    return case(*whens, else_=false()) if whens else false()


def formal(registry: WorkflowRegistry, outcome: ColumnElement) -> ColumnElement[bool]:
    whens = [(and_(CASES.c.workflow_name == d.name, CASES.c.workflow_version == d.version),
              outcome.in_([o.code for o in d.outcomes.values() if o.formal] or [""]))
             for d in registry]
    return case(*whens, else_=false())


def ethnicity_rollup(registry: WorkflowRegistry) -> ColumnElement[str]:
    rollup: dict[str, str] = {}
    for name in sorted({d.name for d in registry}):
        rollup.update(registry.latest(name).ethnicity_rollup)
    groups: dict[str, list[str]] = {}
    for code, group in rollup.items():
        groups.setdefault(group, []).append(code)
    return case(*[(CASES.c.ethnicity.in_(codes), literal(group))
                  for group, codes in sorted(groups.items())], else_=literal("Not known"))


def age_band() -> ColumnElement[str]:
    age = whole_years(CASES.c.date_of_birth, CASES.c.offence_date)
    return case((age.between(10, 12), literal("10-12")), (age.between(13, 14), literal("13-14")),
                (age.between(15, 17), literal("15-17")), else_=literal("other"))


# --- the three tables, as SELECTs over the events --------------------------------------------


def _first(condition: ColumnElement[bool]) -> ColumnElement:
    return func.min(case((condition, EVENTS.c.at)))


def case_facts_select(registry: WorkflowRegistry, scoped: bool) -> Select:
    terminal = sorted({s.name for d in registry for s in d.states.values()
                       if s.track == "main" and s.terminal})
    trigger, data = EVENTS.c.trigger, EVENTS.c.data
    firsts = (select(
        EVENTS.c.case_id,
        *[_first(trigger == milestone_trigger).label(f"{name}_at")
          for name, milestone_trigger in MILESTONE_TRIGGERS.items()],
        _first(and_(EVENTS.c.track == "main", EVENTS.c.to_state.in_(terminal))).label("ended_at"),
        func.max(case((trigger == "record_decision", EVENTS.c.seq))).label("last_decision"),
        _first(trigger == "inform_victim").label("informed_at"),
        _first(and_(trigger == "contact_victim", data["consents_to_contact"].as_boolean()))
        .label("consented_at"),
        _first(trigger == "start_rj").label("took_part_at"),
        _first(or_(trigger.in_(RJ_STEP), and_(EVENTS.c.track == "main",
                                              EVENTS.c.to_state == "closed")))
        .label("rj_reached_at"),
        _first(and_(trigger.in_(RJ_DECIDED), not_blank(data["reasons"].as_string())))
        .label("rj_decided_at"))
        .where(_of(EVENTS, scoped))
        .group_by(EVENTS.c.case_id).subquery("firsts"))
    last = EVENTS.alias("last_decision")
    decision_from = func.coalesce(CASES.c.bail_date, CASES.c.referral_date)
    dates = {name: local_date(firsts.c[f"{name}_at"])
             for name in ("assessed", "countersigned", "decided", "signed_off")}
    return (select(
        CASES.c.id, CASES.c.referral_date, CASES.c.created_at,
        ethnicity_rollup(registry), age_band(), CASES.c.looked_after,
        add_wd(CASES.c.referral_date, WORKING_DAYS["assessment"]),
        add_wd(decision_from, WORKING_DAYS["decision"]),
        add_wd(dates["assessed"], WORKING_DAYS["countersignature"]),
        add_wd(dates["decided"], WORKING_DAYS["sign_off"]),
        *[column for name in ("assessed", "countersigned", "decided", "signed_off")
          for column in (firsts.c[f"{name}_at"], dates[name])],
        firsts.c.withdrawn_at, local_date(firsts.c.withdrawn_at), firsts.c.ended_at,
        working_days_to(CASES.c.referral_date), working_days_to(decision_from),
        *[working_days_to(dates[name])
          for name in ("assessed", "countersigned", "decided", "signed_off")],
        last.c.at, formal(registry, last.c.data["outcome"].as_string()),
        firsts.c.informed_at, local_date(firsts.c.informed_at), firsts.c.consented_at,
        firsts.c.took_part_at, firsts.c.rj_reached_at, firsts.c.rj_decided_at)
        .select_from(CASES.outerjoin(firsts, firsts.c.case_id == CASES.c.id)
                     .outerjoin(last, and_(last.c.case_id == CASES.c.id,
                                           last.c.seq == firsts.c.last_decision)))
        .where(_of(CASES, scoped, "id")))


CASE_FACTS_COLUMNS = (
    "case_id", "referral_date", "created_at", "ethnicity", "age_band", "looked_after",
    "assessment_due_on", "decision_due_on", "countersignature_due_on", "sign_off_due_on",
    "assessed_at", "assessed_on", "countersigned_at", "countersigned_on", "decided_at",
    "decided_on", "signed_off_at", "signed_off_on", "withdrawn_at", "withdrawn_on", "ended_at",
    "referral_wd", "decision_from_wd", "assessed_wd", "countersigned_wd", "decided_wd",
    "signed_off_wd",
    "last_decided_at", "last_formal", "informed_at", "informed_on", "consented_at",
    "took_part_at", "rj_reached_at", "rj_decided_at")


def _event_before(decision, trigger: str, condition=None) -> ColumnElement[bool]:
    """An event `trigger` of the decision's case before it (and matching `condition`)."""
    earlier = EVENTS.alias("earlier")
    where = [earlier.c.case_id == decision.c.case_id, earlier.c.seq < decision.c.seq,
             earlier.c.trigger == trigger]
    if condition is not None:
        where.append(condition(earlier))
    return select(earlier.c.id).where(*where).correlate_except(earlier).exists()


def _formal_given_before(registry: WorkflowRegistry, decision) -> ColumnElement[bool]:
    """A formal outcome decided, and signed off, on the same case before this decision (after a
    breach): the child is no longer a first-time entrant, whatever the referral said."""
    formal_codes = sorted({o.code for d in registry for o in d.outcomes.values() if o.formal})
    earlier, signed = EVENTS.alias("earlier_decision"), EVENTS.alias("signed")
    signed_off = (select(signed.c.id)
                  .where(signed.c.case_id == decision.c.case_id, signed.c.trigger == "sign_off",
                         signed.c.seq > earlier.c.seq, signed.c.seq < decision.c.seq)
                  .correlate_except(signed).exists())
    return (select(earlier.c.id)
            .where(earlier.c.case_id == decision.c.case_id, earlier.c.seq < decision.c.seq,
                   earlier.c.trigger == "record_decision",
                   earlier.c.data["outcome"].as_string().in_(formal_codes), signed_off)
            .correlate_except(earlier).exists())


def decision_facts_select(registry: WorkflowRegistry, scoped: bool) -> Select:
    """Every decision of the cases, with what held before it. Reads `case_facts`, so those rows
    are written first."""
    next_at = func.lead(EVENTS.c.at, type_=EVENTS.c.at.type).over(
        partition_by=EVENTS.c.case_id, order_by=EVENTS.c.seq)
    # Only the columns used: migration 0007 runs this on a schema older than the model's.
    decision = (select(EVENTS.c.id, EVENTS.c.case_id, EVENTS.c.seq, EVENTS.c.at, EVENTS.c.trigger,
                       EVENTS.c.data, next_at.label("next_at"))
                .where(EVENTS.c.trigger == "record_decision", _of(EVENTS, scoped))
                .subquery("decision"))
    data = decision.c.data
    outcome = data["outcome"].as_string()
    meetings = PanelMeeting.__table__
    facts = CASE_FACTS
    assessment_views = {
        "child": _event_before(decision, "submit_assessment",
                               lambda e: not_blank(e.c.data["child_views"].as_string())),
        "parent": _event_before(decision, "submit_assessment", lambda e: or_(
            not_blank(e.c.data["parent_views"].as_string()),
            not_blank(e.c.data["parent_views_reason"].as_string()))),
    }
    is_indicated = indicated(registry, outcome)
    decided_on = local_date(decision.c.at)
    return (select(
        decision.c.id, decision.c.case_id, decision.c.seq, decision.c.at, decision.c.next_at,
        decided_on, outcome, data["meeting_id"].as_integer(), is_indicated,
        formal(registry, outcome),
        not_blank(data["deviation_rationale"].as_string()),
        _event_before(decision, "countersign"),
        select(meetings.c.id).where(meetings.c.id == data["meeting_id"].as_integer(),
                                    meetings.c.quorate).exists(),
        or_(not_blank(data["child_views"].as_string()), assessment_views["child"]),
        or_(not_blank(data["parent_views"].as_string()),
            not_blank(data["parent_views_reason"].as_string()), assessment_views["parent"]),
        or_(_event_before(decision, "record_victim_views"),
            not_blank(data["victim_views_reason"].as_string())),
        and_(outcome.in_(FIRST_TIME_OUTCOMES), CASES.c.previous_formal_outcomes == 0,
             not_(_formal_given_before(registry, decision))),
        add_wd(decided_on, WORKING_DAYS["victim_informed"]),
        facts.c.ethnicity, CASES.c.sex, facts.c.age_band, facts.c.looked_after,
        CASES.c.has_victim, CASES.c.victim_opted_out, *[facts.c[name] for name in VICTIM_COLUMNS])
        .select_from(decision.join(CASES, CASES.c.id == decision.c.case_id)
                     .join(facts, facts.c.case_id == decision.c.case_id)))


DECISION_FACTS_COLUMNS = (
    "event_id", "case_id", "seq", "at", "next_at", "decided_on", "outcome", "meeting_id",
    "indicated",
    "formal", "rationale", "countersigned_before", "quorate", "child_views", "parent_views",
    "victim_views_before", "first_time", "inform_due_on", "ethnicity", "sex", "age_band",
    "looked_after", "has_victim", "victim_opted_out", "informed_at", "informed_on",
    "consented_at", "took_part_at", "rj_reached_at", "rj_decided_at")


def step_facts_select(registry: WorkflowRegistry, scoped: bool) -> Select:
    """Submissions with the main-track event that followed each, and the ends of
    interventions with what they recorded or, after a breach, the panel's next decision."""
    main = (select(EVENTS.c.id, EVENTS.c.case_id, EVENTS.c.seq, EVENTS.c.at, EVENTS.c.trigger,
                   EVENTS.c.from_state, EVENTS.c.to_state, EVENTS.c.data,
                   func.lead(EVENTS.c.trigger).over(partition_by=EVENTS.c.case_id,
                                                    order_by=EVENTS.c.seq).label("next_trigger"),
                   func.lead(EVENTS.c.at, type_=EVENTS.c.at.type)
                   .over(partition_by=EVENTS.c.case_id, order_by=EVENTS.c.seq)
                   .label("next_main_at"))
            .where(EVENTS.c.track == "main", _of(EVENTS, scoped))
            .subquery("main"))
    submission = main.c.trigger == "submit_assessment"
    ending = and_(main.c.from_state == "intervention", main.c.to_state != "intervention")
    after = EVENTS.alias("after")
    next_decision = (select(after.c.id)
                     .where(after.c.case_id == main.c.case_id, after.c.seq > main.c.seq,
                            after.c.trigger == "record_decision")
                     .order_by(after.c.seq).limit(1).correlate_except(after).scalar_subquery())
    decided = EVENTS.alias("decided")
    data = main.c.data
    is_complete = main.c.trigger == "complete"
    return (select(
        main.c.id, main.c.case_id,
        case((submission, literal("submission")), else_=literal("ending")),
        main.c.at, main.c.trigger,
        case((submission, main.c.next_trigger)),
        case((submission, main.c.next_main_at), else_=decided.c.at),
        decided.c.data["outcome"].as_string(),
        and_(is_complete, func.coalesce(data["completed"].as_boolean(), false())),
        and_(is_complete,
             or_(not_blank(data["child_feedback"].as_string()),
                 func.coalesce(data["child_declined_feedback"].as_boolean(), false())),
             or_(not_blank(data["parent_feedback"].as_string()),
                 func.coalesce(data["parent_declined_feedback"].as_boolean(), false()))))
        .select_from(main.outerjoin(decided, and_(main.c.trigger == "breach",
                                                  decided.c.id == next_decision)))
        .where(or_(submission, ending)))


STEP_FACTS_COLUMNS = ("event_id", "case_id", "kind", "at", "trigger", "next_trigger",
                      "next_at", "next_outcome", "completed", "feedback")

SELECTS = (
    (CASE_FACTS, CASE_FACTS_COLUMNS, case_facts_select),
    (DECISION_FACTS, DECISION_FACTS_COLUMNS, decision_facts_select),
    (STEP_FACTS, STEP_FACTS_COLUMNS, step_facts_select),
)


def _of(table, scoped: bool | str, column: str = "case_id") -> ColumnElement[bool]:
    """The rows of the case given as the `case_id` parameter, of the cases given as the
    `case_ids` list (`scoped="many"`), or every row."""
    if scoped == "many":
        return table.c[column].in_(bindparam("case_ids", expanding=True))
    return table.c[column] == bindparam("case_id") if scoped else true()


@lru_cache(maxsize=16)
def _statements(registry: WorkflowRegistry, scoped: bool | str) -> tuple:
    """The deletes, then each table's SELECT, built once per registry: building them costs more
    than running them for one case."""
    return (tuple(delete(table).where(_of(table, scoped)) for table in TABLES),
            tuple((table, columns, build(registry, scoped)) for table, columns, build in SELECTS))


def refresh_facts(session: Session, registry: WorkflowRegistry,
                  case_ids: Sequence[int] | None = None) -> None:
    """Rewrite the figures' rows of these cases (of every case when None) from their events."""
    deletes, selects = _statements(registry, case_ids is not None)
    if case_ids is None:
        for statement in deletes:
            session.execute(statement)
        for table, columns, query in selects:
            session.execute(insert(table).from_select(columns, query))
        return
    for case_id in case_ids:
        params = {"case_id": case_id}
        for statement in deletes:
            session.execute(statement, params)
        for table, columns, query in selects:
            # Read, then write: SQLite plans INSERT ... SELECT for one case three times slower.
            _insert(session, table, columns, session.execute(query, params).all())


def add_new_case_facts(session: Session, registry: WorkflowRegistry, case_id: int) -> None:
    """The row of a case just created: it has no decisions or steps yet."""
    table, columns, query = _statements(registry, True)[1][0]
    _insert(session, table, columns, session.execute(query, {"case_id": case_id}).all())


def add_new_cases_facts(session: Session, registry: WorkflowRegistry,
                        case_ids: Sequence[int]) -> None:
    """The rows of many cases just created (an import's batch), in one query."""
    table, columns, query = _statements(registry, "many")[1][0]
    _insert(session, table, columns,
            session.execute(query, {"case_ids": list(case_ids)}).all())


def _insert(session: Session, table, columns: Sequence[str], rows) -> None:
    if rows:
        session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


def facts_differences(session: Session, registry: WorkflowRegistry) -> list[str]:
    """Where the stored rows differ from the events: one line per table that differs."""
    problems = []
    for table, columns, build in SELECTS:
        stored = select(*[table.c[c] for c in columns])
        worked_out = build(registry, False)
        missing = session.execute(select(func.count()).select_from(
            except_(worked_out, stored).subquery())).scalar()
        extra = session.execute(select(func.count()).select_from(
            except_(stored, worked_out).subquery())).scalar()
        if missing or extra:
            problems.append(f"{table.name}: {missing} rows differ from the audit trail and "
                            f"{extra} stored rows are not borne out by it. Run "
                            "`ooc audit refresh-facts` to rewrite them.")
    return problems
