"""Compile definitions to `transitions` machines, and keep every workflow version in a registry.

One Machine per workflow version and track, shared by every case: a case is never added to a
machine. The engine fires an event on a small stand-in object holding just the track's state, so
the cost of a transition does not depend on how many cases exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transitions import EventData, Machine

from ooc.definitions import Definition, is_workflow_file, load_definition
from ooc.errors import DefinitionError, NotFound
from ooc.guards import GuardContext, holds


@dataclass
class TrackState:
    """What a shared Machine moves: one track's state of one case, for one event."""

    state: str


def _route_condition(guard_name: str):
    def condition(event: EventData) -> bool:
        ctx: GuardContext = event.kwargs["ctx"]
        return holds(guard_name, ctx)

    condition.__name__ = guard_name
    return condition


def compile_machines(definition: Definition) -> dict[str, Machine]:
    """One Machine per track; routes with `when` become conditional transitions, in order."""
    machines = {}
    for track in definition.tracks:
        states = [s.name for s in definition.states.values() if s.track == track]
        table: list[dict[str, Any]] = []
        for t in definition.transitions:
            if t.track != track:
                continue
            for route in t.routes:
                entry: dict[str, Any] = {"trigger": t.trigger, "source": list(t.sources),
                                         "dest": route.state}
                if route.when:
                    entry["conditions"] = [_route_condition(route.when)]
                table.append(entry)
        machines[track] = Machine(
            model=None,
            states=states,
            transitions=table,
            initial=None,
            auto_transitions=False,
            send_event=True,
            name=f"{definition.name}.v{definition.version}.{track}",
        )
    return machines


class WorkflowRegistry:
    """Every workflow version found in a folder, with its compiled machines."""

    def __init__(self, definitions: list[Definition]):
        self._definitions: dict[tuple[str, int], Definition] = {}
        self._machines: dict[tuple[str, int], dict[str, Machine]] = {}
        for d in definitions:
            if d.key in self._definitions:
                raise DefinitionError(
                    f"Workflow {d.name} version {d.version} is defined twice: in "
                    f"{self._definitions[d.key].path.name} and {d.path.name}."
                )
            self._definitions[d.key] = d
            self._machines[d.key] = compile_machines(d)

    @classmethod
    def from_folder(cls, folder: str | Path) -> WorkflowRegistry:
        folder = Path(folder)
        files = sorted(p for p in folder.glob("*.toml") if is_workflow_file(p))
        if not files:
            raise DefinitionError(f"No workflow definitions found in {folder}.")
        return cls([load_definition(p) for p in files])

    def get(self, name: str, version: int) -> Definition:
        try:
            return self._definitions[(name, version)]
        except KeyError:
            raise NotFound(f"There is no workflow '{name}' version {version}.") from None

    def latest(self, name: str) -> Definition:
        versions = [v for (n, v) in self._definitions if n == name]
        if not versions:
            raise NotFound(f"There is no workflow named '{name}'.")
        return self._definitions[(name, max(versions))]

    def machine(self, definition: Definition, track: str) -> Machine:
        return self._machines[definition.key][track]

    def __iter__(self):
        return iter(self._definitions.values())
