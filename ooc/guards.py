"""Named guards the workflow files refer to.

A guard answers None when its condition holds, or a sentence saying what is missing and how to
put it right (a `FieldProblem` when it is about one field of the form, or a list of them when
it is about several). Guards that read the submitted form are skipped when the engine only asks
which actions are available (there is no form yet); they are checked when the action is
submitted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from ooc.calendar import local_date
from ooc.errors import FieldProblem
from ooc.models import Case, PanelMeeting, User

if TYPE_CHECKING:
    from ooc.definitions import Definition


@dataclass
class GuardContext:
    definition: Definition
    case: Case
    actor: User | None = None
    # The submitted (already type-checked) form, or None when only asking what is available.
    form: dict[str, Any] | None = None
    session: Session | None = None
    now: datetime | None = None

    def field(self, name: str) -> Any:
        return (self.form or {}).get(name)

    def record(self, name: str) -> dict[str, Any] | None:
        return (self.case.data or {}).get(name)


Failure = str | FieldProblem
Guard = Callable[[GuardContext], Failure | list[FieldProblem] | None]


@dataclass(frozen=True)
class GuardSpec:
    check: Guard
    uses_form: bool


GUARDS: dict[str, GuardSpec] = {}


def guard(*, uses_form: bool = False) -> Callable[[Guard], Guard]:
    def register(check: Guard) -> Guard:
        GUARDS[check.__name__] = GuardSpec(check, uses_form)
        return check

    return register


def failures(names: tuple[str, ...], ctx: GuardContext,
             about: dict[str, str] | None = None) -> list[Failure]:
    """What every guard in `names` that does not hold says (form guards need a form); `about`
    names the field the workflow says a guard is about, to show its refusal by."""
    found: list[Failure] = []
    for name in names:
        spec = GUARDS[name]
        if spec.uses_form and ctx.form is None:
            continue
        failure = spec.check(ctx)
        if isinstance(failure, str) and about and name in about:
            failure = FieldProblem(about[name], failure)
        for one in failure if isinstance(failure, list) else [failure] if failure else []:
            if one not in found:  # two guards about one meeting: "no such meeting" once
                found.append(one)
    return found


def evaluate(names: tuple[str, ...], ctx: GuardContext) -> list[str]:
    """The messages of every guard in `names` that does not hold (form guards need a form)."""
    return [f.message if isinstance(f, FieldProblem) else f for f in failures(names, ctx)]


def holds(name: str, ctx: GuardContext) -> bool:
    return not GUARDS[name].check(ctx)


def age_on(born: date, on: date) -> int:
    """Whole years of age on a date."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _outcome_label(ctx: GuardContext, code: str) -> str:
    outcome = ctx.definition.outcomes.get(code)
    return outcome.label if outcome else code


# --- the referral ---------------------------------------------------------------------------


@guard(uses_form=True)
def aged_10_to_17_at_offence(ctx: GuardContext) -> str | None:
    born, offence = ctx.field("date_of_birth"), ctx.field("offence_date")
    if born is None or offence is None:
        return None
    age = age_on(born, offence)
    if 10 <= age <= 17:
        return None
    return (
        f"The child was {age} on the date of the offence; out-of-court disposals are for "
        "children aged 10 to 17. Check the date of birth and the offence date."
    )


@guard(uses_form=True)
def offence_not_after_referral(ctx: GuardContext) -> str | None:
    offence, referred = ctx.field("offence_date"), ctx.field("referral_date")
    if offence is None or referred is None or offence <= referred:
        return None
    return (
        f"The offence date ({offence:%d %B %Y}) is after the referral date "
        f"({referred:%d %B %Y}). Check both dates."
    )


@guard(uses_form=True)
def referral_dates_not_in_future(ctx: GuardContext) -> list[FieldProblem]:
    """The offence and the referral have happened (the bail date may be still to come)."""
    if ctx.now is None:
        return []
    today = local_date(ctx.now)
    labels = {f.name: f.label for f in ctx.definition.referral.fields}
    return [FieldProblem(name, f"{labels.get(name, name)} ({day:%d %B %Y}) is in the future. "
                               f"Enter the date it happened, on or before today "
                               f"({today:%d %B %Y}).")
            for name in ("offence_date", "referral_date")
            if (day := ctx.field(name)) is not None and day > today]


