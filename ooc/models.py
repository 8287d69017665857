"""Database tables. Instants are aware UTC datetimes; dates are local (Europe/London) dates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, PrimaryKeyConstraint, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

# JSONB on PostgreSQL (indexable, compact), plain JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def json_column(**kwargs: Any) -> Any:
    return Field(sa_column=Column(JSONType, nullable=False), **kwargs)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=64)
    display_name: str = Field(max_length=200)
    roles: list[str] = json_column(default_factory=list)
    team: str | None = Field(default=None, max_length=100)
    active: bool = True
    password_hash: str | None = Field(default=None, max_length=300)
    is_demo: bool = False
    # Sign-in lockout after repeated failures.
    failed_sign_ins: int = 0
    locked_until: datetime | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles


# The referral columns a workflow's referral form may fill. Figures are computed from them, so
# they are real columns rather than free-form data.
REFERRAL_COLUMNS = (
    "police_reference",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "ethnicity",
    "looked_after",
    "offence_date",
    "offence_description",
    "offence_category",
    "gravity_score",
    "admission",
    "previous_formal_outcomes",
    "referral_date",
    "bail_date",
    "has_victim",
    "victim_opted_out",
)


# The column holding each track's state.
TRACK_COLUMNS = {"main": "state", "victim": "victim_state"}


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_workflow_state", "workflow_name", "workflow_version", "state"),
        # A stage's, a case manager's and a police officer's cases, newest referral first, from
        # the index alone (finding a case, My referrals, the caseload).
        Index("ix_cases_state", "state", "referral_date", "id"),
        Index("ix_cases_case_manager", "case_manager", "referral_date", "id"),
        Index("ix_cases_referred_by", "referred_by", "referral_date", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workflow_name: str = Field(max_length=64)
    workflow_version: int
    state: str = Field(max_length=64)
    victim_state: str = Field(max_length=64)
    # Optimistic concurrency: equals the sequence number of the case's last audit event.
    version: int = 1
    audit_head: str = Field(max_length=64)
    case_manager: str | None = Field(default=None, max_length=64)
    # Who made the referral: the `create` event's actor, kept here so that a police officer's
    # referrals are found from an index. Filled by `ooc.service.create_case`.
    referred_by: str | None = Field(default=None, max_length=64)
    created_at: datetime
    updated_at: datetime
    # What the transitions recorded (assessment, decision, ...), keyed by the definition's
    # `records` names, each with who recorded it and when.
    data: dict[str, Any] = json_column(default_factory=dict)

    police_reference: str = Field(unique=True, max_length=64)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    date_of_birth: date = Field(index=True)  # found by date of birth (ooc/search.py)
    sex: str = Field(max_length=20)
    ethnicity: str = Field(max_length=8)
    looked_after: bool = False
    offence_date: date
    offence_description: str = Field(max_length=300)
    offence_category: str = Field(max_length=64)
    gravity_score: int
    admission: bool = False
    previous_formal_outcomes: int = 0
    referral_date: date = Field(index=True)
    bail_date: date | None = None
    has_victim: bool = False
    victim_opted_out: bool = False

    @property
    def child_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class CaseSearchKey(SQLModel, table=True):
    """What a case is found by (ooc/search.py): every prefix of every word of the child's name
    ("a", "al", ..., "alice", "s", ..., "smith"), lower-case and without accents, and the police
    reference as a whole (marked with a leading "#"). Each search word is then one equality on
    this table's key, whose rows for a key are in referral-date order, so the newest 20 matches
    of any word are read straight off the index, however many cases exist. Written with the
    case (`ooc.search.index_case`); names and references never change afterwards."""

    __tablename__ = "case_search_keys"
    __table_args__ = (PrimaryKeyConstraint("key", "referral_date", "case_id"),
                      {"sqlite_with_rowid": False})

    key: str = Field(max_length=100)
    referral_date: date
    case_id: int = Field(foreign_key="cases.id")


class AuditEvent(SQLModel, table=True):
    """One row per thing that happened to a case; append-only and hash-chained per case."""

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_audit_events_case_seq"),
        Index("ix_audit_events_trigger_at", "trigger", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    seq: int
    at: datetime
    actor: str = Field(max_length=64)
    role: str = Field(max_length=64)
    trigger: str = Field(max_length=64)
    track: str = Field(max_length=32)
    from_state: str | None = Field(default=None, max_length=64)
    to_state: str = Field(max_length=64)
    reason_code: str | None = Field(default=None, max_length=64)
    reason: str | None = None
    data: dict[str, Any] = json_column(default_factory=dict)
    workflow_name: str = Field(max_length=64)
    workflow_version: int
    # SHA-256 of `data` and `reason` (the event's personal content): the chain hashes this
    # digest rather than the content itself, so that anonymisation can remove the content and
    # the chain still verifies (ooc/audit.py, ooc/retention.py).
    data_digest: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class Deadline(SQLModel, table=True):
    """A milestone due on a case. Open while neither met nor cancelled."""

    __tablename__ = "deadlines"
    __table_args__ = (Index("ix_deadlines_open_due", "met_at", "cancelled_at", "due_on"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    name: str = Field(max_length=64)
    started_on: date
    due_on: date
    met_at: datetime | None = None
    cancelled_at: datetime | None = None


class PanelMeeting(SQLModel, table=True):
    __tablename__ = "panel_meetings"

    id: int | None = Field(default=None, primary_key=True)
    held_on: date = Field(index=True)
    chair: str = Field(max_length=64)
    agencies_present: list[str] = json_column(default_factory=list)
    # Whether the meeting met the quorum rule in force when it was recorded (figure D5).
    quorate: bool = False
    created_at: datetime


class PanelAttendance(SQLModel, table=True):
    """One agency at one panel meeting: `agencies_present` as rows, for figure D6."""

    __tablename__ = "panel_attendance"

    meeting_id: int = Field(foreign_key="panel_meetings.id", primary_key=True)
    agency: str = Field(primary_key=True, max_length=64)


class CalendarDay(SQLModel, table=True):
    """Every day from 2000 to 2060 with a running count of working days (England and Wales),
    so that the database can add working days: `add_wd(d, n)` is the working day whose count
    is d's count plus n."""

    __tablename__ = "calendar_days"
    # add_wd's "first day whose count is n" straight off this index: with the count alone
    # indexed, PostgreSQL (before it has statistics) walked the days in order, 13 ms a case,
    # and an import of 50,000 referrals spent ten minutes on its figures' rows.
    __table_args__ = (Index("ix_calendar_days_working_days_to_day", "working_days_to", "day"),)

    day: date = Field(primary_key=True)
    working: bool
    working_days_to: int = Field(index=True)  # working days from 1 January 2000 to this day


