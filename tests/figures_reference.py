"""The board figures worked out again in plain Python, as a check on the SQL in `ooc/figures/`.

This module is written from ../shared/METRICS.md and docs/figures.md only (not from the SQL), so
that the two implementations can be compared on the same data. It reads:

- `events`: the audit trail as `ooc audit export` writes it (one dict per JSON line);
- `cases`: the case rows' columns (dicts);
- `meetings`: the panel meeting rows (dicts with id, held_on, quorate, agencies_present, and
  created_at if known);

and uses nothing else but the workflow definitions (gravity table, formal outcomes, ethnicity
rollup, quorum agencies) and `ooc.calendar` (working days, local dates). Loops are fine here:
clarity matters more than speed.

Readings where docs/figures.md leaves room (each checked against the SQL by the test):

- nothing recorded after `as_of` is looked at: events with `at` > as_of, cases whose `create`
  event is after as_of (so not in a cohort, even if their referral date is in the period), and
  panel meetings held or recorded after as_of (D6); an event exactly at as_of is looked at;
- "before the decision" (D4, D7, D8, V1) is earlier in the case's own sequence of events;
- C4's "no previous formal outcome": the referral's `previous_formal_outcomes` is 0 and no formal
  outcome was decided and signed off earlier on the case;
- V3 and V4 are about the victims of the period's decisions (on cases with a victim), V4's due
  date counting from that decision, with no exclusion for withdrawn cases.

`reference_figures` returns, for each figure id, a plain dict:

- single counts: {"numerator", "denominator", "numerator_cases", "denominator_cases"}, the case
  lists sorted (with repeats where a figure counts events rather than cases: Q1, Q2, O1, O3);
- T5: {"stages": [(label, cases, median, p90, case_ids), ...]} in the order of docs/figures.md;
- T6: the count, plus "overdue": sorted (case_id, milestone, due_on, working_days_overdue);
- D1: the count of decisions, plus "outcomes": {outcome: {"numerator", "numerator_cases"}} and
  "breakdowns" (formal-outcome rate and D2 by ethnicity, sex, age band and looked-after status);
- D6: meetings held, plus "agencies": {agency: meetings attended};
- O2: the breaches, plus "outcomes": {outcome or "not yet decided": count}.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from typing import Any

from ooc.calendar import ENGLAND_AND_WALES, local_date

CAL = ENGLAND_AND_WALES

# Milestones of T1-T4 (and T6): the deadline names of the reference workflow.
MILESTONES = ("assessment", "decision", "countersignature", "sign_off")
FIRST_TIME_ENTRANT_OUTCOMES = ("youth_caution", "youth_conditional_caution")
T5_STAGES = (
    ("referral to assessment", "referral", "submit_assessment"),
    ("assessment to countersignature", "submit_assessment", "countersign"),
    ("countersignature to decision", "countersign", "record_decision"),
    ("decision to sign-off", "record_decision", "sign_off"),
)


# --- small helpers ---------------------------------------------------------------------------


def parse_instant(value: Any) -> datetime:
    """An aware UTC datetime from the export's ISO text (or a datetime)."""
    if isinstance(value, datetime):
        at = value
    else:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


def parse_day(value: Any) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def blank(value: Any) -> bool:
    """Nothing recorded: missing, None, or text that is only spaces."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return False


def add_wd(day: date, n: int) -> date:
    return CAL.add_working_days(day, n)


def age_at(born: date, on: date) -> int:
    """Whole years from `born` to `on` (a 29 February birthday comes on 1 March)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def age_band(age: int) -> str:
    if 10 <= age <= 12:
        return "10-12"
    if 13 <= age <= 14:
        return "13-14"
    if 15 <= age <= 17:
        return "15-17"
    return "other"