# --- victims ----------------------------------------------------------------------------------


@guard()
def has_no_victim(ctx: GuardContext) -> str | None:
    return "The case has an identified victim." if ctx.case.has_victim else None


@guard()
def victim_contactable(ctx: GuardContext) -> str | None:
    if not ctx.case.has_victim:
        return "There is no identified victim on this case."
    if ctx.case.victim_opted_out:
        return "The victim asked not to be contacted."
    if (ctx.record("victim_contact") or {}).get("consents_to_contact") is False:
        return "The victim asked for no further contact."
    return None


@guard(uses_form=True)
def victim_views_given_or_reason(ctx: GuardContext) -> str | None:
    if ctx.field("views") or ctx.field("reason_not_obtained"):
        return None
    return "Record the victim's views, or why they could not be obtained."


@guard(uses_form=True)
def victim_views_or_reason(ctx: GuardContext) -> str | None:
    if not ctx.case.has_victim or ctx.record("victim_views") or ctx.field("victim_views_reason"):
        return None
    return (
        "The victim's views have not been recorded. Ask the victim worker to record them, or "
        "give the reason they could not be obtained."
    )


@guard()
def victim_work_done(ctx: GuardContext) -> str | None:
    if not ctx.case.has_victim:
        return None
    if not ctx.record("rj_decision"):
        return (
            "The case has a victim: the victim worker must record whether restorative justice "
            "is offered, with reasons, before the case can close."
        )
    if victim_contactable(ctx) is None and not ctx.record("victim_informed"):
        return "The victim must be told the outcome before the case can close."
    return None


# --- assessment -------------------------------------------------------------------------------

RISK_LEVELS_NEEDING_CONTINGENCY = {"medium", "high", "very_high"}


@guard(uses_form=True)
def contingency_plan_where_risk(ctx: GuardContext) -> str | None:
    if ctx.field("risk_to_others") in RISK_LEVELS_NEEDING_CONTINGENCY and not ctx.field(
        "contingency_plan"
    ):
        return "Add a contingency plan: the risk of harm to others is medium or above."
    return None


@guard(uses_form=True)
def parent_views_or_reason(ctx: GuardContext) -> str | None:
    if ctx.field("parent_views") or ctx.field("parent_views_reason"):
        return None
    return "Record the parent's or carer's views, or why they were not obtained."


@guard()
def not_assessment_author(ctx: GuardContext) -> str | None:
    assessment = ctx.record("assessment")
    if ctx.actor and assessment and assessment.get("by") == ctx.actor.username:
        return "You wrote this assessment, so a different manager must countersign it."
    return None


@guard()
def assessment_countersigned(ctx: GuardContext) -> str | None:
    if ctx.record("countersignature"):
        return None
    return "The assessment must be countersigned by a manager before the panel can decide."


# --- the panel decision -----------------------------------------------------------------------


# The form field naming the panel meeting. What the meeting guards find wrong is about it, so a
# form shows it by that field (and a meeting's agenda can tell which cases it could decide).
MEETING_FIELD = "meeting_id"


def _chosen_meeting(ctx: GuardContext) -> PanelMeeting | FieldProblem | None:
    """The meeting the form names, a problem if there is no such meeting, or None if the form
    names none (a required field: the form's own check says so)."""
    meeting_id = ctx.field(MEETING_FIELD)
    if meeting_id is None or ctx.session is None:
        return None
    meeting = ctx.session.get(PanelMeeting, meeting_id)
    if meeting is None:
        return FieldProblem(MEETING_FIELD, f"Panel meeting {meeting_id} does not exist. Choose "
                                           "a meeting from the list.")
    return meeting


def _countersigned_on(ctx: GuardContext) -> date | None:
    at = (ctx.record("countersignature") or {}).get("at")
    return local_date(datetime.fromisoformat(at)) if at else None


