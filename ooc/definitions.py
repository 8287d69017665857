"""Load and validate workflow definitions (workflows/*.toml) into immutable objects.

Validation collects every problem it finds, each naming the file and the item, so that a policy
officer editing a workflow sees the whole list at once.
"""

from __future__ import annotations

import tomllib
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ooc.errors import DefinitionError
from ooc.guards import GUARDS
from ooc.inputs import STRING_MAX_LENGTH, TEXT_MAX_LENGTH
from ooc.models import REFERRAL_COLUMNS, TRACK_COLUMNS, Case

FIELD_TYPES = {"string", "text", "bool", "int", "date", "choice", "meeting"}
OPTION_TABLES = {"outcomes", "ethnicities"}
REASON_RULES = {"none", "optional", "required"}
ASSIGNABLE = {"case_manager"}
ANY_STATE = "*"


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    type: str
    required: bool = False
    hint: str | None = None
    options: tuple[Option, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    # The most characters a string or text answer may have (`max_length`, or a default).
    max_length: int | None = None
    options_from: str | None = None  # the table a choice's options come from, if any
    # Asked only when another field of the form has one of these answers ("yes"/"no" for a
    # yes-or-no question); otherwise not shown and not recorded.
    revealed_by: str | None = None
    revealed_when: tuple[str, ...] = ()
    # A guard of the form is about it: needed in some situations (its hint says which), so
    # never marked "(optional)", and the guard's refusal is shown by it.
    guarded: bool = False


@dataclass(frozen=True)
class Route:
    """A destination (or initial state) chosen when its `when` guard holds (None: always)."""

    state: str
    when: str | None = None


@dataclass(frozen=True)
class State:
    name: str
    track: str
    label: str
    terminal: bool = False
    entry_guards: tuple[str, ...] = ()


@dataclass(frozen=True)
class Track:
    name: str
    label: str
    initial: tuple[Route, ...]


@dataclass(frozen=True)
class Transition:
    trigger: str
    label: str
    track: str
    sources: tuple[str, ...]
    routes: tuple[Route, ...]
    roles: tuple[str, ...]
    guards: tuple[str, ...] = ()
    fields: tuple[FormField, ...] = ()
    guard_fields: dict[str, str] = field(default_factory=dict)  # guard -> the field it is about
    records: str | None = None
    clears: tuple[str, ...] = ()
    assigns: str | None = None
    reason: str = "optional"
    reason_codes: tuple[str, ...] = ()
    done_label: str = ""  # what happened, for the record and the timeline ("Assessment submitted")
    section: str | None = None  # the part of the case record its event is shown in
    shows: tuple[str, ...] = ()  # the record's sections shown on its form: the work judged
    returns: str | None = None  # the trigger whose work it sends back for rework
    confirm: bool = False  # cannot be undone: people check their answers before it is done

    @property
    def done(self) -> str:
        return self.done_label or self.label


@dataclass(frozen=True)
class Referral:
    roles: tuple[str, ...]
    guards: tuple[str, ...]
    fields: tuple[FormField, ...]


@dataclass(frozen=True)
class DeadlineRule:
    name: str
    label: str
    met_by: tuple[str, ...]
    from_fields: tuple[str, ...] = ()
    from_trigger: str | None = None
    from_entering: str | None = None
    working_days: int | None = None
    weeks: int | None = None
    when: str | None = None
    repeats: bool = False


@dataclass(frozen=True)
class Outcome:
    code: str
    label: str
    admission_required: bool
    formal: bool
    intervention: bool
    consent_required: bool = False
    conditions_required: bool = False


@dataclass(frozen=True)
class Quorum:
    agencies: tuple[Option, ...]
    required: tuple[str, ...]
    minimum_others: int

    def problems(self, present: list[str]) -> list[str]:
        """Why a meeting with these agencies present is not quorate (empty: it is)."""
        labels = {a.value: a.label for a in self.agencies}
        problems = [f"{labels.get(code, code)} did not attend" for code in self.required
                    if code not in present]
        others = len(set(present) - set(self.required))
        if others < self.minimum_others:
            problems.append(
                f"it needs at least {self.minimum_others} other agencies and had {others}"
            )
        return problems


@dataclass(frozen=True)
class Panel:
    """How the panel chair's pages work: a meeting's page offers the cases ready for panel (its
    agenda, with links to record each decision) until this many working days after it."""

    agenda_within_working_days: int = 5


@dataclass(frozen=True)
class Definition:
    name: str
    version: int
    title: str
    path: Path
    roles: tuple[str, ...]
    tracks: dict[str, Track]
    states: dict[str, State]
    transitions: tuple[Transition, ...]
    referral: Referral
    deadlines: tuple[DeadlineRule, ...]
    outcomes: dict[str, Outcome]
    gravity: dict[int, tuple[str, ...]]
    ethnicities: dict[str, Option]
    ethnicity_rollup: dict[str, str]
    quorum: Quorum
    panel: Panel = Panel()
    sections: tuple[Option, ...] = ()  # the case record's parts, in the order shown
    _by_source: dict[tuple[str, str], Transition] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for transition in self.transitions:
            for source in transition.sources:
                self._by_source[(source, transition.trigger)] = transition

    @property
    def key(self) -> tuple[str, int]:
        return (self.name, self.version)

    def transition(self, state: str, trigger: str) -> Transition | None:
        """The transition `trigger` fires from `state`, if any."""
        return self._by_source.get((state, trigger))

    def transitions_from(self, state: str) -> list[Transition]:
        return [t for t in self.transitions if state in t.sources]

    def triggers(self) -> set[str]:
        return {t.trigger for t in self.transitions}

    def is_terminal(self, state: str) -> bool:
        return self.states[state].terminal

    def open_states(self, track: str = "main") -> list[str]:
        return [s.name for s in self.states.values() if s.track == track and not s.terminal]

    def returned_by(self, trigger: str) -> list[Transition]:
        """The transitions that send `trigger`'s work back for rework."""
        return [t for t in self.transitions if t.returns == trigger]


class _Problems:
    """Collects problems, each prefixed with the file name."""

    def __init__(self, path: Path):
        self.path = path
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(f"{self.path.name}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise DefinitionError(
                f"{self.path} is not a valid workflow definition "
                f"({len(self.items)} problem{'s' if len(self.items) > 1 else ''}).",
                self.items,
            )


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise DefinitionError(f"{path}: no such file.") from None
    except tomllib.TOMLDecodeError as e:
        raise DefinitionError(f"{path} is not valid TOML: {e}.") from None
    except UnicodeDecodeError as e:
        raise DefinitionError(f"{path} is not UTF-8 text (byte {e.start + 1} cannot be read). "
                              "Save it as UTF-8.") from None
    except IsADirectoryError:
        raise DefinitionError(f"{path} is a folder, not a workflow file.") from None
    except OSError as e:
        raise DefinitionError(f"{path} cannot be read: {e.strerror or e}.") from None


def is_workflow_file(path: Path) -> bool:
    return "workflow" in read_toml(path)


def load_definition(path: str | Path) -> Definition:
    """Read, check and build one workflow file. Raises DefinitionError listing every problem."""
    path = Path(path)
    raw = read_toml(path)
    problems = _Problems(path)
    builder = _Builder(path, raw, problems)
    definition = builder.build()
    problems.raise_if_any()
    assert definition is not None
    return definition


class _Builder:
    def __init__(self, path: Path, raw: dict[str, Any], problems: _Problems):
        self.path = path
        self.raw = raw
        self.problems = problems
        self.option_tables: dict[str, tuple[Option, ...]] = {}

    # -- small typed readers: each reports a problem and returns a safe default --

    def _get(self, table: dict, key: str, kind: type | tuple, where: str, default: Any = None,
             required: bool = False) -> Any:
        if key not in table:
            if required:
                self.problems.add(f"{where}: '{key}' is missing.")
            return default
        value = table[key]
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            kinds = kind if isinstance(kind, tuple) else (kind,)
            expected = " or ".join(_plain(k.__name__) for k in kinds)
            self.problems.add(f"{where}: '{key}' should be {expected}, not {value!r}.")
            return default
        return value

    def _strings(self, table: dict, key: str, where: str, required: bool = False) -> tuple:
        value = self._get(table, key, (list, str), where, default=[], required=required)
        items = [value] if isinstance(value, str) else value
        if not all(isinstance(item, str) for item in items):
            self.problems.add(f"{where}: '{key}' should be a list of names.")
            return ()
        return tuple(items)

    def _unknown_keys(self, table: dict, allowed: set[str], where: str) -> None:
        for key in sorted(set(table) - allowed):
            self.problems.add(f"{where}: unknown key '{key}'.")

    # -- the parts --

    def build(self) -> Definition | None:
        head = self._get(self.raw, "workflow", dict, "[workflow]", default={}, required=True)
        name = self._get(head, "name", str, "[workflow]", default="?", required=True)
        version = self._get(head, "version", int, "[workflow]", default=0, required=True)
        if isinstance(version, int) and version < 1:
            self.problems.add(f"[workflow]: 'version' should be 1 or more, not {version}.")
        roles = self._strings(head, "roles", "[workflow]", required=True)
        outcomes, gravity = self._outcome_table(head)
        ethnicities = self._ethnicity_table(head)
        self.option_tables = {
            "outcomes": tuple(Option(o.code, o.label) for o in outcomes.values()),
            "ethnicities": tuple(Option(code, label) for code, (label, _) in ethnicities.items()),
        }
        quorum = self._quorum()
        panel = self._panel()
        states = self._states()
        tracks = self._tracks(states)
        sections = self._sections()
        transitions = self._transitions(states, roles, sections)
        referral = self._referral(roles)
        self._check_graph(tracks, states, transitions)
        self._check_clears(transitions)
        deadlines = self._deadlines(states, transitions, referral)
        if self.problems.items:
            return None
        return Definition(
            name=name,
            version=version,
            title=self._get(head, "title", str, "[workflow]", default=name),
            path=self.path,
            roles=roles,
            tracks=tracks,
            states=states,
            transitions=tuple(transitions),
            referral=referral,
            deadlines=tuple(deadlines),
            outcomes=outcomes,
            gravity=gravity,
            ethnicities={code: Option(code, label) for code, (label, _) in ethnicities.items()},
            ethnicity_rollup={code: rollup for code, (_, rollup) in ethnicities.items()},
            quorum=quorum,
            panel=panel,
            sections=sections,
        )

    def _table_file(self, head: dict, key: str) -> dict[str, Any]:
        filename = self._get(head, key, str, "[workflow]", required=True)
        if filename is None:
            return {}
        try:
            return read_toml(self.path.parent / filename)
        except DefinitionError as e:
            self.problems.add(f"[workflow] {key} = '{filename}': {e.message}")
            return {}

    def _outcome_table(self, head: dict) -> tuple[dict[str, Outcome], dict[int, tuple]]:
        raw = self._table_file(head, "outcomes")
        outcomes: dict[str, Outcome] = {}
        flags = ("admission_required", "formal", "intervention", "consent_required",
                 "conditions_required")
        for i, item in enumerate(raw.get("outcomes", []), start=1):
            where = f"outcome {item.get('code', i)!r}"
            self._unknown_keys(item, {"code", "label", *flags}, where)
            code = self._get(item, "code", str, where, required=True)
            values = {flag: self._get(item, flag, bool, where, default=False,
                                      required=flag in flags[:3]) for flag in flags}
            if code:
                outcomes[code] = Outcome(code=code, label=self._get(item, "label", str, where,
                                                                    default=code), **values)
        if raw and not outcomes:
            self.problems.add("the outcome table lists no outcomes.")
        gravity: dict[int, tuple[str, ...]] = {}
        for score, codes in raw.get("gravity", {}).items():
            if not score.isdigit() or not 1 <= int(score) <= 5:
                self.problems.add(f"gravity score '{score}' should be a number from 1 to 5.")
                continue
            for code in codes:
                if code not in outcomes:
                    self.problems.add(f"gravity score {score}: unknown outcome '{code}'.")
            gravity[int(score)] = tuple(codes)
        if raw and sorted(gravity) != [1, 2, 3, 4, 5]:
            self.problems.add("the gravity table needs an entry for each score from 1 to 5.")
        return outcomes, gravity

    def _ethnicity_table(self, head: dict) -> dict[str, tuple[str, str]]:
        raw = self._table_file(head, "ethnicities")
        table = {}
        for item in raw.get("ethnicities", []):
            where = f"ethnicity {item.get('code')!r}"
            code = self._get(item, "code", str, where, required=True)
            label = self._get(item, "label", str, where, required=True)
            rollup = self._get(item, "rollup", str, where, required=True)
            if code:
                table[code] = (label or code, rollup or "Not known")
        return table

    def _quorum(self) -> Quorum:
        raw = self._get(self.raw, "quorum", dict, "[quorum]", default={}, required=True)
        agencies = tuple(self._options(raw.get("agencies", []), "[quorum] agencies"))
        known = {a.value for a in agencies}
        required = self._strings(raw, "required", "[quorum]", required=True)
        for code in required:
            if code not in known:
                self.problems.add(f"[quorum]: required agency '{code}' is not in the agencies.")
        minimum = self._get(raw, "minimum_others", int, "[quorum]", default=0, required=True)
        if minimum < 0:
            self.problems.add("[quorum]: 'minimum_others' cannot be negative.")
        return Quorum(agencies=agencies, required=required, minimum_others=minimum)

    def _panel(self) -> Panel:
        raw = self._get(self.raw, "panel", dict, "[panel]", default={})
        self._unknown_keys(raw, {"agenda_within_working_days"}, "[panel]")
        days = self._get(raw, "agenda_within_working_days", int, "[panel]",
                         default=Panel.agenda_within_working_days)
        if days < 0:
            self.problems.add(f"[panel]: 'agenda_within_working_days' should be 0 (the day of "
                              f"the meeting only) or more, not {days}.")
        return Panel(agenda_within_working_days=max(days, 0))

    def _options(self, raw: Any, where: str) -> list[Option]:
        if not isinstance(raw, list):
            self.problems.add(f"{where}: should be a list of {{ value, label }} entries.")
            return []
        options = []
        for item in raw:
            if isinstance(item, dict) and isinstance(item.get("label"), str) and isinstance(
                    item.get("value", item.get("code")), str):
                options.append(Option(item.get("value", item.get("code")), item["label"]))
            else:
                self.problems.add(f"{where}: {item!r} should have a value and a label.")
        return options

    def _states(self) -> dict[str, State]:
        states: dict[str, State] = {}
        for raw in self._get(self.raw, "states", list, "[[states]]", default=[], required=True):
            where = f"state {raw.get('name', '?')!r}"
            self._unknown_keys(raw, {"name", "track", "label", "terminal", "entry_guards"}, where)
            name = self._get(raw, "name", str, where, required=True)
            if name is None:
                continue
            if name in states:
                self.problems.add(f"{where}: defined twice.")
            guards = self._strings(raw, "entry_guards", where)
            self._check_guards(guards, where)
            states[name] = State(
                name=name,
                track=self._get(raw, "track", str, where, default="main", required=True),
                label=self._get(raw, "label", str, where, default=name),
                terminal=self._get(raw, "terminal", bool, where, default=False),
                entry_guards=guards,
            )
        return states

    def _routes(self, raw: Any, where: str, states: dict[str, State]) -> tuple[Route, ...]:
        if isinstance(raw, str):
            raw = [{"state": raw}]
        if not isinstance(raw, list) or not raw:
            self.problems.add(f"{where}: should name a state, or list {{ state, when }} entries.")
            return ()
        routes = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict) or not isinstance(item.get("state"), str):
                self.problems.add(f"{where}: {item!r} should have a 'state'.")
                continue
            when = item.get("when")
            if item["state"] not in states:
                self.problems.add(f"{where}: unknown state '{item['state']}'.")
            if when is not None:
                self._check_guards((when,), where)
            elif i != len(raw) - 1:
                self.problems.add(f"{where}: only the last entry may leave out 'when'.")
            routes.append(Route(item["state"], when))
        if routes and routes[-1].when is not None:
            self.problems.add(f"{where}: the last entry must have no 'when', "
                              "so that one always applies.")
        return tuple(routes)

    def _tracks(self, states: dict[str, State]) -> dict[str, Track]:
        tracks = {}
        raw_tracks = self._get(self.raw, "tracks", dict, "[tracks]", default={}, required=True)
        if "main" not in raw_tracks:
            self.problems.add("[tracks]: a 'main' track is required.")
        for name, raw in raw_tracks.items():
            where = f"track '{name}'"
            if name not in TRACK_COLUMNS:
                self.problems.add(f"{where}: a case has no such track "
                                  f"(use {' or '.join(TRACK_COLUMNS)}).")
            routes = self._routes(raw.get("initial"), f"{where} initial", states)
            for route in routes:
                if route.state in states and states[route.state].track != name:
                    self.problems.add(f"{where}: initial state '{route.state}' is on "
                                      "another track.")
            tracks[name] = Track(name, self._get(raw, "label", str, where, default=name), routes)
        for state in states.values():
            if state.track not in raw_tracks:
                self.problems.add(f"state '{state.name}': unknown track '{state.track}'.")
        return tracks

    def _guard_list(self, raw: dict, where: str) -> tuple[tuple[str, ...], dict[str, str]]:
        """`guards`: names, or `{ guard = "...", field = "..." }` for a guard about one field
        of the form (its refusal is then shown by that field)."""
        items = raw.get("guards", [])
        if not isinstance(items, list):
            items = [items]
        names, about = [], {}
        for item in items:
            if isinstance(item, dict):
                self._unknown_keys(item, {"guard", "field"}, f"{where} guards")
                name, field_name = item.get("guard"), item.get("field")
                if not isinstance(name, str) or not isinstance(field_name, str):
                    self.problems.add(f"{where}: {item!r} in guards should name a guard and "
                                      "a field.")
                    continue
                about[name] = field_name
            elif isinstance(item, str):
                name = item
            else:
                self.problems.add(f"{where}: guards should list guard names, not {item!r}.")
                continue
            names.append(name)
        self._check_guards(tuple(names), where)
        return tuple(names), about

    def _check_guards(self, names: tuple[str, ...], where: str) -> None:
        for name in names:
            if name not in GUARDS:
                self.problems.add(f"{where}: unknown guard '{name}'.")

    def _check_roles(self, roles: tuple[str, ...], known: tuple[str, ...], where: str) -> None:
        for role in roles:
            if role not in known:
                self.problems.add(f"{where}: unknown role '{role}'.")

    def _fields(self, raw: Any, where: str) -> tuple[FormField, ...]:
        fields: list[FormField] = []
        allowed = {"name", "label", "type", "required", "hint", "options", "options_from",
                   "min", "max", "max_length", "shown_when"}
        for item in raw or []:
            name = item.get("name", "?")
            here = f"{where} field '{name}'"
            self._unknown_keys(item, allowed, here)
            kind = self._get(item, "type", str, here, default="string", required=True)
            if kind not in FIELD_TYPES:
                self.problems.add(f"{here}: unknown type '{kind}' "
                                  f"(use one of {', '.join(sorted(FIELD_TYPES))}).")
            if any(f.name == name for f in fields):
                self.problems.add(f"{here}: defined twice.")
            options: tuple[Option, ...] = ()
            if kind == "choice":
                if "options_from" in item:
                    source = item["options_from"]
                    if source not in OPTION_TABLES:
                        self.problems.add(f"{here}: options_from should be one of "
                                          f"{', '.join(sorted(OPTION_TABLES))}, not '{source}'.")
                    options = self.option_tables.get(source, ())
                else:
                    options = tuple(self._options(item.get("options"), here))
                if not options:
                    self.problems.add(f"{here}: a choice needs options or options_from.")
            elif "options" in item or "options_from" in item:
                self.problems.add(f"{here}: only a choice has options.")
            if kind != "int" and ("min" in item or "max" in item):
                self.problems.add(f"{here}: only an int has min and max.")
            max_length = self._get(item, "max_length", int, here)
            if max_length is not None and (kind not in ("string", "text") or max_length < 1):
                self.problems.add(f"{here}: only a string or text has max_length, a whole "
                                  "number of characters from 1.")
            if kind in ("string", "text") and max_length is None:
                max_length = STRING_MAX_LENGTH if kind == "string" else TEXT_MAX_LENGTH
            fields.append(FormField(
                name=name,
                label=self._get(item, "label", str, here, default=name, required=True),
                type=kind,
                required=self._get(item, "required", bool, here, default=False),
                hint=self._get(item, "hint", str, here),
                options=options,
                minimum=self._get(item, "min", int, here),
                maximum=self._get(item, "max", int, here),
                max_length=max_length if kind in ("string", "text") else None,
                options_from=item.get("options_from") if kind == "choice" else None,
                **self._shown_when(item, here, fields),
            ))
        return tuple(fields)

    def _shown_when(self, item: dict, where: str, earlier: list[FormField]) -> dict[str, Any]:
        """`shown_when = { field = "...", is = [...] }`: a question asked only after a given
        answer to an earlier one (a GOV.UK conditional reveal)."""
        raw = self._get(item, "shown_when", dict, where)
        if raw is None:
            return {}
        self._unknown_keys(raw, {"field", "is"}, f"{where} shown_when")
        name = self._get(raw, "field", str, f"{where} shown_when", required=True)
        answers = self._get(raw, "is", list, f"{where} shown_when", default=[], required=True)
        controller = next((f for f in earlier if f.name == name), None)
        if controller is None or controller.type not in ("bool", "choice"):
            self.problems.add(f"{where}: shown_when names '{name}', which should be a yes-or-no "
                              "or choice field listed before it.")
            return {}
        if controller.type == "choice" and len(controller.options) > 8:
            self.problems.add(f"{where}: shown_when names '{name}', whose options are a list "
                              "to choose from, not radios; only radios can reveal a question.")
        if controller.type == "bool":
            values = tuple("yes" if a else "no" for a in answers if isinstance(a, bool))
        else:
            values = tuple(a for a in answers if a in {o.value for o in controller.options})
        if not answers or len(values) != len(answers):
            kinds = "true or false" if controller.type == "bool" else "its options"
            self.problems.add(f"{where}: shown_when 'is' should list answers of '{name}' "
                              f"({kinds}).")
        return {"revealed_by": name, "revealed_when": values}

    def _sections(self) -> tuple[Option, ...]:
        raw = self._get(self.raw, "record", dict, "[record]", default={})
        self._unknown_keys(raw, {"sections"}, "[record]")
        sections = tuple(self._options(raw.get("sections", []), "[record] sections"))
        names = [s.value for s in sections]
        for name in sorted({n for n in names if names.count(n) > 1}):
            self.problems.add(f"[record] sections: '{name}' is listed twice.")
        return sections

    def _section_names(self, raw: dict, key: str, sections: tuple[Option, ...],
                       where: str) -> tuple[str, ...]:
        if key == "section":  # one section, where "shows" lists several
            one = self._get(raw, key, str, where)
            names: tuple[str, ...] = (one,) if one else ()
        else:
            names = self._strings(raw, key, where)
        known = {s.value for s in sections}
        for name in names:
            if name not in known:
                self.problems.add(f"{where}: '{key}' names '{name}', which is not a section of "
                                  "[record] (add it there, or use one of "
                                  f"{', '.join(sorted(known)) or 'none'}).")
        return names

    def _transitions(self, states: dict[str, State], roles: tuple[str, ...],
                     sections: tuple[Option, ...] = ()) -> list[Transition]:
        transitions: list[Transition] = []
        seen: set[tuple[str, str]] = set()
        allowed = {"trigger", "label", "source", "dest", "roles", "guards", "fields", "records",
                   "clears", "assigns", "reason", "reason_codes", "done_label", "section",
                   "shows", "returns", "confirm"}
        for raw in self._get(self.raw, "transitions", list, "[[transitions]]", default=[],
                             required=True):
            trigger = self._get(raw, "trigger", str, "[[transitions]]", required=True)
            if trigger is None:
                continue
            where = f"transition '{trigger}'"
            self._unknown_keys(raw, allowed, where)
            routes = self._routes(raw.get("dest"), f"{where} dest", states)
            sources = self._strings(raw, "source", where, required=True)
            track = states[routes[0].state].track if routes and routes[0].state in states else "?"
            if sources == (ANY_STATE,):
                sources = tuple(s.name for s in states.values()
                                if s.track == track and not s.terminal)
            for source in sources:
                if source not in states:
                    self.problems.add(f"{where}: unknown source state '{source}'.")
                    continue
                if states[source].terminal:
                    self.problems.add(f"{where}: '{source}' is terminal, so nothing can leave it.")
                if states[source].track != track:
                    self.problems.add(f"{where}: '{source}' and the destination are on "
                                      "different tracks.")
                if (source, trigger) in seen:
                    self.problems.add(f"{where}: defined twice from state '{source}'.")
                seen.add((source, trigger))
            for route in routes:
                if route.state in states and states[route.state].track != track:
                    self.problems.add(f"{where}: destinations are on different tracks.")
            transition_roles = self._strings(raw, "roles", where, required=True)
            self._check_roles(transition_roles, roles, where)
            guards, guard_fields = self._guard_list(raw, where)
            fields = self._fields(raw.get("fields"), where)
            for name, about in guard_fields.items():
                if about not in {f.name for f in fields}:
                    self.problems.add(f"{where}: guard '{name}' is about field '{about}', which "
                                      "is not a field of this transition.")
            fields = tuple(replace(f, guarded=True) if f.name in guard_fields.values() else f
                           for f in fields)
            reason = self._get(raw, "reason", str, where, default="optional")
            if reason not in REASON_RULES:
                self.problems.add(f"{where}: 'reason' should be none, optional or required.")
            assigns = self._get(raw, "assigns", str, where)
            if assigns is not None and assigns not in ASSIGNABLE:
                self.problems.add(f"{where}: cannot assign '{assigns}' "
                                  f"(only {', '.join(sorted(ASSIGNABLE))}).")
            transitions.append(Transition(
                trigger=trigger,
                label=self._get(raw, "label", str, where, default=trigger.replace("_", " ")),
                track=track,
                sources=sources,
                routes=routes,
                roles=transition_roles,
                guards=guards,
                fields=fields,
                guard_fields=guard_fields,
                records=self._get(raw, "records", str, where),
                clears=self._strings(raw, "clears", where),
                assigns=assigns,
                reason=reason,
                reason_codes=self._strings(raw, "reason_codes", where),
                done_label=self._get(raw, "done_label", str, where, default=""),
                section=(self._section_names(raw, "section", sections, where) or (None,))[0],
                shows=self._section_names(raw, "shows", sections, where),
                returns=self._get(raw, "returns", str, where),
                confirm=self._get(raw, "confirm", bool, where, default=False),
            ))
        triggers = {t.trigger for t in transitions}
        for t in transitions:
            if t.returns is not None and t.returns not in triggers:
                self.problems.add(f"transition '{t.trigger}': returns '{t.returns}', which is "
                                  "not a trigger of this workflow.")
        return transitions

    def _check_clears(self, transitions: list[Transition]) -> None:
        recorded = {t.records for t in transitions if t.records}
        for t in transitions:
            for name in t.clears:
                if name not in recorded:
                    self.problems.add(f"transition '{t.trigger}': clears '{name}', which no "
                                      "transition records.")

    def _referral(self, roles: tuple[str, ...]) -> Referral:
        raw = self._get(self.raw, "referral", dict, "[referral]", default={}, required=True)
        referral_roles = self._strings(raw, "roles", "[referral]", required=True)
        self._check_roles(referral_roles, roles, "[referral]")
        guards = self._strings(raw, "guards", "[referral]")
        self._check_guards(guards, "[referral]")
        fields = self._fields(raw.get("fields"), "[referral]")
        for f in fields:
            if f.name not in REFERRAL_COLUMNS:
                self.problems.add(f"[referral] field '{f.name}': not a referral column "
                                  f"(use one of {', '.join(REFERRAL_COLUMNS)}).")
        # A referral's text goes into a column of its own, which may hold less than the
        # default: the field takes no more than its column holds.
        columns = Case.__table__.c
        fields = tuple(
            replace(f, max_length=min(f.max_length, columns[f.name].type.length))
            if f.max_length and f.name in columns
            and getattr(columns[f.name].type, "length", None) else f
            for f in fields)
        return Referral(roles=referral_roles, guards=guards, fields=fields)

    def _check_graph(self, tracks: dict[str, Track], states: dict[str, State],
                     transitions: list[Transition]) -> None:
        edges: dict[str, set[str]] = {name: set() for name in states}
        for t in transitions:
            for source in t.sources:
                edges.setdefault(source, set()).update(r.state for r in t.routes)
        reached = {r.state for track in tracks.values() for r in track.initial}
        queue = deque(reached)
        while queue:
            for nxt in edges.get(queue.popleft(), ()):
                if nxt not in reached:
                    reached.add(nxt)
                    queue.append(nxt)
        for state in states.values():
            if state.name not in reached:
                self.problems.add(f"state '{state.name}' is unreachable: no transition leads to "
                                  "it and it is not an initial state.")
            elif not state.terminal and not (edges[state.name] - {state.name}):
                self.problems.add(f"state '{state.name}' has no way out: add a transition from "
                                  "it, or mark it terminal.")

    def _deadlines(self, states: dict[str, State], transitions: list[Transition],
                   referral: Referral) -> list[DeadlineRule]:
        triggers = {t.trigger for t in transitions}
        date_fields = {f.name for f in referral.fields if f.type == "date"}
        rules = []
        allowed = {"name", "label", "from_fields", "from_trigger", "from_entering",
                   "working_days", "weeks", "met_by", "when", "repeats"}
        for raw in self._get(self.raw, "deadlines", list, "[[deadlines]]", default=[]):
            name = self._get(raw, "name", str, "[[deadlines]]", default="?", required=True)
            where = f"deadline '{name}'"
            self._unknown_keys(raw, allowed, where)
            starts = [k for k in ("from_fields", "from_trigger", "from_entering") if k in raw]
            if len(starts) != 1:
                self.problems.add(f"{where}: give exactly one of from_fields, from_trigger "
                                  "or from_entering.")
            from_fields = self._strings(raw, "from_fields", where)
            for f in from_fields:
                if f not in date_fields:
                    self.problems.add(f"{where}: '{f}' is not a date field of the referral.")
            from_trigger = self._get(raw, "from_trigger", str, where)
            if from_trigger is not None and from_trigger not in triggers:
                self.problems.add(f"{where}: unknown trigger '{from_trigger}'.")
            from_entering = self._get(raw, "from_entering", str, where)
            if from_entering is not None and from_entering not in states:
                self.problems.add(f"{where}: unknown state '{from_entering}'.")
            periods = [k for k in ("working_days", "weeks") if k in raw]
            if len(periods) != 1:
                self.problems.add(f"{where}: give exactly one of working_days or weeks.")
            working_days = self._get(raw, "working_days", int, where)
            weeks = self._get(raw, "weeks", int, where)
            for value in (working_days, weeks):
                if value is not None and value < 1:
                    self.problems.add(f"{where}: the period should be 1 or more, not {value}.")
            met_by = self._strings(raw, "met_by", where, required=True)
            for trigger in met_by:
                if trigger not in triggers:
                    self.problems.add(f"{where}: unknown trigger '{trigger}' in met_by.")
            when = self._get(raw, "when", str, where)
            if when is not None:
                self._check_guards((when,), where)
            rules.append(DeadlineRule(
                name=name,
                label=self._get(raw, "label", str, where, default=name),
                met_by=met_by,
                from_fields=from_fields,
                from_trigger=from_trigger,
                from_entering=from_entering,
                working_days=working_days,
                weeks=weeks,
                when=when,
                repeats=self._get(raw, "repeats", bool, where, default=False),
            ))
        return rules


def _plain(type_name: str) -> str:
    return {"str": "text", "int": "a whole number", "bool": "true or false", "list": "a list",
            "dict": "a table"}.get(type_name, type_name)
