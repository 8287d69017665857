"""Quality audits: a manager draws a random sample of the cases closed in a quarter and judges
each on the questions of METRICS.md's Q3 (assessment, planning and delivery, each for
desistance, the safety of the child and the safety of others, plus management oversight)."""

from __future__ import annotations

import math
import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, select
from sqlmodel import Session

from ooc.calendar import quarter_of, to_utc
from ooc.errors import FieldProblem, InvalidForm, NotFound, OocError
from ooc.figures.model import local_midnight
from ooc.inputs import TEXT_MAX_LENGTH, too_long
from ooc.models import AuditEvent, Case, QualityAudit

SAMPLE_SHARE = 0.20
SAMPLE_MINIMUM = 20
SUFFICIENT, INSUFFICIENT = "sufficient", "insufficient"


@dataclass(frozen=True)
class Question:
    code: str
    label: str


QUESTIONS = tuple(
    [Question(f"{stage}_{aspect}", f"{stage.capitalize()}: {label}")
     for stage in ("assessment", "planning", "delivery")
     for aspect, label in (("desistance", "desistance"),
                           ("safety_of_child", "safety and wellbeing of the child"),
                           ("safety_of_others", "safety of other people"))]
    + [Question("management_oversight", "Management oversight")])


def quarter_bounds(first: date) -> tuple[date, date]:
    """The quarter starting on `first`: its first day and the first day after it."""
    start, last = quarter_of(first)
    if first != start:
        raise OocError(f"{first:%d %B %Y} is not the first day of a quarter. Quarters start on "
                       "1 January, 1 April, 1 July and 1 October.")
    return first, last + timedelta(days=1)


def closed_in_quarter(session: Session, first: date) -> list[int]:
    """Cases whose main track reached `closed` in the quarter (local dates)."""
    start, end = quarter_bounds(first)
    query = (select(AuditEvent.case_id).distinct()
             .where(AuditEvent.to_state == "closed", AuditEvent.track == "main",
                    AuditEvent.at >= local_midnight(start), AuditEvent.at < local_midnight(end))
             .order_by(AuditEvent.case_id))
    return list(session.execute(query).scalars())


def sample_size(closed: int) -> int:
    """20% of the closed cases, at least 20 where there are that many."""
    return min(closed, max(math.ceil(closed * SAMPLE_SHARE), SAMPLE_MINIMUM))


def draw_sample(session: Session, *, first: date, by: str, now: datetime,
                rng: random.Random | None = None) -> list[QualityAudit]:
    """Draw the quarter's sample (once: a second draw would let a sample be chosen)."""
    quarter_bounds(first)
    if session.execute(select(func.count()).select_from(QualityAudit)
                       .where(QualityAudit.quarter_start == first)).scalar():
        raise OocError(f"The sample for the quarter starting {first:%d %B %Y} has already been "
                       "drawn. Audit the cases in it.")
    closed = closed_in_quarter(session, first)
    if not closed:
        raise OocError(f"No case was closed in the quarter starting {first:%d %B %Y}, so there "
                       "is nothing to sample. Choose another quarter.")
    chosen = (rng or random.Random(secrets.randbits(64))).sample(closed, sample_size(len(closed)))
    audits = [QualityAudit(quarter_start=first, case_id=case_id, sampled_at=to_utc(now),
                           sampled_by=by) for case_id in sorted(chosen)]
    session.add_all(audits)
    session.flush()
    return audits


def record_audit(session: Session, *, audit_id: int, answers: dict[str, str | None],
                 notes: str | None, by: str, now: datetime) -> QualityAudit:
    """A manager's judgement on every question; each must be answered."""
    audit = session.get(QualityAudit, audit_id)
    if audit is None:
        raise NotFound(f"There is no quality audit {audit_id}.")
    problems = [FieldProblem(q.code, f"Say whether {q.label.lower()} was sufficient")
                for q in QUESTIONS if answers.get(q.code) not in (SUFFICIENT, INSUFFICIENT)]
    problems += [FieldProblem(name, message) for name, message in too_long(
        notes=("The notes", (notes or "").strip(), TEXT_MAX_LENGTH))]
    if problems:
        raise InvalidForm(problems)
    audit.answers = {q.code: answers[q.code] for q in QUESTIONS}
    audit.notes = (notes or "").strip() or None
    audit.auditor, audit.audited_at = by, to_utc(now)
    session.add(audit)
    session.flush()
    return audit


def audits_of_quarter(session: Session, first: date) -> list[tuple[QualityAudit, Case]]:
    return list(session.execute(
        select(QualityAudit, Case).join(Case, and_(Case.id == QualityAudit.case_id))
        .where(QualityAudit.quarter_start == first).order_by(QualityAudit.id)).all())
