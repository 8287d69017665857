"""Synthetic demo data, made only through the transition service so every event is a real one.

Each case is planned first (the day of every step on both tracks, who takes it, what each form
says), then played through `create_case` and `fire` in date order with backdated `now`s, so the
audit trail, deadlines and recorded data are exactly what real use would have produced. All
randomness comes from one `random.Random(seed)`: the same seed, size and `today` give the same
data. Names are invented; no real person is described.
"""

from __future__ import annotations

import bisect
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from ooc.accounts import hash_password
from ooc.audit import CREATE
from ooc.calendar import ENGLAND_AND_WALES as CALENDAR
from ooc.calendar import LONDON
from ooc.definitions import Definition
from ooc.machine import WorkflowRegistry
from ooc.models import Case, PanelMeeting, User
from ooc.panels import record_meeting
from ooc.service import create_case, fire

WORKFLOW = "oocd"
# Every demo account's password. Demo accounts exist only in a database filled by `ooc demo`,
# and `ooc serve` warns loudly whenever they are present.
DEMO_PASSWORD = "demo-password-not-for-real-use"
REFERENCE_PREFIX = "DEMO/"

# username: (display name, roles). manager2 also chairs panels, so the rule that nobody signs
# off their own decision is exercised.
DEMO_USERS = {
    "police1": ("Demo Police Officer One", ["police"]),
    "casemanager1": ("Demo Case Manager One", ["case_manager"]),
    "casemanager2": ("Demo Case Manager Two", ["case_manager"]),
    "casemanager3": ("Demo Case Manager Three", ["case_manager"]),
    "chair1": ("Demo Panel Chair One", ["panel_chair"]),
    "chair2": ("Demo Panel Chair Two", ["panel_chair"]),
    "manager1": ("Demo Team Manager One", ["manager"]),
    "manager2": ("Demo Team Manager Two", ["manager", "panel_chair"]),
    "victimworker1": ("Demo Victim Worker One", ["victim_worker"]),
    "board1": ("Demo Board Member One", ["board"]),
    "admin1": ("Demo Administrator One", ["admin"]),
    "dataprotection1": ("Demo Data Protection Officer One", ["data_protection"]),
}

# Invented names, so no demo child can be mistaken for a real one.
GIVEN_NAMES = {
    "female": ("Arvenna", "Bryseth", "Calindra", "Delloriel", "Elowyth", "Fenrissa", "Gwynthera",
               "Hesterine", "Jovessa", "Kalindry"),
    "male": ("Alvrec", "Borrimund", "Corvane", "Dastrel", "Eskarn", "Fennwick", "Garrovan",
             "Halvern", "Jorvel", "Kestrane"),
}
FAMILY_NAMES = ("Brackenholt", "Copperwell", "Dunmarrow", "Elderquay", "Fallowmere",
                "Greythistle", "Hollowmarsh", "Ironvale", "Kettlewick", "Larkspire", "Mossbridge",
                "Nettlecombe", "Oakenshade", "Pebbleford", "Quillington", "Ravensholt")

# Weights for drawing the child and the offence; codes missing from a table get weight 1, so a
# new code in the workflow's tables still appears.
AGE_WEIGHTS = {10: 3, 11: 4, 12: 6, 13: 12, 14: 17, 15: 22, 16: 20, 17: 16}
SEX_WEIGHTS = {"male": 80, "female": 18, "not_known": 2}
GRAVITY_WEIGHTS = {1: 12, 2: 42, 3: 26, 4: 13, 5: 7}
PREVIOUS_OUTCOME_WEIGHTS = {0: 75, 1: 15, 2: 6, 3: 3, 4: 1}
ETHNICITY_WEIGHTS = {"W1": 62, "W2": 1.5, "W3": 1.5, "W4": 1, "W9": 5, "A1": 2, "A2": 0.7,
                     "A3": 2, "A4": 3, "A9": 1, "B1": 4, "B2": 3, "B9": 1.5, "M1": 1.5, "M2": 1.5,
                     "M3": 3, "M9": 1.5, "O1": 1, "O9": 1.5, "Z": 3}
