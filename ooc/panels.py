"""Panel meetings: recorded once, with the agencies present as rows and whether the meeting met
the quorum rule in force when it was recorded. That is fixed then: the decision guard, the pages
and figure D5 all read it, so an administrator changing the rule later rewrites no history."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from ooc.calendar import to_utc
from ooc.definitions import Definition
from ooc.models import PanelAttendance, PanelMeeting
from ooc.quorum import known_agencies, quorum_in_force


def record_meeting(session: Session, *, definition: Definition, held_on: date, chair: str,
                   agencies: list[str], now: datetime) -> PanelMeeting:
    """A new panel meeting, flushed so that it has an id."""
    agencies = list(dict.fromkeys(agencies))
    quorate = not quorum_in_force(session, definition, now).problems(agencies)
    meeting = PanelMeeting(held_on=held_on, chair=chair, agencies_present=agencies,
                           quorate=quorate, created_at=to_utc(now))
    session.add(meeting)
    session.flush()
    session.add_all(PanelAttendance(meeting_id=meeting.id, agency=a) for a in agencies)
    session.flush()
    return meeting


def quorum_problems(session: Session, definition: Definition,
                    meeting: PanelMeeting) -> list[str]:
    """Why the meeting was not quorate (empty: it was), as the rule in force when it was
    recorded says. A meeting stored as not quorate that this rule would pass (one brought over
    from an older system, say) is described by the agencies that attended."""
    if meeting.quorate:
        return []
    problems = quorum_in_force(session, definition, meeting.created_at).problems(
        meeting.agencies_present)
    if problems:
        return problems
    labels = {a.value: a.label for a in known_agencies(session, definition)}
    present = ", ".join(labels.get(code, code) for code in meeting.agencies_present)
    return [f"it was recorded as not quorate, with {present or 'no agency'} present"]