class VictimSteps(SQLModel):
    """When the victim was first informed, consented to contact, took part in restorative
    justice, reached the restorative justice step and had it decided (figures V2 to V4)."""

    informed_at: datetime | None = None
    informed_on: date | None = None
    consented_at: datetime | None = None
    took_part_at: datetime | None = None
    rj_reached_at: datetime | None = None
    rj_decided_at: datetime | None = None


class CaseFacts(VictimSteps, table=True):
    """What the figures need of a case, worked out from its events by `ooc.figures.facts` in
    the transaction of each event, so that a figure is one pass over one table. Instants are
    each milestone's first event; `*_on` their local dates; `*_wd` working-day counts (T5)."""

    __tablename__ = "case_facts"
    # Kept in referral-date order (SQLite: a table without rowids, clustered on its key), so
    # that a period's cases are read in one sweep rather than row by row through an index.
    # The open cases at an instant (T6) are found, and counted, from this index alone.
    __table_args__ = (PrimaryKeyConstraint("referral_date", "case_id"),
                      Index("ix_case_facts_open", "ended_at", "created_at"),
                      {"sqlite_with_rowid": False})

    referral_date: date
    case_id: int = Field(foreign_key="cases.id", unique=True)
    created_at: datetime
    ethnicity: str = Field(max_length=32)  # the rollup
    age_band: str = Field(max_length=8)
    looked_after: bool
    assessment_due_on: date
    decision_due_on: date
    countersignature_due_on: date | None = None
    sign_off_due_on: date | None = None
    assessed_at: datetime | None = None
    assessed_on: date | None = None
    countersigned_at: datetime | None = None
    countersigned_on: date | None = None
    decided_at: datetime | None = None
    decided_on: date | None = None
    signed_off_at: datetime | None = None
    signed_off_on: date | None = None
    withdrawn_at: datetime | None = None
    withdrawn_on: date | None = None
    ended_at: datetime | None = None  # closed or withdrawn
    referral_wd: int
    decision_from_wd: int  # the bail date's, or else the referral date's
    assessed_wd: int | None = None
    countersigned_wd: int | None = None
    decided_wd: int | None = None
    signed_off_wd: int | None = None
    last_decided_at: datetime | None = None
    last_formal: bool | None = None