# category: (weight, share with a victim, lowest plausible gravity score, descriptions)
OFFENCES = {
    "violence_against_the_person": (22, 0.7, 2, ("Common assault", "Assault by beating")),
    "knife_or_weapon": (8, 0.3, 3, ("Possession of a bladed article in a public place",)),
    "robbery": (5, 0.95, 3, ("Robbery of a mobile phone",)),
    "theft_and_handling": (20, 0.3, 1, ("Shoplifting", "Theft of a pedal cycle")),
    "criminal_damage": (12, 0.55, 1, ("Criminal damage to a bus shelter", "Graffiti")),
    "drugs": (12, 0.0, 1, ("Possession of cannabis",)),
    "public_order": (9, 0.25, 1, ("Using threatening words or behaviour",)),
    "motoring": (5, 0.1, 1, ("Riding an e-scooter without insurance",)),
    "sexual": (2, 0.9, 3, ("Sending an indecent image",)),
    "other": (5, 0.2, 1, ("Making a hoax call to the emergency services",)),
}
OTHER_OFFENCE = OFFENCES["other"]  # for a category added to the workflow after this was written
# Among the outcomes a gravity score indicates, how often the panel picks each.
OUTCOME_WEIGHTS = {"community_resolution": 4, "outcome_22": 3, "outcome_23": 1.5, "nfa": 1.5}
# Where a panel departs from the gravity score, the nearby outcomes it departs to.
DEVIATIONS = {1: ("community_resolution", "outcome_22"), 2: ("youth_caution",),
              3: ("outcome_22", "community_resolution", "youth_conditional_caution"),
              4: ("youth_caution", "outcome_23"), 5: ("youth_conditional_caution", "outcome_23")}
# After a breach the panel reconsiders and usually escalates.
ESCALATION = {"community_resolution": "youth_caution", "outcome_22": "outcome_23",
              "outcome_23": "charge", "youth_caution": "youth_conditional_caution",
              "youth_conditional_caution": "charge"}
INTERVENTION_WEEKS = {"community_resolution": (4, 10), "outcome_22": (8, 14),
                      "outcome_23": (10, 16), "youth_caution": (8, 14),
                      "youth_conditional_caution": (12, 20)}
RJ_ACTIVITIES = ("conference", "shuttle_mediation", "letter_of_apology", "direct_reparation",
                 "indirect_reparation")
WITHDRAW_REASONS = {
    "police_no_further_action": "Police reviewed the evidence and will take no further action.",
    "moved_out_of_area": "The family moved out of the area; the case is transferred.",
    "referred_in_error": "Referred in error: the child was already known under another case.",
    "child_charged_elsewhere": "The child was charged with a linked offence elsewhere.",
    "other": "Withdrawn at the request of the police decision maker.",
}
DEFER_REASONS = {
    "more_information_needed": "The panel needs the school's view before deciding.",
    "child_did_not_attend": "The child did not attend the panel; re-listed for next week.",
    "awaiting_police_information": "Awaiting the police summary of the victim's statement.",
    "other": "The panel was not quorate, so no decision could be made; listed for next week.",
}
# Plausible synthetic wording for every free-text field the workflow asks for.
TEXTS = {
    "desistance": ("Plays football and wants to go to college; needs help managing anger.",
                   "Strong family support; friendships with older peers are a concern."),
    "safety_and_wellbeing": ("No current safeguarding concerns; school attendance is 85%.",
                             "Known to early help; some anxiety, registered with the GP."),
    "safety_of_others": ("The offence was impulsive; no pattern of harm to others.",
                         "Some risk to peers when with the same friendship group."),
    "contingency_plan": ("If the child carries a weapon or goes missing, the case manager tells "
                         "police and children's social care the same day.",),
    "proposed_reasons": ("Proportionate to the offence and the child's needs.",
                         "Gives structured support while avoiding a criminal record."),
    "child_views": ("Regrets what happened and wants to put it right.",
                    "Understands the harm caused and agreed to work with the service."),
    "parent_views": ("Parent supports the outcome and will help with appointments.",
                     "Carer is worried about the friendship group and welcomes support."),
    "parent_views_reason": ("Parent did not respond to three letters and two home visits.",),
    "assessment_comments": ("Expand the safety of others section.",
                            "The child's views need more detail; please revisit."),
    "rationale": ("The outcome reflects the offence, the admission and the assessment.",
                  "The panel weighed the child's age, needs and the assessment."),
    "deviation_rationale": ("The assessment shows needs better met by this outcome.",
                            "The child's age, maturity and circumstances justify departing "
                            "from the gravity score."),
    "conditions": ("Attend six sessions; complete reparation; no contact with the co-accused.",),
    "victim_views_reason": ("The victim could not be reached before the panel.",),
    "decision_comments": ("The rationale does not explain the departure from the gravity score.",
                          "Record the parent's views on the outcome."),
    "review_summary": ("Attending sessions; school reports better behaviour.",
                       "Missed one session; re-engaged after a home visit."),
    "exit_review": ("All sessions completed; no further offending known.",
                    "Partial engagement; support handed to early help."),
    "child_feedback": ("The sessions helped them think before acting.",),
    "parent_feedback": ("The service was supportive and explained things clearly.",),
    "victim_views": ("Wants the child to understand the impact and to apologise.",
                     "Wants reassurance it will not happen again; open to a letter."),
    "victim_no_views": ("The victim did not want to give views.",),
    "victim_opted_out": ("The victim asked not to be contacted.",),
    "rj_offer": ("The victim is open to a restorative approach and the child is willing.",),
    "rj_no_offer": ("The victim does not want any contact.",
                    "Not suitable: risk of further harm to the victim."),
    "rj_opted_out": ("Not offered: the victim asked not to be contacted.",),
    "rj_declined": ("The victim decided not to take part.",),
    "breach": ("Missed three sessions and did not respond to a warning letter.",),
}


