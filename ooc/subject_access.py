"""A subject access request: everything ooc holds about one child, in plain words.

The child is found by one case (its id or police reference); their other cases are the ones
with the same date of birth and the same given and family names (compared without case or
accents, as a search compares them), because ooc has no child identifier that links cases. The
document says how the cases were matched, so whoever answers the request can check it.

For each case: the referral and everything recorded since, as the case record shows it; every
event in order, in words, with who did it; the deadlines; quality audits of the case; and the
access log (who looked at the record, when, and through what). Staff appear by their display
names. Unfinished drafts are not included: they are a member of staff's work in progress, not
part of the record until submitted; the document says how many there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import func
from sqlmodel import Session, select

import ooc.figures  # noqa: F401  (before ooc.quality, which needs it loaded first)
from ooc.access import log_view
from ooc.audit import case_events
from ooc.calendar import to_utc, uk_date, uk_time
from ooc.errors import NotFound
from ooc.machine import WorkflowRegistry
from ooc.models import AccessLog, Case, CaseSearchKey, Deadline, Draft, QualityAudit, User
from ooc.quality import QUESTIONS
from ooc.record import build_record
from ooc.search import _plain, reference_key

VIEW = "subject access export"
QUESTION_LABELS = {q.code: q.label for q in QUESTIONS}


@dataclass(frozen=True)
class ChildCases:
    cases: list[Case]
    matched: str  # how the cases were found, in words


def find_child(session: Session, identifier: str) -> ChildCases:
    """The child's cases, from a case id or a police reference of any one of them."""
    identifier = identifier.strip()
    case = session.get(Case, int(identifier)) if identifier.isdigit() else None
    how = f"case {identifier}"
    if case is None:
        found = session.exec(select(CaseSearchKey.case_id)
                             .where(CaseSearchKey.key == reference_key(identifier))).first()
        case = session.get(Case, found) if found is not None else None
        how = f"police reference {identifier}"
    if case is None:
        raise NotFound(f"No case has the id or police reference '{identifier}'.")
    name = (_plain(case.given_name.strip()), _plain(case.family_name.strip()))
    same_birthday = session.exec(select(Case).where(Case.date_of_birth == case.date_of_birth)
                                 .order_by(Case.referral_date, Case.id)).all()
    cases = [c for c in same_birthday
             if (_plain(c.given_name.strip()), _plain(c.family_name.strip())) == name]
    others = len(cases) - 1
    matched = (f"Found by {how}. " + (
        f"{others} other case{'s' if others != 1 else ''} of a child with the same given name, "
        f"family name and date of birth {'are' if others != 1 else 'is'} included: check that "
        "they are the same child." if others else
        "No other case has a child with the same given name, family name and date of birth."))
    return ChildCases(cases, matched)


def _names(session: Session, usernames: set[str]) -> dict[str, str]:
    return dict(session.exec(select(User.username, User.display_name)
                             .where(User.username.in_(sorted(usernames)))).all())


def _case_content(session: Session, registry: WorkflowRegistry, case: Case) -> dict[str, Any]:
    definition = registry.get(case.workflow_name, case.workflow_version)
    events = case_events(session, case.id)
    record = build_record(session, registry=registry, case=case, events=events)
    deadlines = session.exec(select(Deadline).where(Deadline.case_id == case.id)
                             .order_by(Deadline.due_on, Deadline.id)).all()
    audits = session.exec(select(QualityAudit).where(QualityAudit.case_id == case.id)
                          .order_by(QualityAudit.quarter_start)).all()
    views = session.exec(select(AccessLog).where(AccessLog.case_id == case.id)
                         .order_by(AccessLog.at, AccessLog.id)).all()
    drafts = session.exec(select(func.count()).select_from(Draft)
                          .where(Draft.case_id == case.id)).one()
    names = _names(session, {e.actor for e in events} | {v.username for v in views}
                   | {a.auditor for a in audits if a.auditor} | {case.case_manager or ""})
    entries = {e.seq: e for s in record.sections for e in s.entries}
    rules = {r.name: r.label for r in definition.deadlines}

    def event_words(event) -> str:
        entry = entries.get(event.seq)
        if entry:
            return entry.title
        version = registry.get(event.workflow_name, event.workflow_version)
        transition = version.transition(event.from_state, event.trigger) \
            if event.from_state else None
        return transition.done if transition else "Moved to a new version of the workflow"

    return {
        "case_id": case.id,
        "police_reference": case.police_reference,
        "child": case.child_name,
        "date_of_birth": uk_date(case.date_of_birth),
        "referral_date": uk_date(case.referral_date),
        "stage": definition.states[case.state].label,
        "victim_work": definition.states[case.victim_state].label,
        "case_manager": names.get(case.case_manager, case.case_manager) or "Not allocated",
        "record": [{"section": s.label, "entries": [
            {"what": e.title, "by": e.by, "role": e.role, "when": e.when,
             "replaced_by_a_later_version": e.superseded,
             "answers": [{"question": r.label, "answer": r.value} for r in e.rows]}
            for e in s.entries]} for s in record.recorded],
        "events": [{"number": e.seq, "when": uk_time(e.at), "what": event_words(e),
                    "by": names.get(e.actor, e.actor), "role": e.role.replace("_", " ")}
                   for e in events],
        "deadlines": [{"what": rules.get(d.name, d.name.replace("_", " ")),
                       "from": uk_date(d.started_on), "due": uk_date(d.due_on),
                       "outcome": (f"met {uk_time(d.met_at)}" if d.met_at else
                                   f"no longer needed from {uk_time(d.cancelled_at)}"
                                   if d.cancelled_at else "open")} for d in deadlines],
        "quality_audits": [{"quarter_from": uk_date(a.quarter_start),
                            "audited": uk_time(a.audited_at) if a.audited_at else "not yet",
                            "by": names.get(a.auditor, a.auditor) if a.auditor else "",
                            "answers": [{"question": QUESTION_LABELS.get(code, code),
                                         "answer": answer} for code, answer in a.answers.items()],
                            "notes": a.notes or ""} for a in audits],
        "access_log": [{"when": uk_time(v.at), "who": names.get(v.username, v.username),
                        "through": v.view} for v in views],
        "unfinished_drafts_not_included": drafts,
    }


def subject_access(session: Session, *, registry: WorkflowRegistry, identifier: str,
                   actor: User, now: datetime) -> dict[str, Any]:
    """Everything held about the child, as plain data; logs the export on each case (the
    caller commits)."""
    child = find_child(session, identifier)
    for case in child.cases:
        log_view(session, user=actor, case_id=case.id, view=VIEW, now=now)
    session.flush()
    first = child.cases[0]
    return {
        "title": f"Information held about {first.child_name}",
        "prepared": uk_time(to_utc(now)),
        "prepared_by": actor.display_name,
        "child": {"name": first.child_name, "date_of_birth": uk_date(first.date_of_birth)},
        "matched": child.matched,
        "not_included": "Unfinished drafts that staff saved and have not yet submitted are "
                        "their work in progress, not part of the record; the number of them "
                        "on each case is given.",
        "cases": [_case_content(session, registry, c) for c in child.cases],
    }


def render_html(document: dict[str, Any]) -> str:
    """The document as one HTML page that needs nothing else to be read or printed."""
    env = Environment(loader=PackageLoader("ooc", "templates"),
                      autoescape=select_autoescape(["html"]))
    return env.get_template("subject_access.html").render(doc=document)