class DecisionFacts(VictimSteps, table=True):
    """One panel decision (`record_decision` event), what held before it, and the case's
    details the decision figures are broken down by (`ooc.figures.facts`)."""

    __tablename__ = "decision_facts"
    # In time order, as `case_facts` is in referral-date order.
    __table_args__ = (PrimaryKeyConstraint("at", "event_id"), {"sqlite_with_rowid": False})

    at: datetime
    event_id: int = Field(foreign_key="audit_events.id", unique=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    seq: int
    next_at: datetime | None = None  # the case's next decision
    decided_on: date
    outcome: str = Field(max_length=64)
    meeting_id: int | None = None
    indicated: bool
    formal: bool
    rationale: bool
    countersigned_before: bool
    quorate: bool
    child_views: bool
    parent_views: bool
    victim_views_before: bool
    first_time: bool
    inform_due_on: date
    ethnicity: str = Field(max_length=32)
    sex: str = Field(max_length=20)
    age_band: str = Field(max_length=8)
    looked_after: bool
    has_victim: bool
    victim_opted_out: bool


class StepFacts(SQLModel, table=True):
    """An assessment submission and what came next on the main track (Q1, Q2), or the end of
    an intervention and what it recorded or the panel then decided (O1 to O3)."""

    __tablename__ = "step_facts"
    # In time order, as `case_facts` is in referral-date order.
    __table_args__ = (PrimaryKeyConstraint("at", "event_id"), {"sqlite_with_rowid": False})

    at: datetime
    event_id: int = Field(foreign_key="audit_events.id", unique=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    kind: str = Field(max_length=16)  # "submission" or "ending"
    trigger: str = Field(max_length=64)
    next_trigger: str | None = Field(default=None, max_length=64)
    next_at: datetime | None = None
    next_outcome: str | None = Field(default=None, max_length=64)  # after a breach
    completed: bool = False
    feedback: bool = False


class QualityAudit(SQLModel, table=True):
    """A closed case drawn for a quality audit of its quarter, and the manager's judgement on
    each question (ooc/quality.py); the answers feed figure Q3."""

    __tablename__ = "quality_audits"
    __table_args__ = (UniqueConstraint("quarter_start", "case_id",
                                       name="uq_quality_audits_quarter_case"),)

    id: int | None = Field(default=None, primary_key=True)
    quarter_start: date = Field(index=True)
    case_id: int = Field(foreign_key="cases.id")
    sampled_at: datetime
    sampled_by: str = Field(max_length=64)
    audited_at: datetime | None = Field(default=None, index=True)
    auditor: str | None = Field(default=None, max_length=64)
    # question code -> "sufficient" or "insufficient"
    answers: dict[str, str] = json_column(default_factory=dict)
    notes: str | None = None


class PlanObjective(SQLModel, table=True):
    """An objective of the improvement plan, from an inspection recommendation."""

    __tablename__ = "plan_objectives"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(unique=True, max_length=300)
    recommendation: str = Field(default="", max_length=300)  # where it comes from
    created_at: datetime


class PlanAction(SQLModel, table=True):
    """An action of an objective; its RAG rating is kept up to date by ooc/plan.py."""

    __tablename__ = "plan_actions"
    __table_args__ = (UniqueConstraint("objective_id", "title",
                                       name="uq_plan_actions_objective_title"),)

    id: int | None = Field(default=None, primary_key=True)
    objective_id: int = Field(foreign_key="plan_objectives.id", index=True)
    title: str = Field(max_length=300)
    owner: str = Field(max_length=100)
    original_due: date
    revised_due: date | None = None
    completed_on: date | None = None
    # Linked to a figure: green at or above `green`, amber at or above `amber`, else red.
    figure_id: str | None = Field(default=None, max_length=8)
    green: float | None = None
    amber: float | None = None
    manual_rag: str | None = Field(default=None, max_length=8)  # set by hand (unlinked only)
    rag: str = Field(default="amber", max_length=8)
    created_at: datetime


class PlanNote(SQLModel, table=True):
    """A status note on an action, kept in order."""

    __tablename__ = "plan_notes"

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="plan_actions.id", index=True)
    at: datetime
    author: str = Field(max_length=64)
    text: str


class PlanRagChange(SQLModel, table=True):
    """Every change of an action's RAG rating, with its date (for "what changed")."""

    __tablename__ = "plan_rag_changes"

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="plan_actions.id", index=True)
    at: datetime
    from_rag: str | None = Field(default=None, max_length=8)
    to_rag: str = Field(max_length=8)
    reason: str = Field(max_length=300)