@dataclass(frozen=True)
class DemoSummary:
    """What `load_demo` created."""

    cases: int
    users: int
    meetings: int
    by_state: dict[str, int]  # every main state of the workflow, 0 where none


@dataclass
class _Step:
    """One planned call of the service: on which day, which trigger, by whom, with what."""

    day: date
    trigger: str
    actor: User
    data: dict[str, Any] | None = None
    reason: str | None = None
    reason_code: str | None = None


def load_demo(session: Session, *, registry: WorkflowRegistry, cases: int, seed: int,
              today: date, progress: Callable[[int, int], None] | None = None) -> DemoSummary:
    """Create demo users, weekly panels and `cases` cases with histories up to `today`."""
    rng = random.Random(seed)
    definition = registry.latest(WORKFLOW)
    users, users_created = _ensure_users(session)
    first_day = today - timedelta(days=365)
    meetings, meetings_created = _ensure_meetings(session, rng, definition, users, first_day,
                                                  today)
    demo = _Demo(rng, definition, users, meetings, today)
    plans = [_CasePlan(demo, referral).steps()
             for referral in demo.referrals(session, cases, first_day)]
    _show_every_state(definition, plans)
    states: Counter[str] = Counter()
    for done, steps in enumerate(plans, start=1):
        states[_play(session, registry, rng, steps).state] += 1
        if progress and (done % 100 == 0 or done == cases):
            progress(done, cases)
    main = [s.name for s in definition.states.values() if s.track == "main"]
    return DemoSummary(cases, users_created, meetings_created, {s: states[s] for s in main})


def _main_states(definition: Definition, steps: list[_Step]) -> list[str | None]:
    """The main state after each step (None once it depends on a guarded route)."""
    state: str | None = definition.tracks["main"].initial[-1].state
    after = []
    for step in steps:
        transition = definition.transition(state, step.trigger) if state else None
        if transition is not None and transition.track == "main":
            state = transition.routes[0].state if len(transition.routes) == 1 else None
        after.append(state)
    return after


def _show_every_state(definition: Definition, plans: list[list[_Step]]) -> None:
    """Stop one recent case in each open state no case ends in, so small demos show them all.

    The case keeps a prefix of its own history (always valid: each step only relied on earlier
    ones), as if the next step were still awaited.
    """
    finals = Counter(_main_states(definition, plan)[-1] for plan in plans)
    for state in definition.open_states("main"):
        if finals[state]:
            continue
        for i in reversed(range(len(plans))):  # the most recent referral first
            after = _main_states(definition, plans[i])
            if state in after and finals[after[-1]] > 1:  # never empty another state
                finals[after[-1]] -= 1
                finals[state] += 1
                plans[i] = plans[i][:after.index(state) + 1]
                break