@guard(uses_form=True)
def meeting_held_since_countersignature(ctx: GuardContext) -> FieldProblem | None:
    """The meeting has happened (on or before today), and not before the assessment it needed
    was countersigned (a panel cannot have considered a case that was not yet ready)."""
    meeting = _chosen_meeting(ctx)
    if not isinstance(meeting, PanelMeeting):
        return meeting
    held = meeting.held_on
    if ctx.now is not None and held > (today := local_date(ctx.now)):
        return FieldProblem(MEETING_FIELD, (
            f"The panel meeting on {held:%d %B %Y} has not happened yet (today is "
            f"{today:%d %B %Y}). Record what the panel did on or after the day of the meeting."))
    countersigned = _countersigned_on(ctx)
    if countersigned is not None and held < countersigned:
        return FieldProblem(MEETING_FIELD, (
            f"The panel meeting on {held:%d %B %Y} was held before the assessment was "
            f"countersigned on {countersigned:%d %B %Y}, so it cannot have considered this case. "
            f"Choose a meeting held on or after {countersigned:%d %B %Y}."))
    return None


@guard(uses_form=True)
def quorate_panel(ctx: GuardContext) -> FieldProblem | None:
    meeting = _chosen_meeting(ctx)
    if not isinstance(meeting, PanelMeeting):
        return meeting
    # Imported here: ooc.panels needs ooc.definitions, which needs this module.
    from ooc.panels import quorum_problems

    # Whether it was quorate was fixed when it was recorded, under the rule in force then.
    problems = quorum_problems(ctx.session, ctx.definition, meeting)
    if not problems:
        return None
    return FieldProblem(MEETING_FIELD, f"The panel meeting on {meeting.held_on:%d %B %Y} is not "
                                       f"quorate: {'; '.join(problems)}.")


@guard(uses_form=True)
def deviation_rationale_when_departing(ctx: GuardContext) -> str | None:
    outcome = ctx.field("outcome")
    indicated = ctx.definition.gravity.get(ctx.case.gravity_score, ())
    if outcome is None or outcome in indicated or ctx.field("deviation_rationale"):
        return None
    indicated_text = " or ".join(_outcome_label(ctx, code) for code in indicated)
    return (
        f"The gravity score of {ctx.case.gravity_score} indicates {indicated_text}. Give the "
        f"reason for deciding {_outcome_label(ctx, outcome)} instead."
    )


@guard(uses_form=True)
def admission_when_outcome_needs_it(ctx: GuardContext) -> str | None:
    outcome = ctx.definition.outcomes.get(ctx.field("outcome"))
    if outcome and outcome.admission_required and not ctx.field("admission"):
        return f"{outcome.label} can only be given when the child has admitted the offence."
    return None


@guard(uses_form=True)
def consent_and_conditions_when_outcome_needs_them(ctx: GuardContext) -> str | None:
    outcome = ctx.definition.outcomes.get(ctx.field("outcome"))
    if outcome is None:
        return None
    missing = []
    if outcome.consent_required and not ctx.field("consent_signed"):
        missing.append("the child's signed consent")
    if outcome.conditions_required and not ctx.field("conditions"):
        missing.append("the conditions")
    if not missing:
        return None
    return f"{outcome.label} needs {' and '.join(missing)} to be recorded."


@guard()
def decision_recorded(ctx: GuardContext) -> str | None:
    return None if ctx.record("decision") else "The panel has not decided the outcome yet."


@guard()
def not_decision_recorder(ctx: GuardContext) -> str | None:
    decision = ctx.record("decision")
    if ctx.actor and decision and decision.get("by") == ctx.actor.username:
        return "You recorded this decision, so a different manager must sign it off."
    return None


@guard()
def decision_ends_case(ctx: GuardContext) -> str | None:
    decision = ctx.record("decision") or {}
    outcome = ctx.definition.outcomes.get(decision.get("outcome"))
    if outcome is not None and not outcome.intervention:
        return None
    return "The decided outcome leads to an intervention."


# --- closure ----------------------------------------------------------------------------------


@guard(uses_form=True)
def feedback_or_declined(ctx: GuardContext) -> str | None:
    missing = []
    if not (ctx.field("child_feedback") or ctx.field("child_declined_feedback")):
        missing.append("the child's feedback on the service, or that they declined to give it")
    if not (ctx.field("parent_feedback") or ctx.field("parent_declined_feedback")):
        missing.append(
            "the parent's or carer's feedback on the service, or that they declined to give it"
        )
    return f"Record {' and '.join(missing)}." if missing else None
