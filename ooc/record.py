"""The case record: everything recorded on a case, read from its audit events and laid out in
the parts (sections) its workflow declares, with who recorded each thing and when.

The pages show it where people decide: the case page shows all of it, and each action's form
shows the sections its transition names in `shows`, so that whoever countersigns, decides or
signs off sees the work they are judging. What a field is called and how its value reads come
from the workflow's field declarations, so a field added to the workflow file appears here with
its label and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import Session, func, select

from ooc.audit import CREATE, case_events
from ooc.calendar import uk_date, uk_time
from ooc.definitions import Definition, FormField, Transition
from ooc.machine import WorkflowRegistry
from ooc.models import TRACK_COLUMNS, AuditEvent, Case, PanelMeeting, User


@dataclass(frozen=True)
class Row:
    """One answer: the field's label and its value as people read it."""

    label: str
    value: str
    changed: bool = False  # differs from the version before (resubmitted work only)
    long: bool = False     # several lines of text: shown with its line breaks


@dataclass(frozen=True)
class Entry:
    """One thing that happened on the case and what was recorded with it."""

    seq: int
    trigger: str
    title: str
    by: str
    role: str
    at: datetime
    rows: tuple[Row, ...]
    version: int = 0          # the nth submission of work that can be returned (0: not such)
    superseded: bool = False  # a later version of the same work replaced it

    @property
    def when(self) -> str:
        return uk_time(self.at)


@dataclass(frozen=True)
class Section:
    name: str
    label: str
    entries: tuple[Entry, ...]
    state: str | None = None  # where the section's track is now, for a track of its own

    @property
    def current(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if not e.superseded)


@dataclass(frozen=True)
class Rework:
    """Work sent back: what to redo, the return itself and the last submission to start from."""

    trigger: str
    label: str
    returned: Entry
    last_submission: dict[str, Any]


@dataclass(frozen=True)
class CaseRecord:
    sections: tuple[Section, ...]
    rework: Rework | None = None
    _by_name: dict[str, Section] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({s.name: s for s in self.sections})

    def section(self, name: str) -> Section | None:
        return self._by_name.get(name)

    def for_transition(self, transition: Transition) -> list[Section]:
        """The sections an action's form shows: the work its decision rests on."""
        return [self._by_name[name] for name in transition.shows if name in self._by_name]

    @property
    def recorded(self) -> list[Section]:
        """The sections with something in them, for the case page."""
        return [s for s in self.sections if s.entries]


# --- values as people read them ---------------------------------------------------------------


@dataclass(frozen=True)
class _Lookups:
    names: dict[str, str]
    meetings: dict[int, PanelMeeting]


def _meeting_rows(f: FormField, value: Any, definition: Definition,
                  lookups: _Lookups) -> list[Row]:
    meeting = lookups.meetings.get(value) if isinstance(value, int) else None
    if meeting is None:
        return [Row(f.label, f"Meeting {value} (no longer on record)")]
    agencies = {a.value: a.label for a in definition.quorum.agencies}
    chair = lookups.names.get(meeting.chair, meeting.chair)
    present = ", ".join(agencies.get(code, code) for code in meeting.agencies_present)
    return [
        Row(f.label, f"{meeting.held_on:%A} {uk_date(meeting.held_on)}, chaired by {chair}"),
        Row("Agencies present", present or "None recorded"),
        Row("Quorate when recorded", "Yes" if meeting.quorate else "No"),
    ]


