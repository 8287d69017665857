"""Readable, explicit test data: synthetic people, referrals and forms, and a driver that walks a
case through the reference workflow step by step."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

from ooc import service
from ooc.accounts import hash_password
from ooc.calendar import local_date
from ooc.machine import WorkflowRegistry
from ooc.models import Case, PanelMeeting, User
from ooc.panels import record_meeting
from ooc.settings import PROJECT_ROOT

# Monday 2 March 2026, 10:00 UTC: a working day with no bank holiday near it.
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WORKFLOWS = PROJECT_ROOT / "workflows"
QUORATE = ["police", "yjs", "health", "education"]

USERS = {
    "police": ["police"],
    "case_manager": ["case_manager"],
    "case_manager2": ["case_manager"],
    "manager": ["manager"],
    "manager2": ["manager"],
    "chair": ["panel_chair"],
    "chair_manager": ["panel_chair", "manager"],
    "senior_practitioner": ["case_manager", "manager"],
    "victim_worker": ["victim_worker"],
    "board": ["board"],
    "admin": ["admin"],
    "data_protection": ["data_protection"],
}


def empty_database(engine: Engine) -> None:
    """Remove every row, keeping the schema (and restarting ids at 1) and the working-day
    calendar (reference data the schema comes with)."""
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)
              if t.name != "calendar_days"]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


PASSWORD = "a-test-password-for-everyone"


@lru_cache(maxsize=1)
def _password_hash() -> str:
    return hash_password(PASSWORD)  # once per run: argon2 is slow by design


def make_users(session: Session) -> dict[str, User]:
    users = {name: User(username=name, display_name=name.replace("_", " ").title(), roles=roles,
                        password_hash=_password_hash())
             for name, roles in USERS.items()}
    session.add_all(users.values())
    session.flush()
    return users


def referral(**overrides: Any) -> dict[str, Any]:
    """A valid referral of an 14-year-old for a gravity-2 shop theft with no victim."""
    values = {
        "police_reference": "TEST/0001",
        "given_name": "Alex",
        "family_name": "Example",
        "date_of_birth": "2011-06-15",
        "sex": "male",
        "ethnicity": "W1",
        "looked_after": False,
        "offence_date": "2026-02-20",
        "offence_description": "Theft from a shop",
        "offence_category": "theft_and_handling",
        "gravity_score": 2,
        "admission": True,
        "previous_formal_outcomes": 0,
        "referral_date": "2026-03-02",
        "has_victim": False,
        "victim_opted_out": False,
    }
    values.update(overrides)
    return values


def assessment(**overrides: Any) -> dict[str, Any]:
    values = {
        "desistance": "Engaged with school; wants to stay out of trouble.",
        "safety_and_wellbeing": "No concerns at home.",
        "risk_to_others": "low",
        "safety_of_others": "Low risk of harm to others.",
        "proposed_outcome": "community_resolution",
        "proposed_outcome_reasons": "First offence, admitted, low value.",
        "child_views": "Sorry and wants to make amends.",
        "parent_views": "Supportive of an informal outcome.",
    }
    values.update(overrides)
    return values


def decision(meeting_id: int, **overrides: Any) -> dict[str, Any]:
    values = {
        "meeting_id": meeting_id,
        "outcome": "community_resolution",
        "rationale": "Proportionate to a first, admitted, low-value offence.",
        "admission": True,
        "child_views": "Agrees with the outcome.",
        "parent_views": "Agrees with the outcome.",
    }
    values.update(overrides)
    return values


def completion(**overrides: Any) -> dict[str, Any]:
    values = {
        "completed": True,
        "exit_review": "All sessions attended; reparation done.",
        "child_feedback": "Helpful.",
        "parent_feedback": "Good communication.",
    }
    values.update(overrides)
    return values


@lru_cache(maxsize=1)
def _reference_workflow():
    return WorkflowRegistry.from_folder(WORKFLOWS).latest("oocd")


def make_meeting(session: Session, held_on: date = date(2026, 3, 2),
                 agencies: list[str] | None = None, now: datetime = NOW) -> PanelMeeting:
    return record_meeting(session, definition=_reference_workflow(), held_on=held_on, chair="chair",
                          agencies=QUORATE if agencies is None else agencies, now=now)


class Walker:
    """Moves one case through the reference workflow, committing each step like a request."""

    def __init__(self, session: Session, registry: WorkflowRegistry, users: dict[str, User],
                 now: datetime = NOW):
        self.session, self.registry, self.users, self.now = session, registry, users, now
        self.meeting: PanelMeeting | None = None

    def tick(self, days: int = 1) -> datetime:
        self.now += timedelta(days=days)
        return self.now

    def create(self, **overrides: Any) -> Case:
        case = service.create_case(self.session, registry=self.registry,
                                   actor=self.users["police"], referral=referral(**overrides),
                                   now=self.now)
        self.session.commit()
        return case

    def fire(self, case: Case, trigger: str, who: str, data: dict | None = None,
             **kwargs: Any) -> service.TransitionResult:
        try:
            result = service.fire(self.session, registry=self.registry, case_id=case.id,
                                  trigger=trigger, actor=self.users[who], now=self.now,
                                  data=data, **kwargs)
        except Exception:
            self.session.rollback()
            raise
        self.session.commit()
        return result

    def quorate_meeting(self) -> PanelMeeting:
        """A quorate panel meeting held today (the walker's today): one a day, as panels meet
        after the cases before them are ready."""
        today = local_date(self.now)
        if self.meeting is None or self.meeting.held_on != today:
            self.meeting = make_meeting(self.session, today, now=self.now)
            self.session.commit()
        return self.meeting

    # The path of the reference workflow, one step per state.
    def to_assessing(self, case: Case) -> None:
        self.fire(case, "take_case", "case_manager")

    def to_awaiting_countersignature(self, case: Case) -> None:
        self.to_assessing(case)
        self.tick()
        self.fire(case, "submit_assessment", "case_manager", assessment())

    def to_ready_for_panel(self, case: Case) -> None:
        self.to_awaiting_countersignature(case)
        self.tick()
        self.fire(case, "countersign", "manager")

    def victim_views(self, case: Case) -> None:
        if case.victim_state in ("awaiting_contact", "contacted"):
            self.fire(case, "record_victim_views", "victim_worker",
                      {"views": "Would like an apology."})

    def to_awaiting_signoff(self, case: Case, **decision_overrides: Any) -> None:
        self.to_ready_for_panel(case)
        self.victim_views(case)
        self.tick()
        self.fire(case, "record_decision", "chair",
                  decision(self.quorate_meeting().id, **decision_overrides))

    def victim_done(self, case: Case) -> None:
        if case.has_victim and case.victim_state == "views_recorded":
            self.fire(case, "not_offer_rj", "victim_worker",
                      {"reasons": "The victim does not want RJ."})
            if not case.victim_opted_out:
                self.fire(case, "inform_victim", "victim_worker")

    def to_intervention(self, case: Case) -> None:
        self.to_awaiting_signoff(case)
        self.tick()
        self.fire(case, "sign_off", "manager")

    def to_closed(self, case: Case) -> None:
        self.to_intervention(case)
        self.victim_done(case)
        self.tick()
        self.fire(case, "complete", "case_manager", completion())

    def to_withdrawn(self, case: Case) -> None:
        self.fire(case, "withdraw", "manager", reason="Police took no further action.",
                  reason_code="police_no_further_action")

    def to(self, case: Case, state: str) -> None:
        if state != "referred":
            getattr(self, f"to_{state}")(case)
        assert case.state == state
