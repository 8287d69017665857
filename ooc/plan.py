"""The improvement plan: objectives (each from an inspection recommendation) and their actions,
with status notes over time, completion and RAG ratings whose every change is kept.

An action linked to a figure is rated from that figure for the latest complete quarter against
its own thresholds; an unlinked one is rated by hand, or else by METRICS.md's rule: green when
complete, red when past its original due date with no revised date or past its revised date,
amber otherwise.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from ooc.calendar import local_date, quarter_of, to_utc, uk_date
from ooc.errors import OocError
from ooc.figures import FIGURE_IDS, FiguresConfig, Period, Target, compute_figures
from ooc.figures.present import rag
from ooc.inputs import TEXT_MAX_LENGTH, finite_number, has_nul, too_long
from ooc.machine import WorkflowRegistry
from ooc.models import PlanAction, PlanNote, PlanObjective, PlanRagChange
from ooc.spreadsheet import unquote

RAGS = ("green", "amber", "red")
TITLE_LENGTH, OWNER_LENGTH = (PlanAction.__table__.c[n].type.length for n in ("title", "owner"))
OBJECTIVE_LENGTH = PlanObjective.__table__.c["title"].type.length
COLUMNS = ("objective", "recommendation", "action", "owner", "original_due", "revised_due",
           "completed_on", "status", "figure", "green", "amber", "rag")


class PlanFileError(OocError):
    """A plan file that cannot be imported; `reasons` lists each bad row."""


def latest_quarter(today: date) -> tuple[date, date]:
    """The most recent calendar quarter that has ended by `today`."""
    first_of_this, _ = quarter_of(today)
    return quarter_of(first_of_this - timedelta(days=1))


def rating(action: PlanAction, today: date, percentage: int | None) -> tuple[str, str]:
    """The action's RAG rating and why."""
    if action.figure_id:
        if percentage is None:
            return "amber", f"{action.figure_id} has no figure for the latest quarter"
        colour = rag(percentage, Target(action.green or 0, action.amber or 0))
        return colour, (f"{action.figure_id} is {percentage}% (green from {action.green:g}%, "
                        f"amber from {action.amber:g}%)")
    if action.completed_on:
        return "green", f"completed on {uk_date(action.completed_on)}"
    if action.manual_rag:
        return action.manual_rag, "set by hand"
    if action.revised_due is None and today > action.original_due:
        return "red", f"past its due date ({uk_date(action.original_due)})"
    if action.revised_due is not None and today > action.revised_due:
        return "red", f"past its revised due date ({uk_date(action.revised_due)})"
    return "amber", "in progress"


def current_ratings(session: Session, *, registry: WorkflowRegistry, config: FiguresConfig,
                    now: datetime) -> dict[int, tuple[str, str]]:
    """Every action's rating as of `now`, and why (read only: nothing is recorded)."""
    today = local_date(now)
    actions = list(session.exec(select(PlanAction).order_by(PlanAction.id)))
    percentages: dict[str, int | None] = {}
    if any(a.figure_id for a in actions):
        first, last = latest_quarter(today)
        figures = compute_figures(session, registry=registry, config=config,
                                  period=Period.of(first, last), side_by_side=True)
        percentages = {i: f.value.percentage if f.value else None for i, f in figures.items()}
    return {a.id: rating(a, today, percentages.get(a.figure_id or "")) for a in actions}


def refresh_ratings(session: Session, *, registry: WorkflowRegistry, config: FiguresConfig,
                    now: datetime) -> list[PlanRagChange]:
    """Rate every action again; each change is recorded with its date and reason."""
    ratings = current_ratings(session, registry=registry, config=config, now=now)
    rated_before = set(session.exec(select(PlanRagChange.action_id).distinct()))
    changes = []
    for action in session.exec(select(PlanAction).order_by(PlanAction.id)):
        colour, reason = ratings[action.id]
        if colour != action.rag or action.id not in rated_before:
            changes.append(PlanRagChange(action_id=action.id, at=to_utc(now),
                                         from_rag=action.rag if action.id in rated_before
                                         else None, to_rag=colour, reason=reason[:300]))
            action.rag = colour
            session.add(action)
    session.add_all(changes)
    session.flush()
    return changes


# --- editing ----------------------------------------------------------------------------------


def add_note(session: Session, *, action: PlanAction, text: str, author: str,
             now: datetime) -> PlanNote:
    text = text.strip()
    if not text:
        raise OocError("Write the status note before saving it.")
    if len(text) > TEXT_MAX_LENGTH:
        raise OocError(f"The status note must be {TEXT_MAX_LENGTH:,} characters or fewer.")
    note = PlanNote(action_id=action.id, at=to_utc(now), author=author, text=text)
    session.add(note)
    session.flush()
    return note