def _ensure_users(session: Session) -> tuple[dict[str, User], int]:
    existing = {u.username: u for u in session.exec(
        select(User).where(User.username.in_(list(DEMO_USERS))))}
    created = 0
    password_hash = hash_password(DEMO_PASSWORD)  # one hash: argon2 is slow by design
    for username, (display_name, roles) in DEMO_USERS.items():
        if username not in existing:
            existing[username] = User(username=username, display_name=display_name,
                                      roles=roles, team="Demo team", is_demo=True,
                                      password_hash=password_hash)
            session.add(existing[username])
            created += 1
    session.flush()
    return {name: existing[name] for name in DEMO_USERS}, created


def _ensure_meetings(session: Session, rng: random.Random, definition: Definition,
                     users: dict[str, User], first_day: date,
                     today: date) -> tuple[list[PanelMeeting], int]:
    """One panel a week (Tuesday, or the next working day), reusing any already on that day."""
    existing = {m.held_on: m for m in session.exec(
        select(PanelMeeting).where(PanelMeeting.held_on >= first_day,
                                   PanelMeeting.held_on <= today))}
    chairs = [u.username for u in users.values() if "panel_chair" in u.roles]
    meetings, created = [], 0
    tuesday = first_day + timedelta(days=(1 - first_day.weekday()) % 7)
    while (held_on := _working_day_from(tuesday)) <= today:
        agencies = _attendance(rng, definition)  # drawn even when reused, to stay deterministic
        chair = rng.choice(chairs)
        if held_on not in existing:
            opened = datetime.combine(held_on, time(8, 30), tzinfo=LONDON).astimezone(UTC)
            existing[held_on] = record_meeting(session, definition=definition,
                                               held_on=held_on, chair=chair,
                                               agencies=agencies, now=opened)
            created += 1
        meetings.append(existing[held_on])
        tuesday += timedelta(weeks=1)
    session.flush()
    return meetings, created


def _attendance(rng: random.Random, definition: Definition) -> list[str]:
    """Mostly quorate; sometimes one agency short, sometimes a required agency absent."""
    quorum = definition.quorum
    others = [a.value for a in quorum.agencies if a.value not in quorum.required]
    required = list(quorum.required)
    roll = rng.random()
    if roll < 0.88:
        present = required + rng.sample(others, rng.randint(
            quorum.minimum_others, min(len(others), quorum.minimum_others + 3)))
    elif roll < 0.93:
        present = required + rng.sample(others, max(quorum.minimum_others - 1, 0))
    else:
        required.remove(rng.choice(required))
        present = required + rng.sample(others, min(len(others), quorum.minimum_others + 1))
    return [a.value for a in quorum.agencies if a.value in present]


def _working_day_from(day: date) -> date:
    return day if CALENDAR.is_working_day(day) else CALENDAR.add_working_days(day, 1)


def _weighted(rng: random.Random, choices: list, weights: dict) -> Any:
    return rng.choices(choices, [weights.get(c, 1) for c in choices])[0]


def _play(session: Session, registry: WorkflowRegistry, rng: random.Random,
          steps: list[_Step]) -> Case:
    """Create and move one case through the service, each step at a backdated working hour."""
    case, at = None, None
    for step in steps:
        opening = datetime.combine(step.day, time(9), tzinfo=LONDON)
        if at is None or at < opening:
            at = opening + timedelta(minutes=rng.randint(0, 150))
        else:  # a later step on the same day: a little later, still within working hours
            at += timedelta(minutes=rng.randint(5, 45))
        now = at.astimezone(UTC)
        if step.trigger == CREATE:
            case = create_case(session, registry=registry, actor=step.actor,
                               referral=step.data or {}, now=now, workflow=WORKFLOW)
        else:
            fire(session, registry=registry, case_id=case.id, trigger=step.trigger,
                 actor=step.actor, now=now, data=step.data, reason=step.reason,
                 reason_code=step.reason_code)
    return case