def _text(f: FormField, value: Any) -> str:
    if f.type == "bool":
        return "Yes" if value else "No"
    if f.type == "date":
        try:
            return uk_date(date.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    if f.type == "choice":
        return next((o.label for o in f.options if o.value == value), str(value))
    return str(value)


def _rows(fields: Iterable[FormField], data: dict[str, Any], definition: Definition,
          lookups: _Lookups, before: dict[str, Any] | None = None) -> list[Row]:
    rows: list[Row] = []
    for f in fields:
        value = data.get(f.name)
        changed = before is not None and before.get(f.name) != value
        if value is None or value == "":
            if changed:  # answered before, left blank now
                rows.append(Row(f.label, "Removed in this version", changed=True))
            continue
        if f.type == "meeting":
            rows.extend(Row(r.label, r.value, changed) for r in
                        _meeting_rows(f, value, definition, lookups))
            continue
        rows.append(Row(f.label, _text(f, value), changed, long=f.type == "text"))
    return rows


def _reason_rows(event: AuditEvent) -> list[Row]:
    rows = []
    if event.reason_code:
        rows.append(Row("Reason", event.reason_code.replace("_", " ").capitalize()))
    if event.reason:
        rows.append(Row("Explanation" if event.reason_code else "Reason", event.reason,
                        long=True))
    return rows


# --- building the record ----------------------------------------------------------------------


def _lookups(session: Session, events: list[AuditEvent], definition: Definition) -> _Lookups:
    meeting_fields = {f.name for t in definition.transitions for f in t.fields
                      if f.type == "meeting"}
    ids = {e.data.get(name) for e in events for name in meeting_fields} - {None}
    meetings = {m.id: m for m in session.exec(
        select(PanelMeeting).where(PanelMeeting.id.in_(sorted(i for i in ids
                                                              if isinstance(i, int)))))}
    people = {e.actor for e in events} | {m.chair for m in meetings.values()}
    names = dict(session.exec(select(User.username, User.display_name)
                              .where(User.username.in_(sorted(people)))).all())
    return _Lookups(names=names, meetings=meetings)


def describe_answers(session: Session, *, definition: Definition,
                     fields: tuple[FormField, ...], data: dict[str, Any]) -> list[Row]:
    """Answers not yet recorded, as the record will show them (for checking them first)."""
    ids = sorted(v for f in fields if f.type == "meeting" and isinstance(v := data.get(f.name),
                                                                              int))
    meetings = {m.id: m for m in session.exec(select(PanelMeeting)
                                              .where(PanelMeeting.id.in_(ids)))}
    chairs = sorted({m.chair for m in meetings.values()})
    names = dict(session.exec(select(User.username, User.display_name)
                              .where(User.username.in_(chairs))).all())
    return _rows(fields, data, definition, _Lookups(names, meetings))


def build_record(session: Session, *, registry: WorkflowRegistry, case: Case,
                 events: list[AuditEvent] | None = None) -> CaseRecord:
    """The whole record of `case`, from its audit events, in its workflow's sections."""
    definition = registry.get(case.workflow_name, case.workflow_version)
    events = events if events is not None else case_events(session, case.id)
    lookups = _lookups(session, events, definition)
    reworkable = {t.returns for t in definition.transitions if t.returns}
    first = definition.sections[0].value if definition.sections else None

    placed: dict[str, list[Entry]] = {s.value: [] for s in definition.sections}
    submissions: dict[str, list[tuple[int, str]]] = {}  # trigger -> (index, section) of each
    last_data: dict[str, dict[str, Any]] = {}
    last_main: tuple[Transition, Entry] | None = None
    for event in events:
        version = registry.get(event.workflow_name, event.workflow_version)
        if event.trigger == CREATE:
            section, title = first, "Referral received"
            rows = _rows(version.referral.fields, event.data.get("referral", {}), version,
                         lookups)
            transition = None
        else:
            transition = (version.transition(event.from_state, event.trigger)
                          if event.from_state else None)
            if transition is None or transition.section not in placed:
                continue  # a migration between versions, or work the record has no place for
            section, title = transition.section, transition.done
            before = last_data.get(event.trigger) if event.trigger in reworkable else None
            rows = _rows(transition.fields, event.data, version, lookups, before)
            rows += _reason_rows(event)
        count = len(submissions.get(event.trigger, [])) + 1
        entry = Entry(seq=event.seq, trigger=event.trigger, title=title,
                      by=lookups.names.get(event.actor, event.actor),
                      role=event.role.replace("_", " "), at=event.at, rows=tuple(rows),
                      version=count if event.trigger in reworkable else 0)
        if section is None:
            continue
        if event.trigger in reworkable:
            for index, where in submissions.get(event.trigger, []):
                placed[where][index] = _superseded(placed[where][index])
            submissions.setdefault(event.trigger, []).append((len(placed[section]), section))
            last_data[event.trigger] = event.data
        placed[section].append(entry)
        if transition is not None and transition.track == "main":
            last_main = (transition, entry)

    sections = tuple(Section(s.value, s.label, tuple(placed[s.value]),
                             _track_state(definition, case, s.value))
                     for s in definition.sections)
    return CaseRecord(sections, _rework(definition, case, last_main, last_data))


def _superseded(entry: Entry) -> Entry:
    return Entry(**{**entry.__dict__, "superseded": True})


def _track_state(definition: Definition, case: Case, section: str) -> str | None:
    """The current state of a track other than the main one, where every transition shown in
    this section is on it (the victim's part of the record says where the victim work is)."""
    tracks = {t.track for t in definition.transitions if t.section == section}
    if len(tracks) != 1 or "main" in tracks:
        return None
    return definition.states[getattr(case, TRACK_COLUMNS[tracks.pop()])].label


def _rework(definition: Definition, case: Case, last_main: tuple[Transition, Entry] | None,
            last_data: dict[str, dict[str, Any]]) -> Rework | None:
    """Work returned by the case's last main-track step, if it is still to be redone."""
    if last_main is None or last_main[0].returns is None:
        return None
    transition, entry = last_main
    redo = definition.transition(case.state, transition.returns)
    if redo is None:
        return None
    return Rework(trigger=redo.trigger, label=redo.label, returned=entry,
                  last_submission=last_data.get(redo.trigger, {}))


def returned_cases(session: Session, *, registry: WorkflowRegistry,
                   cases: list[Case]) -> dict[int, str]:
    """Of `cases`, those whose work was returned and not yet redone, with what was returned."""
    if not cases:
        return {}
    by_id = {c.id: c for c in cases}
    later = aliased(AuditEvent)
    last_seq = (select(func.max(later.seq))
                .where(later.case_id == AuditEvent.case_id, later.track == "main")
                .scalar_subquery())
    last = (select(AuditEvent.case_id, AuditEvent.trigger, AuditEvent.from_state,
                   AuditEvent.workflow_name, AuditEvent.workflow_version)
            .where(AuditEvent.case_id.in_(sorted(by_id)), AuditEvent.seq == last_seq))
    found: dict[int, str] = {}
    for case_id, trigger, from_state, name, number in session.exec(last):
        transition = (registry.get(name, number).transition(from_state, trigger)
                      if from_state else None)
        case = by_id[case_id]
        current = registry.get(case.workflow_name, case.workflow_version)
        if transition is not None and transition.returns and current.transition(
                case.state, transition.returns):
            found[case_id] = transition.done
    return found