@dataclass
class ActionFields:
    """An action's fields as typed or imported, checked by `check`."""

    title: str
    owner: str
    original_due: date | None
    revised_due: date | None = None
    completed_on: date | None = None
    figure_id: str | None = None
    green: float | None = None
    amber: float | None = None
    manual_rag: str | None = None

    def problems(self) -> list[str]:
        problems = [message[0].lower() + message[1:-1] for _, message in too_long(
            title=("The action", self.title.strip(), TITLE_LENGTH),
            owner=("The owner", self.owner.strip(), OWNER_LENGTH))]
        for name in ("green", "amber"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and 0 <= value <= 100):
                problems.append(f"the {name} threshold must be a percentage from 0 to 100")
        if not self.title.strip():
            problems.append("the action is missing")
        if not self.owner.strip():
            problems.append("the owner is missing")
        if self.original_due is None:
            problems.append("the original due date is missing")
        if self.figure_id:
            if self.figure_id not in FIGURE_IDS:
                problems.append(f"there is no figure {self.figure_id!r} (figures are "
                                f"{', '.join(FIGURE_IDS)})")
            if self.green is None or self.amber is None:
                problems.append("a linked figure needs both a green and an amber threshold")
            elif self.amber > self.green and not problems:
                problems.append("the amber threshold must not be above the green one")
        if self.manual_rag and self.manual_rag not in RAGS:
            problems.append(f"the RAG rating {self.manual_rag!r} is not green, amber or red")
        return problems


def save_action(session: Session, *, objective: PlanObjective, fields: ActionFields,
                now: datetime, action: PlanAction | None = None) -> PlanAction:
    problems = fields.problems()
    if problems:
        raise OocError("The action cannot be saved.", [p[0].upper() + p[1:] + "." for p in
                                                         problems])
    action = action or PlanAction(objective_id=objective.id, created_at=to_utc(now),
                                  title="", owner="", original_due=fields.original_due)
    for name, value in vars(fields).items():
        setattr(action, name, value.strip() if isinstance(value, str) else value)
    session.add(action)
    session.flush()
    return action


def objective_named(session: Session, title: str, recommendation: str,
                    now: datetime) -> PlanObjective:
    objective = session.exec(select(PlanObjective).where(PlanObjective.title == title)).first()
    if objective is None:
        objective = PlanObjective(title=title, recommendation=recommendation,
                                  created_at=to_utc(now))
        session.add(objective)
        session.flush()
    return objective