class ApiToken(SQLModel, table=True):
    """A bearer token for the JSON API. Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    # What the token is for, in its owner's words ("nightly referral import").
    label: str | None = Field(default=None, max_length=100)
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class SignInSession(SQLModel, table=True):
    """A browser signed in as a user. Its cookie holds a random key of which only the SHA-256
    is stored; deleting the row signs that browser out, whatever copies of the cookie exist."""

    __tablename__ = "sign_in_sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    key_hash: str = Field(unique=True, max_length=64)
    started_at: datetime
    # Written at most once a minute (ooc.sign_in_sessions.TOUCH_EVERY), for the idle timeout.
    last_seen_at: datetime


class AccessLog(SQLModel, table=True):
    """Who viewed which child's case, when, from which address, and through what. Not chained
    row by row (that would make every view wait for the one before it): `ooc audit checkpoint`
    signs a digest of every row, so a row deleted or changed afterwards is found (ooc/anchor.py).
    """

    __tablename__ = "access_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    username: str = Field(max_length=64, index=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    view: str = Field(max_length=64)
    address: str | None = Field(default=None, max_length=64)  # the client's IP address


class SystemEvent(SQLModel, table=True):
    """A change to who can do what (users, roles, passwords, tokens, the quorum rule) or to
    the trail itself (an anonymisation): one hash chain for the whole service, written by the
    functions in ooc/ that make the change (ooc/system_audit.py)."""

    __tablename__ = "system_events"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True)
    at: datetime
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    subject: str = Field(max_length=200)
    details: dict[str, Any] = json_column(default_factory=dict)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class QuorumRule(SQLModel, table=True):
    """An administrator's quorum rule for a workflow. The latest row for a workflow replaces the
    rule in its file; earlier rows are the history of who changed it, and when."""

    __tablename__ = "quorum_rules"

    id: int | None = Field(default=None, primary_key=True)
    workflow_name: str = Field(max_length=64, index=True)
    agencies: list[dict[str, str]] = json_column(default_factory=list)  # {"code", "label"}
    required: list[str] = json_column(default_factory=list)
    minimum_others: int
    updated_at: datetime
    updated_by: str = Field(max_length=64)


class Draft(SQLModel, table=True):
    """A form on a case saved unfinished by its author, for them alone to resume. Not an audit
    event and never counted in a figure; removed when the action is done or can no longer be."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("case_id", "trigger", "author",
                                       name="uq_drafts_case_trigger_author"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    trigger: str = Field(max_length=64)
    author: str = Field(max_length=64)
    # The form as typed (text as it was, dates as their day, month and year boxes).
    values: dict[str, Any] = json_column(default_factory=dict)
    saved_at: datetime


class Job(SQLModel, table=True):
    """A long piece of work done in the background for one person (an uploaded file of
    referrals being imported), with its progress, so that a page can show it."""

    __tablename__ = "jobs"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    owner: str = Field(max_length=64, index=True)
    # running, done or failed.
    status: str = Field(max_length=16)
    # What it works on, for the page (the uploaded file's name).
    title: str = Field(max_length=255)
    total: int
    done: int = 0
    errors: list[str] = json_column(default_factory=list)
    # What it did, for the page once it is done (the import's report).
    result: dict[str, Any] = json_column(default_factory=dict)
    created_at: datetime
    # Written with every step of progress: a running job silent for long has stopped.
    heartbeat_at: datetime
    finished_at: datetime | None = None
