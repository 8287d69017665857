"""Panel meetings: recorded once, with the agencies present as rows and whether the meeting met
the quorum rule in force that day (figures D5 and D6 read both)."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from ooc.calendar import to_utc
from ooc.definitions import Definition
from ooc.models import PanelAttendance, PanelMeeting
from ooc.quorum import effective_quorum


def record_meeting(session: Session, *, definition: Definition, held_on: date, chair: str,
                   agencies: list[str], now: datetime) -> PanelMeeting:
    """A new panel meeting, flushed so that it has an id."""
    agencies = list(dict.fromkeys(agencies))
    quorate = not effective_quorum(session, definition).problems(agencies)
    meeting = PanelMeeting(held_on=held_on, chair=chair, agencies_present=agencies,
                           quorate=quorate, created_at=to_utc(now))
    session.add(meeting)
    session.flush()
    session.add_all(PanelAttendance(meeting_id=meeting.id, agency=a) for a in agencies)
    session.flush()
    return meeting
