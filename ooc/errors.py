"""Domain errors. Each carries the plain-words reasons a person needs to put things right.

They say nothing about HTTP or exit codes: the web layer and the command line map them, each in
one place.
"""

from __future__ import annotations

from dataclasses import dataclass


class OocError(Exception):
    """Base of every error a user may see: `reasons` are complete sentences."""

    def __init__(self, message: str, reasons: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.reasons = list(reasons or [])

    def __str__(self) -> str:
        if not self.reasons:
            return self.message
        return self.message + "\n" + "\n".join(f"  - {reason}" for reason in self.reasons)


class DefinitionError(OocError):
    """A workflow file is malformed or inconsistent."""


class NotFound(OocError):
    """A case, user, meeting or workflow that does not exist."""


class UnknownTrigger(OocError):
    """The trigger does not exist, or cannot fire from the case's current state."""

    def __init__(self, trigger: str, state_description: str, allowed: list[str]):
        allowed_text = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"'{trigger}' cannot be done while the case is {state_description}. "
            f"What can be done now: {allowed_text}."
        )
        self.trigger = trigger
        self.allowed = allowed


class RoleNotAllowed(OocError):
    """The actor holds none of the roles the transition allows."""


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


class GuardsFailed(OocError):
    """One or more conditions of the workflow are not met; `problems` are those of them that
    concern one field of the form (so that a page can show each by its field)."""

    def __init__(self, message: str, reasons: list[str | FieldProblem] | None = None):
        reasons = list(reasons or [])
        super().__init__(message, [r.message if isinstance(r, FieldProblem) else r
                                   for r in reasons])
        self.problems = [r for r in reasons if isinstance(r, FieldProblem)]


class InvalidForm(OocError):
    """Form data is missing or of the wrong type; `problems` names each field."""

    def __init__(self, problems: list[FieldProblem]):
        super().__init__(
            "Some of the information is missing or not valid.",
            [p.message for p in problems],
        )
        self.problems = problems


class Conflict(OocError):
    """Someone else changed the case first (optimistic version check)."""


class DatabaseUnavailable(OocError):
    """The database cannot be reached or opened."""