def median(values: list[int]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    n = len(ordered)
    if n % 2:
        return float(ordered[n // 2])
    return (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def p90(values: list[int]) -> int | None:
    """Nearest rank: the ceil(0.9 n)-th smallest value."""
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-9 * len(ordered) // 10)  # ceil(9n / 10), in integers
    return ordered[rank - 1]


def count(numerator_cases: list[int], denominator_cases: list[int] | None) -> dict[str, Any]:
    return {
        "numerator": len(numerator_cases),
        "denominator": None if denominator_cases is None else len(denominator_cases),
        "numerator_cases": sorted(numerator_cases),
        "denominator_cases": sorted(denominator_cases or []),
    }


class Ev:
    """One audit event, with its instant parsed and its local date."""

    __slots__ = ("case_id", "seq", "at", "day", "trigger", "track", "from_state", "to_state",
                 "data")

    def __init__(self, raw: dict[str, Any]):
        self.case_id = int(raw["case_id"])
        self.seq = int(raw["seq"])
        self.at = parse_instant(raw["at"])
        self.day = local_date(self.at)
        self.trigger = raw["trigger"]
        self.track = raw["track"]
        self.from_state = raw.get("from_state")
        self.to_state = raw["to_state"]
        self.data = raw.get("data") or {}


class CaseView:
    """One case as it stood at `as_of`: its columns and its events up to then."""

    def __init__(self, row: dict[str, Any], events: list[Ev]):
        self.row = row
        self.id = int(row["id"])
        self.events = events  # by seq, none after as_of
        self.referral_date = parse_day(row["referral_date"])
        self.bail_date = parse_day(row.get("bail_date"))
        self.date_of_birth = parse_day(row["date_of_birth"])
        self.offence_date = parse_day(row["offence_date"])

    def all(self, trigger: str) -> list[Ev]:
        return [e for e in self.events if e.trigger == trigger]

    def first(self, trigger: str) -> Ev | None:
        found = self.all(trigger)
        return found[0] if found else None

    @property
    def created(self) -> bool:
        return any(e.trigger == "create" for e in self.events)

    @property
    def withdrawn(self) -> Ev | None:
        return self.first("withdraw")

    @property
    def open(self) -> bool:
        ended = any(e.track == "main" and e.to_state in ("closed", "withdrawn")
                    for e in self.events)
        return self.created and not ended

    def before(self, event: Ev) -> list[Ev]:
        return [e for e in self.events if e.seq < event.seq]

    def after(self, event: Ev) -> list[Ev]:
        return [e for e in self.events if e.seq > event.seq]


# --- the figures -----------------------------------------------------------------------------


def reference_figures(events: list[dict], cases: list[dict], meetings: list[dict], registry,
                      period) -> dict[str, dict]:
    """Every figure implemented here, by id, for `period` (an `ooc.figures.Period`)."""
    as_of = period.as_of.astimezone(UTC)
    as_of_day = local_date(as_of)
    start, end = period.start, period.end

    def in_period(day: date) -> bool:
        return start <= day <= end

    by_case: dict[int, list[Ev]] = defaultdict(list)
    for raw in events:
        event = Ev(raw)
        if event.at <= as_of:  # no event after as_of is ever looked at
            by_case[event.case_id].append(event)
    views = {}
    for row in cases:
        case_events = sorted(by_case.get(int(row["id"]), []), key=lambda e: e.seq)
        views[int(row["id"])] = CaseView(row, case_events)
    # Cases that exist at as_of (their `create` event by then).
    known = [v for v in sorted(views.values(), key=lambda v: v.id) if v.created]

    def definition(case: CaseView):
        return registry.get(case.row["workflow_name"], int(case.row["workflow_version"]))

    latest = {name: registry.latest(name) for name in {v.row["workflow_name"] for v in known}}

    def rollup(case: CaseView) -> str:
        return latest[case.row["workflow_name"]].ethnicity_rollup.get(case.row["ethnicity"],
                                                                     "Not known")

    def formal(case: CaseView, outcome: str) -> bool:
        found = definition(case).outcomes.get(outcome)
        return bool(found and found.formal)

    def consistent(case: CaseView, outcome: str) -> bool:
        return outcome in definition(case).gravity.get(int(case.row["gravity_score"]), ())

    figures: dict[str, dict] = {}

    # --- timeliness (cohort) -------------------------------------------------------------------
    cohort = [v for v in known if in_period(v.referral_date)]

    def milestone(case: CaseView, name: str) -> tuple[date, Ev | None] | None:
        """(due date, first event meeting it), or None when the milestone has not started."""
        if name == "assessment":
            return add_wd(case.referral_date, 10), case.first("submit_assessment")
        if name == "decision":
            return add_wd(case.bail_date or case.referral_date, 15), case.first("record_decision")
        if name == "countersignature":
            submitted = case.first("submit_assessment")
            if submitted is None:
                return None
            return add_wd(submitted.day, 5), case.first("countersign")
        submitted = case.first("record_decision")
        if submitted is None:
            return None
        return add_wd(submitted.day, 5), case.first("sign_off")

    for figure_id, name in zip(("T1", "T2", "T3", "T4"), MILESTONES, strict=True):
        numerator, denominator = [], []
        for case in cohort:
            started = milestone(case, name)
            if started is None:
                continue
            due_on, done = started
            if done is None and not due_on < as_of_day:
                continue  # not due yet
            withdrawn = case.withdrawn
            if withdrawn is not None and withdrawn.day < due_on:
                continue  # withdrawn before the due date: not counted
            denominator.append(case.id)
            if done is not None and done.day <= due_on:
                numerator.append(case.id)
        figures[figure_id] = count(numerator, denominator)

    stages = []
    for label, from_trigger, to_trigger in T5_STAGES:
        days, ids = [], []
        for case in cohort:
            if from_trigger == "referral":
                begun = case.referral_date
            else:
                first = case.first(from_trigger)
                begun = first.day if first else None
            reached = case.first(to_trigger)
            if begun is None or reached is None:
                continue
            days.append(CAL.working_days_between(begun, reached.day))
            ids.append(case.id)
        stages.append((label, len(ids), median(days), p90(days), tuple(sorted(ids))))
    figures["T5"] = {"stages": stages}

    open_cases = [v for v in known if v.open]
    overdue, late_cases = [], []
    for case in open_cases:
        late = False
        for name in MILESTONES:
            started = milestone(case, name)
            if started is None:
                continue
            due_on, done = started
            if done is None and due_on < as_of_day:
                overdue.append((case.id, name, due_on,
                                CAL.working_days_between(due_on, as_of_day)))
                late = True
        if late:
            late_cases.append(case.id)
    figures["T6"] = {**count(late_cases, [v.id for v in open_cases]), "overdue": sorted(overdue)}

    # --- decisions (activity) ------------------------------------------------------------------
    # Each case's last record_decision whose local date is in the period (and by as_of).
    decisions: list[tuple[CaseView, Ev]] = []
    for case in known:
        made = [e for e in case.all("record_decision") if in_period(e.day)]
        if made:
            decisions.append((case, made[-1]))
    decided = [c.id for c, _ in decisions]

    outcomes: dict[str, list[int]] = defaultdict(list)
    for case, event in decisions:
        outcomes[event.data.get("outcome")].append(case.id)

    breakdowns: dict[str, dict[tuple, tuple[int, int]]] = defaultdict(dict)

    def group_values(case: CaseView) -> dict[str, str]:
        return {
            "ethnicity": rollup(case),
            "sex": case.row["sex"],
            "age_band": age_band(age_at(case.date_of_birth, case.offence_date)),
            "looked_after": "looked after" if case.row["looked_after"] else "not looked after",
        }

    tallies: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for case, event in decisions:
        outcome = event.data.get("outcome")
        for key, value in group_values(case).items():
            for figure, hit in (("formal", formal(case, outcome)),
                                ("D2", consistent(case, outcome))):
                cell = tallies[f"{figure} by {key}"][value]
                cell[0] += hit
                cell[1] += 1
    for name, cells in tallies.items():
        breakdowns[name] = {value: tuple(cell) for value, cell in cells.items()}

    formal_cases = [c.id for c, e in decisions if formal(c, e.data.get("outcome"))]
    figures["D1"] = {
        **count(decided, decided),
        "outcomes": {o: {"numerator": len(ids), "numerator_cases": sorted(ids)}
                     for o, ids in sorted(outcomes.items())},
        "formal": count(formal_cases, decided),
        "breakdowns": dict(breakdowns),
    }

    inconsistent = [(c, e) for c, e in decisions if not consistent(c, e.data.get("outcome"))]
    figures["D2"] = count([c.id for c, e in decisions if consistent(c, e.data.get("outcome"))],
                          decided)
    figures["D3"] = count([c.id for c, e in inconsistent
                           if not blank(e.data.get("deviation_rationale"))],
                          [c.id for c, _ in inconsistent])
    figures["D4"] = count([c.id for c, e in decisions
                           if any(x.trigger == "countersign" for x in c.before(e))], decided)
    quorate = {int(m["id"]): bool(m["quorate"]) for m in meetings}
    figures["D5"] = count([c.id for c, e in decisions
                           if quorate.get(_int(e.data.get("meeting_id")), False)], decided)

    # Meetings held (their date) in the period, and held by as_of: a meeting recorded after
    # as_of is not looked at, like an event after it (docs/figures.md, "Period and as_of").
    held = [m for m in meetings if in_period(parse_day(m["held_on"]))
            and parse_day(m["held_on"]) <= as_of_day
            and (m.get("created_at") is None or parse_instant(m["created_at"]) <= as_of)]
    held_ids = {int(m["id"]) for m in held}
    at_meetings = sorted({case.id for case in known for e in case.all("record_decision")
                          if _int(e.data.get("meeting_id")) in held_ids})
    agencies: Counter[str] = Counter()
    for definition_ in latest.values():
        for agency in definition_.quorum.agencies:
            agencies[agency.value] += 0
    for meeting in held:
        for agency in dict.fromkeys(meeting["agencies_present"] or []):
            agencies[agency] += 1
    figures["D6"] = {"numerator": len(held), "denominator": None,
                     "numerator_cases": at_meetings, "denominator_cases": at_meetings,
                     "agencies": dict(sorted(agencies.items()))}

    def views_in(data: dict[str, Any], *names: str) -> bool:
        return any(not blank(data.get(n)) for n in names)

    def recorded(case: CaseView, event: Ev, *names: str) -> bool:
        if views_in(event.data, *names):
            return True
        return any(views_in(x.data, *names) for x in case.before(event)
                   if x.trigger == "submit_assessment")

    figures["D7"] = count([c.id for c, e in decisions if recorded(c, e, "child_views")], decided)
    figures["D8"] = count([c.id for c, e in decisions
                           if recorded(c, e, "parent_views", "parent_views_reason")], decided)

    # --- children (cohort) ---------------------------------------------------------------------
    cohort_ids = [c.id for c in cohort]
    figures["C1"] = count([c.id for c in cohort
                           if 10 <= age_at(c.date_of_birth, c.offence_date) <= 12], cohort_ids)
    c2_rate: dict[str, list[list[int]]] = {"looked after": [[], []], "not looked after": [[], []]}
    for case in cohort:
        made = case.all("record_decision")
        if not made:
            continue
        cell = c2_rate["looked after" if case.row["looked_after"] else "not looked after"]
        cell[1].append(case.id)
        if formal(case, made[-1].data.get("outcome")):
            cell[0].append(case.id)
    figures["C2"] = {**count([c.id for c in cohort if c.row["looked_after"]], cohort_ids),
                     "formal": {k: count(n, d) for k, (n, d) in c2_rate.items() if d}}
    def formal_given_before(case, event) -> bool:
        """A formal outcome decided, and signed off, on the case before this decision."""
        earlier = case.before(event)
        return any(e.trigger == "record_decision" and formal(case, e.data.get("outcome"))
                   and any(s.trigger == "sign_off" and s.seq > e.seq for s in earlier)
                   for e in earlier)

    figures["C4"] = count([c.id for c, e in decisions
                           if e.data.get("outcome") in FIRST_TIME_ENTRANT_OUTCOMES
                           and int(c.row["previous_formal_outcomes"] or 0) == 0
                           and not formal_given_before(c, e)], decided)

    # --- victims (activity: decisions of the period on cases with an identified victim) --------
    victim_decisions = [(c, e) for c, e in decisions if c.row["has_victim"]]
    victim_ids = [c.id for c, _ in victim_decisions]
    figures["V1"] = count([c.id for c, e in victim_decisions
                           if any(x.trigger == "record_victim_views" for x in c.before(e))
                           or not blank(e.data.get("victim_views_reason"))], victim_ids)

    rj_triggers = ("offer_rj", "not_offer_rj")
    reached = [c for c, _ in victim_decisions
               if any(x.track == "main" and x.to_state == "closed" for x in c.events)
               or any(x.trigger in ("record_victim_views", *rj_triggers) for x in c.events)]
    figures["V2"] = count([c.id for c in reached
                           if any(x.trigger in rj_triggers and not blank(x.data.get("reasons"))
                                  for x in c.events)], [c.id for c in reached])

    consented = [c for c, _ in victim_decisions
                 if any(x.trigger == "contact_victim" and x.data.get("consents_to_contact") is True
                        for x in c.events)]
    figures["V3"] = count([c.id for c in consented if c.first("start_rj")],
                          [c.id for c in consented])

    v4_num, v4_den = [], []
    for case, event in victim_decisions:
        if case.row["victim_opted_out"]:
            continue
        due_on = add_wd(event.day, 5)
        told = case.first("inform_victim")
        if told is None and not due_on < as_of_day:
            continue
        v4_den.append(case.id)
        if told is not None and told.day <= due_on:
            v4_num.append(case.id)
    figures["V4"] = count(v4_num, v4_den)

    # --- oversight (activity) ------------------------------------------------------------------
    q1_num, q2_num, submissions = [], [], []
    for case in known:
        for event in case.all("submit_assessment"):
            if not in_period(event.day):
                continue
            submissions.append(case.id)
            following = [x for x in case.after(event) if x.track == "main"]
            if following and following[0].trigger == "countersign":
                q1_num.append(case.id)
            if following and following[0].trigger == "return_assessment":
                q2_num.append(case.id)
    figures["Q1"] = count(q1_num, submissions)
    figures["Q2"] = count(q2_num, submissions)

    # --- outcomes (activity: interventions ended in the period) --------------------------------
    o1_num, endings, breaches, o3_num, completes = [], [], [], [], []
    breach_outcomes: Counter[str] = Counter()
    for case in known:
        for event in case.events:
            if not (event.track == "main" and event.from_state == "intervention"
                    and event.to_state != "intervention" and in_period(event.day)):
                continue
            endings.append(case.id)
            if event.trigger == "complete":
                completes.append(case.id)
                if event.data.get("completed") is True:
                    o1_num.append(case.id)
                d = event.data
                child = (not blank(d.get("child_feedback"))
                         or d.get("child_declined_feedback") is True)
                parent = (not blank(d.get("parent_feedback"))
                          or d.get("parent_declined_feedback") is True)
                if child and parent:
                    o3_num.append(case.id)
            elif event.trigger == "breach":
                breaches.append(case.id)
                next_decision = [x for x in case.after(event) if x.trigger == "record_decision"]
                breach_outcomes[next_decision[0].data.get("outcome") if next_decision
                                else "not yet decided"] += 1
    figures["O1"] = count(o1_num, endings)
    figures["O2"] = {**count(breaches, None), "denominator_cases": sorted(breaches),
                     "outcomes": dict(sorted(breach_outcomes.items()))}
    figures["O3"] = count(o3_num, completes)
    return figures


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