class _Demo:
    """What every case plan shares: the random source, the workflow, the people and panels."""

    def __init__(self, rng: random.Random, definition: Definition, users: dict[str, User],
                 meetings: list[PanelMeeting], today: date):
        self.rng, self.definition, self.users, self.today = rng, definition, users, today
        self.meetings = meetings
        self._meeting_days = [m.held_on for m in meetings]

    def role(self, role: str) -> list[User]:
        return [u for u in self.users.values() if role in u.roles]

    def say(self, pool: str) -> str:
        return self.rng.choice(TEXTS[pool])

    def after(self, day: date, low: int, high: int) -> date:
        return CALENDAR.add_working_days(day, self.rng.randint(low, high))

    def meeting_after(self, day: date) -> PanelMeeting | None:
        i = bisect.bisect_right(self._meeting_days, day)
        return self.meetings[i] if i < len(self.meetings) else None

    def quorate(self, meeting: PanelMeeting) -> bool:
        return meeting.quorate  # as recorded: what the decision guard goes by

    def choose_outcome(self, gravity: int, admitted: bool) -> str:
        """Mostly the outcome the gravity score indicates; sometimes a nearby one."""
        outcomes = self.definition.outcomes
        allowed = [c for c in outcomes if admitted or not outcomes[c].admission_required]
        indicated = [c for c in self.definition.gravity[gravity] if c in allowed]
        if indicated and self.rng.random() > 0.12:
            return _weighted(self.rng, indicated, OUTCOME_WEIGHTS)
        nearby = [c for c in DEVIATIONS.get(gravity, ()) if c in allowed]
        return self.rng.choice(nearby or [c for c in allowed if c not in indicated] or allowed)

    def referrals(self, session: Session, count: int, first_day: date) -> list[dict[str, Any]]:
        """`count` referrals in date order, numbered after any demo cases already loaded."""
        rng, definition = self.rng, self.definition
        days = [first_day + timedelta(days=n) for n in range((self.today - first_day).days + 1)]
        working = [d for d in days if CALENDAR.is_working_day(d)]
        referred = sorted(rng.choice(working) for _ in range(count))
        # Every ethnicity at least once (given enough cases), the rest drawn by weight.
        codes = list(definition.ethnicities)
        ethnicities = codes[:count] + rng.choices(
            codes, [ETHNICITY_WEIGHTS.get(c, 1) for c in codes], k=max(count - len(codes), 0))
        rng.shuffle(ethnicities)
        start = session.exec(select(func.count()).select_from(Case).where(
            Case.police_reference.startswith(REFERENCE_PREFIX))).one()
        return [self.referral(start + i + 1, day, ethnicity)
                for i, (day, ethnicity) in enumerate(zip(referred, ethnicities, strict=True))]

    def referral(self, number: int, referred: date, ethnicity: str) -> dict[str, Any]:
        """One referral form: an invented child, an offence and perhaps a victim."""
        rng = self.rng
        options = {f.name: [o.value for o in f.options] for f in self.definition.referral.fields}
        sex = _weighted(rng, options["sex"], SEX_WEIGHTS)
        category = _weighted(rng, options["offence_category"],
                             {code: offence[0] for code, offence in OFFENCES.items()})
        _, victim_share, lowest_gravity, descriptions = OFFENCES.get(category, OTHER_OFFENCE)
        days_before = rng.randint(1, 30) if rng.random() < 0.8 else rng.randint(31, 120)
        offence_date = referred - timedelta(days=days_before)
        age = _weighted(rng, list(AGE_WEIGHTS), AGE_WEIGHTS)
        has_victim = rng.random() < victim_share
        return {
            "police_reference": f"{REFERENCE_PREFIX}{referred.year}/{number:06d}",
            "given_name": rng.choice(GIVEN_NAMES.get(sex, sum(GIVEN_NAMES.values(), ()))),
            "family_name": rng.choice(FAMILY_NAMES),
            "date_of_birth": self.birth_date(offence_date, age),
            "sex": sex,
            "ethnicity": ethnicity,
            "looked_after": rng.random() < 0.1,
            "offence_date": offence_date,
            "offence_description": rng.choice(descriptions),
            "offence_category": category,
            "gravity_score": max(lowest_gravity,
                                 _weighted(rng, list(GRAVITY_WEIGHTS), GRAVITY_WEIGHTS)),
            "admission": rng.random() < 0.85,
            "previous_formal_outcomes": _weighted(rng, list(PREVIOUS_OUTCOME_WEIGHTS),
                                                  PREVIOUS_OUTCOME_WEIGHTS),
            "referral_date": referred,
            "bail_date": self.after(referred, 5, 20) if rng.random() < 0.25 else None,
            "has_victim": has_victim,
            "victim_opted_out": has_victim and rng.random() < 0.2,
        }

    def birth_date(self, offence: date, age: int) -> date:
        """A date of birth making the child exactly `age` on the offence date."""
        youngest = _years_before(offence, age)  # birthday on the offence date
        oldest = _years_before(offence, age + 1) + timedelta(days=1)
        return oldest + timedelta(days=self.rng.randint(0, (youngest - oldest).days))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