# --- import and export ------------------------------------------------------------------------


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV or XLSX plan file, as text keyed by column name."""
    if not path.exists():
        raise PlanFileError(f"There is no file {path}.")
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(path, read_only=True, data_only=True).active
        except Exception as e:  # openpyxl raises many kinds for a file that is not XLSX
            raise PlanFileError(f"{path.name} is not an Excel (.xlsx) file that can be read: "
                                f"{e}.") from None
        values = [[_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        header, body = (values[0], values[1:]) if values else ([], [])
    elif path.suffix.lower() == ".csv":
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as e:
            raise PlanFileError(f"{path.name} is not UTF-8 text (byte {e.start + 1} cannot be "
                                "read). Save it as 'CSV UTF-8' and import it again.") from None
        reader = csv.reader(io.StringIO(text))
        # Text our export quoted against formula injection reads back as it was typed.
        header, *body = [[unquote(cell) for cell in row] for row in reader] or [[]]
    else:
        raise PlanFileError(f"{path.name}: give a .csv or .xlsx file.")
    header = [h.strip().lower() for h in header]
    missing = [c for c in ("objective", "action", "owner", "original_due") if c not in header]
    if missing:
        raise PlanFileError(f"{path.name} has no column {', '.join(missing)}. The columns are: "
                            f"{', '.join(COLUMNS)}.")
    # A short row (trailing cells left empty) is padded; extra cells beyond the header ignored.
    return [dict(zip(header, row + [""] * (len(header) - len(row)), strict=False))
            for row in body if any(cell.strip() for cell in row)]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _date(value: str, what: str, problems: list[str]) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        problems.append(f"the {what} {value!r} is not a date (write it as YYYY-MM-DD)")
        return None


def _number(value: str, what: str, problems: list[str]) -> float | None:
    if not value.strip():
        return None
    number = finite_number(value)
    if number is None:
        problems.append(f"the {what} threshold {value!r} is not a number")
    return number


def import_plan(session: Session, rows: list[dict[str, str]], *, author: str,
                now: datetime) -> int:
    """Import every row, or none: a file with any bad row writes nothing. Returns the
    number of actions imported; a row whose action already exists updates it."""
    parsed, bad = [], []
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        def get(name: str, row: dict[str, str] = row) -> str:
            return (row.get(name) or "").strip()

        problems: list[str] = []
        fields = ActionFields(
            title=get("action"), owner=get("owner"),
            original_due=_date(get("original_due"), "original due date", problems),
            revised_due=_date(get("revised_due"), "revised due date", problems),
            completed_on=_date(get("completed_on"), "completion date", problems),
            figure_id=get("figure").upper() or None,
            green=_number(get("green"), "green", problems),
            amber=_number(get("amber"), "amber", problems),
            manual_rag=get("rag").lower() or None)
        if not get("objective"):
            problems.append("the objective is missing")
        problems += [message[0].lower() + message[1:-1] for _, message in too_long(
            objective=("The objective", get("objective"), OBJECTIVE_LENGTH),
            recommendation=("The recommendation", get("recommendation"), OBJECTIVE_LENGTH),
            status=("The status note", get("status"), TEXT_MAX_LENGTH))]
        if has_nul(row):
            problems.append("a cell holds a NUL character (a zero byte), which cannot be stored")
        # An unreadable date is reported once, not also as missing.
        problems += [p for p in fields.problems()
                     if not (p == "the original due date is missing" and get("original_due"))]
        if problems:
            bad.append(f"Row {number}: " + "; ".join(problems) + ".")
        else:
            parsed.append((get("objective"), get("recommendation"), fields, get("status")))
    if bad:
        raise PlanFileError(f"Nothing was imported: {len(bad)} of {len(rows)} rows have "
                            "problems. Correct them and import the file again.", bad)
    if not parsed:
        raise PlanFileError("The file has no rows to import.")
    for title, recommendation, fields, status in parsed:
        objective = objective_named(session, title, recommendation, now)
        existing = session.exec(select(PlanAction).where(
            PlanAction.objective_id == objective.id, PlanAction.title == fields.title)).first()
        action = save_action(session, objective=objective, fields=fields, now=now,
                             action=existing)
        if status:
            add_note(session, action=action, text=status, author=author, now=now)
    return len(parsed)


def export_rows(session: Session) -> list[dict[str, Any]]:
    """The plan as rows with the import's columns (the latest status note as `status`): dates
    as dates and thresholds as numbers, for ooc.spreadsheet to write."""
    rows = []
    query = (select(PlanObjective, PlanAction)
             .join(PlanAction, PlanAction.objective_id == PlanObjective.id)
             .order_by(PlanObjective.id, PlanAction.id))
    for objective, action in session.exec(query):
        rows.append({
            "objective": objective.title, "recommendation": objective.recommendation,
            "action": action.title, "owner": action.owner,
            "original_due": action.original_due, "revised_due": action.revised_due,
            "completed_on": action.completed_on,
            "status": latest_note(session, action),
            "figure": action.figure_id or "",
            "green": action.green, "amber": action.amber,
            "rag": action.rag,
        })
    return rows


def latest_note(session: Session, action: PlanAction) -> str:
    note = session.exec(select(PlanNote).where(PlanNote.action_id == action.id)
                        .order_by(PlanNote.at.desc(), PlanNote.id.desc()).limit(1)).first()
    return note.text if note else ""


def plan_for_board(session: Session, since: date) -> list[dict[str, Any]]:
    """The plan for the board pack: objectives with their actions, each with its RAG and the
    RAG changes on or after `since`."""
    objectives: dict[int, dict[str, Any]] = {}
    query = (select(PlanObjective, PlanAction)
             .join(PlanAction, PlanAction.objective_id == PlanObjective.id)
             .order_by(PlanObjective.id, PlanAction.id))
    for objective, action in session.exec(query):
        entry = objectives.setdefault(objective.id, {
            "title": objective.title, "recommendation": objective.recommendation,
            "actions": []})
        changes = session.exec(select(PlanRagChange).where(
            PlanRagChange.action_id == action.id).order_by(PlanRagChange.id)).all()
        entry["actions"].append({
            "id": action.id, "title": action.title, "owner": action.owner,
            "original_due": action.original_due.isoformat(),
            "revised_due": action.revised_due.isoformat() if action.revised_due else None,
            "completed_on": action.completed_on.isoformat() if action.completed_on else None,
            "status": latest_note(session, action), "rag": action.rag,
            "figure": action.figure_id,
            "changes": [{"on": local_date(c.at).isoformat(), "from": c.from_rag,
                         "to": c.to_rag, "reason": c.reason}
                        for c in changes if local_date(c.at) >= since],
        })
    return list(objectives.values())
