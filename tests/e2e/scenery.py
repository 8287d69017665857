"""The people and cases the end-to-end server starts with.

Users are made with `ooc.accounts.add_user` (synthetic names, one known test password). Cases are
set up through the transition service, one in each state the pages need to show, so that every
action form of the workflow is reachable from some case page by the role that may use it. Only
set-up uses the service; the tests themselves go through the pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlmodel import Session

from ooc.accounts import add_user
from ooc.machine import WorkflowRegistry
from ooc.models import Case, User
from tests.support import Walker, make_meeting

PASSWORD = "e2e-synthetic-password-0001"

# username: (display name, roles). Two managers, so one can return work and another countersign.
USERS = {
    "police": ("Test Police Officer", ["police"]),
    "case_manager": ("Test Case Manager", ["case_manager"]),
    "manager": ("Test Team Manager", ["manager"]),
    "manager2": ("Test Team Manager Two", ["manager"]),
    "chair": ("Test Panel Chair", ["panel_chair"]),
    "victim_worker": ("Test Victim Worker", ["victim_worker"]),
    "board": ("Test Board Member", ["board"]),
    "admin": ("Test Administrator", ["admin"]),
    "data_protection": ("Test Data Protection Officer", ["data_protection"]),
}

# The user who acts for each role, and the page that role lands on after signing in.
ROLE_USERS = {
    "police": "police",
    "case_manager": "case_manager",
    "panel_chair": "chair",
    "manager": "manager",
    "victim_worker": "victim_worker",
    "board": "board",
    "admin": "admin",
    "data_protection": "data_protection",
}
HOME_PAGES = {
    "police": "/referrals/new",
    "case_manager": "/caseload",
    "panel_chair": "/panel",
    "manager": "/manager",
    "victim_worker": "/victims",
    "board": "/board",
    "admin": "/admin",
    "data_protection": "/access-log",
}

# The application's clock starts on Monday 16 March 2026, after every set-up event (those are
# dated from Monday 2 March 2026, as in tests/support.py) and runs on from there in real time.
CLOCK_START = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)
TODAY = CLOCK_START.date()


@dataclass(frozen=True)
class Scenery:
    cases: dict[str, int]  # what the case shows -> case id
    meeting_id: int  # a quorate meeting that has happened
    meeting_date: date


def add_users(session: Session) -> dict[str, User]:
    users = {name: add_user(session, username=name, roles=roles, password=PASSWORD,
                            display_name=display, now=CLOCK_START)
             for name, (display, roles) in USERS.items()}
    session.commit()
    return users


def _rj(*steps: tuple[str, dict]) -> Callable[[Walker, Case], None]:
    def play(walker: Walker, case: Case) -> None:
        for trigger, data in steps:
            walker.fire(case, trigger, "victim_worker", data)
    return play


OFFER = ("offer_rj", {"reasons": "The victim would like to meet the child."})
START = ("start_rj", {"activity": "conference"})

# name: (state the main track is brought to, what the victim track does after that)
CASES: dict[str, tuple[str, Callable[[Walker, Case], None] | None]] = {
    "referred": ("referred", None),
    "assessing": ("assessing", None),
    "awaiting_countersignature": ("awaiting_countersignature", None),
    "ready_for_panel_victim_contacted": (
        "ready_for_panel", _rj(("contact_victim", {"consents_to_contact": True}))),
    "awaiting_signoff": ("awaiting_signoff", None),
    "intervention_rj_offered": ("intervention", _rj(OFFER)),
    "intervention_rj_in_progress": ("intervention", _rj(OFFER, START)),
    "intervention_rj_completed": ("intervention",
                                  _rj(OFFER, START, ("complete_rj", {"victim_satisfied": True}))),
    "intervention_victim_done": ("intervention", lambda walker, case: walker.victim_done(case)),
    "closed": ("closed", None),
    "withdrawn": ("withdrawn", None),
    # For the keyboard tests of the decision form: ready for panel with the victim's views in.
    "keyboard_errors": ("ready_for_panel", lambda walker, case: walker.victim_views(case)),
    "keyboard_decision": ("ready_for_panel", lambda walker, case: walker.victim_views(case)),
}

GIVEN_NAMES = ("Arvenna", "Borrimund", "Calindra", "Dastrel", "Elowyth", "Fennwick", "Gwynthera",
               "Halvern", "Jovessa", "Kestrane", "Lorimel", "Marrowen", "Nyssandra", "Orrick")


def build(session: Session, registry: WorkflowRegistry, users: dict[str, User]) -> Scenery:
    # Police, YJS, health and education, on the clock's first day: after every case set up here
    # was countersigned, and recent enough for its page to offer the agenda.
    meeting = make_meeting(session, TODAY, now=CLOCK_START)
    session.commit()
    cases = {}
    for number, (name, (state, victim_steps)) in enumerate(CASES.items(), start=1):
        walker = Walker(session, registry, users)
        case = walker.create(police_reference=f"E2E/SCENE/{number:02d}",
                             given_name=GIVEN_NAMES[number % len(GIVEN_NAMES)],
                             family_name="Scenery", has_victim=True)
        walker.to(case, state)
        if victim_steps:
            victim_steps(walker, case)
        cases[name] = case.id
    return Scenery(cases=cases, meeting_id=meeting.id, meeting_date=meeting.held_on)