class _CasePlan:
    """The steps of one case on both tracks, each track in date order."""

    def __init__(self, demo: _Demo, referral: dict[str, Any]):
        self.demo, self.rng, self.referral = demo, demo.rng, referral
        self.case_manager = self.rng.choice(demo.role("case_manager"))
        self.victim_worker = demo.role("victim_worker")[0]
        self.main: list[_Step] = []
        self.victim: list[_Step] = []
        self.views_day: date | None = None  # when the victim's views were recorded
        self.victim_last: date | None = None  # the last victim step before the victim is told
        # The first day the case may close as far as the victim track is concerned (None: not
        # yet known, because the victim is told the outcome only after the decision).
        self.closable_from: date | None = referral["referral_date"]
        self.admitted = referral["admission"] or self.rng.random() < 0.4
        self.recorder: User | None = None

    def steps(self) -> list[_Step]:
        """Both tracks merged by day (main first on a tie), up to `today`."""
        self.plan_victim_before_panel()
        self.plan_main()
        self.maybe_withdraw()
        # A stable sort keeps each track's order; every cross-track dependency is planned on
        # strictly later days, so the main-first tie-break never breaks a guard.
        merged = sorted(self.main + self.victim, key=lambda s: s.day)
        return [s for s in merged if s.day <= self.demo.today]

    def add(self, track: list[_Step], day: date, trigger: str, actor: User,
            data: dict[str, Any] | None = None, **reason: str) -> date:
        track.append(_Step(day, trigger, actor, data, **reason))
        return day

    def chance(self, share: float) -> bool:
        return self.rng.random() < share

    def manager(self, not_: User | None = None) -> User:
        return self.rng.choice([m for m in self.demo.role("manager") if m is not not_])

    # --- main track ---------------------------------------------------------------------------

    def plan_main(self) -> None:
        demo, cm = self.demo, self.case_manager
        day = self.add(self.main, self.referral["referral_date"], CREATE, demo.role("police")[0],
                       self.referral)
        day = self.add(self.main, demo.after(day, 1, 5), "take_case", cm)  # weekly allocation
        # Due 10 working days after the referral: most on time, some late.
        submitted = demo.after(self.referral["referral_date"],
                               *(11, 18) if self.chance(0.15) else (3, 7))
        outcome = demo.choose_outcome(self.referral["gravity_score"], self.admitted)
        day = self.add(self.main, max(submitted, demo.after(day, 1, 2)), "submit_assessment", cm,
                       self.assessment(outcome))
        if self.chance(0.15):  # returned for rework, then resubmitted
            day = self.add(self.main, demo.after(day, 1, 3), "return_assessment", self.manager(),
                           {"comments": demo.say("assessment_comments")})
            day = self.add(self.main, demo.after(day, 2, 5), "submit_assessment", cm,
                           self.assessment(outcome, revised=True))
        day = self.add(self.main, demo.after(day, *(6, 12) if self.chance(0.1) else (1, 4)),
                       "countersign", self.manager())
        decided = self.panel(day, outcome)
        if decided and self.chance(0.07):  # the manager sends the decision back to the panel
            day = self.add(self.main, demo.after(decided, 1, 2), "return_decision",
                           self.manager(not_=self.recorder),
                           {"comments": demo.say("decision_comments")})
            if self.chance(0.4):
                outcome = demo.choose_outcome(self.referral["gravity_score"], self.admitted)
            decided = self.panel(day, outcome)
        if decided:
            self.sign_off(decided, outcome, breach_allowed=True)

    def panel(self, day: date, outcome: str) -> date | None:
        """Defer at non-quorate (and sometimes quorate) panels, then decide; None: not yet."""
        deferred = False
        while meeting := self.demo.meeting_after(day):
            chair = self.demo.users.get(meeting.chair) or self.demo.role("panel_chair")[0]
            day = meeting.held_on
            if not self.demo.quorate(meeting):
                self.add(self.main, day, "defer", chair, {"meeting_id": meeting.id},
                         reason=DEFER_REASONS["other"], reason_code="other")
            elif not deferred and self.chance(0.06):
                deferred = True
                code = self.rng.choice([c for c in DEFER_REASONS if c != "other"])
                self.add(self.main, day, "defer", chair, {"meeting_id": meeting.id},
                         reason=DEFER_REASONS[code], reason_code=code)
            else:
                self.recorder = chair
                return self.add(self.main, day, "record_decision", chair,
                                self.decision(meeting, outcome))
        return None

    def sign_off(self, decided: date, outcome: str, breach_allowed: bool) -> None:
        if self.closable_from is None:
            self.plan_victim_told(decided)
        day = self.demo.after(decided, *(6, 12) if self.chance(0.1) else (3, 5))
        ends_case = not self.demo.definition.outcomes[outcome].intervention
        if ends_case:  # closing needs the victim work done first
            day = max(day, self.closable_from)
        self.add(self.main, day, "sign_off", self.manager(not_=self.recorder))
        if not ends_case:
            self.intervention(day, outcome, breach_allowed)

    def intervention(self, start: date, outcome: str, breach_allowed: bool) -> None:
        """Reviews about every 8 weeks, then completion or, sometimes, a breach."""
        demo, cm, rng = self.demo, self.case_manager, self.rng
        end = _working_day_from(start + timedelta(weeks=rng.randint(
            *INTERVENTION_WEEKS.get(outcome, (8, 12)))))
        breach = (_working_day_from(start + timedelta(weeks=rng.randint(3, 7)))
                  if breach_allowed and self.chance(0.1) else None)
        review = start
        while (review := _working_day_from(review + timedelta(
                weeks=8, days=rng.randint(7, 20) if self.chance(0.15) else rng.randint(-7, 0)))
               ) < (breach or end):
            self.add(self.main, review, "record_review", cm,
                     {"summary": demo.say("review_summary"), "child_views": demo.say("child_views"),
                      "parent_views": demo.say("parent_views")})
        if breach:
            self.add(self.main, breach, "breach", cm, reason=demo.say("breach"))
            escalated = ESCALATION.get(outcome, "charge")
            decided = self.panel(breach, escalated)
            if decided:
                self.sign_off(decided, escalated, breach_allowed=False)
            return
        # Set at the first sign-off; closing waits for the victim to be told the outcome.
        assert self.closable_from is not None
        self.add(self.main, max(end, self.closable_from), "complete", cm, self.completion())

    def maybe_withdraw(self) -> None:
        """Some cases are withdrawn early: drop what would have followed."""
        if not self.chance(0.06):
            return
        day = self.demo.after(self.referral["referral_date"], 2, 30)
        if self.main[-1].day < day:
            return  # the case ended before it could be withdrawn
        self.main = [s for s in self.main if s.day < day]
        self.victim = [s for s in self.victim if s.day < day]
        code = _weighted(self.rng, list(WITHDRAW_REASONS), {"police_no_further_action": 3,
                                                             "child_charged_elsewhere": 2})
        self.add(self.main, day, "withdraw", self.manager(), reason=WITHDRAW_REASONS[code],
                 reason_code=code)

    # --- victim track -------------------------------------------------------------------------

    def plan_victim_before_panel(self) -> None:
        """Contact, views and the RJ decision, which do not wait for the panel."""
        if not self.referral["has_victim"]:
            return
        demo, vw, add, track = self.demo, self.victim_worker, self.add, self.victim
        day = self.referral["referral_date"]
        if self.referral["victim_opted_out"]:  # no contact: record why, and that RJ is not offered
            day = self.views_day = add(track, demo.after(day, 2, 6), "record_victim_views", vw,
                                       {"reason_not_obtained": demo.say("victim_opted_out")})
            day = add(track, demo.after(day, 0, 2), "not_offer_rj", vw,
                      {"reasons": demo.say("rj_opted_out")})
            self.closable_from = CALENDAR.add_working_days(day, 1)
            return
        self.closable_from = None
        consents = not self.chance(0.15)
        day = add(track, demo.after(day, *(8, 15) if self.chance(0.08) else (1, 3)),
                  "contact_victim", vw, {"consents_to_contact": consents})
        views = ({"views": demo.say("victim_views")} if consents
                 else {"reason_not_obtained": demo.say("victim_no_views")})
        day = self.views_day = add(track, demo.after(day, 1, 3), "record_victim_views", vw, views)
        if not (consents and self.rng.random() < 0.6):
            self.victim_last = add(track, demo.after(day, 1, 3), "not_offer_rj", vw,
                                   {"reasons": demo.say("rj_no_offer")})
            if not consents:  # no further contact wanted, so the victim is not told the outcome
                self.closable_from = CALENDAR.add_working_days(self.victim_last, 1)
            return
        day = add(track, demo.after(day, 1, 5), "offer_rj", vw, {"reasons": demo.say("rj_offer")})
        if self.chance(0.45):
            day = add(track, demo.after(day, 2, 6), "victim_declines_rj", vw,
                      reason=demo.say("rj_declined"))
        else:
            day = add(track, demo.after(day, 2, 8), "start_rj", vw,
                      {"activity": self.rng.choice(RJ_ACTIVITIES)})
            if self.rng.random() < 0.7:  # otherwise told the outcome while RJ is still running
                day = add(track, demo.after(day, 3, 12), "complete_rj", vw,
                          {"victim_satisfied": self.rng.random() < 0.85})
        self.victim_last = day

    def plan_victim_told(self, decided: date) -> None:
        """Tell the victim the outcome after the decision (and after any RJ step planned)."""
        due = self.demo.after(decided, *(6, 10) if self.chance(0.1) else (1, 4))
        # RJ finishing after the victim is due to be told: either the victim is told late, or
        # told on time with RJ left in progress (no RJ step can follow telling the victim).
        last = self.victim[-1]
        if last.trigger == "complete_rj" and last.day >= due and self.chance(0.5):
            self.victim.pop()
            self.victim_last = self.victim[-1].day
        day = max(due, CALENDAR.add_working_days(self.victim_last or decided, 1))
        self.add(self.victim, day, "inform_victim", self.victim_worker)
        self.closable_from = CALENDAR.add_working_days(day, 1)

    # --- forms --------------------------------------------------------------------------------

    def assessment(self, outcome: str, revised: bool = False) -> dict[str, Any]:
        demo = self.demo
        gravity = self.referral["gravity_score"]
        risk = _weighted(self.rng, ["low", "medium", "high", "very_high"],
                         {"low": 60, "medium": 28, "high": 10, "very_high": 2} if gravity < 4
                         else {"low": 30, "medium": 45, "high": 20, "very_high": 5})
        proposed = outcome if self.rng.random() < 0.85 else self.rng.choice(
            list(demo.definition.outcomes))
        form = {"desistance": demo.say("desistance"),
                "safety_and_wellbeing": demo.say("safety_and_wellbeing"),
                "risk_to_others": risk, "safety_of_others": demo.say("safety_of_others"),
                "proposed_outcome": proposed,
                "proposed_outcome_reasons": demo.say("proposed_reasons"),
                "child_views": demo.say("child_views"), **self.parent_views()}
        if risk != "low":
            form["contingency_plan"] = demo.say("contingency_plan")
        if revised:
            form["safety_of_others"] += " Expanded after the manager's comments."
        return form

    def parent_views(self) -> dict[str, str]:
        if self.rng.random() < 0.85:
            return {"parent_views": self.demo.say("parent_views")}
        return {"parent_views_reason": self.demo.say("parent_views_reason")}

    def decision(self, meeting: PanelMeeting, outcome: str) -> dict[str, Any]:
        demo, definition = self.demo, self.demo.definition
        rules = definition.outcomes[outcome]
        form: dict[str, Any] = {"meeting_id": meeting.id, "outcome": outcome,
                                "rationale": demo.say("rationale"), "admission": self.admitted,
                                "child_views": demo.say("child_views"), **self.parent_views()}
        if outcome not in definition.gravity[self.referral["gravity_score"]]:
            form["deviation_rationale"] = demo.say("deviation_rationale")
        if rules.consent_required:
            form["consent_signed"] = True
        if rules.conditions_required:
            form["conditions"] = demo.say("conditions")
        views_missing = self.views_day is None or self.views_day >= meeting.held_on
        if self.referral["has_victim"] and views_missing:
            form["victim_views_reason"] = demo.say("victim_views_reason")
        return form

    def completion(self) -> dict[str, Any]:
        demo, rng = self.demo, self.rng
        form: dict[str, Any] = {"completed": rng.random() < 0.85,
                                "exit_review": demo.say("exit_review")}
        for who, gives_feedback in (("child", 0.7), ("parent", 0.65)):
            if rng.random() < gives_feedback:
                form[f"{who}_feedback"] = demo.say(f"{who}_feedback")
            else:
                form[f"{who}_declined_feedback"] = True
        return form
