"""Workflow diagrams drawn from the definition: one track as accessible SVG, and the same
picture as text for screen readers.

Nothing is drawn by hand. States stand in one column, in ranks counted from the initial states:
each state comes below every state that leads to it (transitions that lead back are not
counted). An arrow between neighbouring boxes runs in the gap between them, forward on the
right and back on the left; a longer one runs in a lane at the side (back on the left and
forward on the right where there is room), one lane per transition and destination. A
transition that every open state allows (withdrawing a case) starts from a single "From any
open state" marker, and one that stays in its state is a small loop on the box, labelled inside
it. The output depends only on the definition and the arguments.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape

from ooc.definitions import Definition

TEXT = "#0b0c0c"
LINES = "#505a5f"  # arrows and borders: 7:1 on white, where #b1b4b6 would be only 2:1
HIGHLIGHT = "#1d70b8"
END_FILL = "#f3f2f1"
FONT = '"GDS Transport", arial, sans-serif'

BOX_WIDTH = 260
PADDING = 10
NAME = (16, 20)  # font size and line height
SMALL = (14, 18)
LABEL_CHARS = 20  # transition labels are wrapped to this many characters a line
EM = 0.56  # the font's average advance, in ems, to size wrapped text
GAP = 44
LANE_GAP = 22
ANY_STATE = "From any open state"


@dataclass(frozen=True)
class Move:
    """A transition out of a state, for the text alternative."""

    label: str
    dest: str
    stays: bool = False


@dataclass(frozen=True)
class Step:
    """A state, for the text alternative: where it leads and, optionally, how many cases."""

    name: str
    label: str
    terminal: bool
    current: bool
    count: int | None
    moves: tuple[Move, ...]


# --- the graph and the order of its states ----------------------------------------------------


@dataclass(frozen=True)
class _Arrow:
    label: str
    sources: tuple[str, ...]
    dest: str


@dataclass
class _Graph:
    states: list[str]
    arrows: list[_Arrow] = field(default_factory=list)
    anywhere: list[_Arrow] = field(default_factory=list)  # from every open state
    loops: dict[str, list[str]] = field(default_factory=dict)


def _graph(definition: Definition, track: str) -> _Graph:
    graph = _Graph([s.name for s in definition.states.values() if s.track == track])
    open_states = set(definition.open_states(track))
    for t in definition.transitions:
        if t.track != track:
            continue
        for dest in dict.fromkeys(r.state for r in t.routes):
            if dest in t.sources:
                graph.loops.setdefault(dest, []).append(t.label)
            sources = tuple(s for s in t.sources if s != dest)
            if sources:
                everywhere = len(open_states) > 2 and open_states <= set(t.sources)
                (graph.anywhere if everywhere else graph.arrows).append(
                    _Arrow(t.label, sources, dest))
    return graph


def _order(definition: Definition, track: str, graph: _Graph) -> list[str]:
    """States top to bottom by rank, each "from any open state" marker ("*" + its destination)
    just above the state it leads to."""
    successors: dict[str, list[str]] = {s: [] for s in graph.states}
    for arrow in graph.arrows:
        for source in arrow.sources:
            successors[source].append(arrow.dest)
    # Depth first from the initial states, to tell the arrows that lead back from the others.
    predecessors: dict[str, list[str]] = {s: [] for s in graph.states}
    on_path: dict[str, bool] = {}

    def visit(state: str) -> None:
        on_path[state] = True
        for nxt in successors[state]:
            if not on_path.get(nxt):
                predecessors[nxt].append(state)
            if nxt not in on_path:
                visit(nxt)
        on_path[state] = False

    for route in definition.tracks[track].initial:
        if route.state not in on_path:
            visit(route.state)
    ranks: dict[str, int] = {}

    def rank(state: str) -> int:
        if state not in ranks:
            ranks[state] = max((rank(p) + 1 for p in predecessors[state]), default=0)
        return ranks[state]

    unreached = max((rank(s) for s in on_path), default=0) + 1
    position = {s: i for i, s in enumerate(graph.states)}
    order = sorted(graph.states,
                   key=lambda s: (rank(s) if s in on_path else unreached, position[s]))
    for dest in dict.fromkeys(a.dest for a in graph.anywhere):
        order.insert(order.index(dest), "*" + dest)
    return order


# --- text and shapes ---------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _wrap(text: str, chars: int = LABEL_CHARS) -> tuple[str, ...]:
    return tuple(textwrap.wrap(text, chars, break_on_hyphens=False) or [""])


def _width(lines: Sequence[str], size: tuple[int, int] = SMALL) -> float:
    return max(len(line) for line in lines) * size[0] * EM


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text(x: float, top: float, lines: Sequence[str], size: tuple[int, int] = SMALL, *,
          anchor: str = "start", bold: bool = False, fill: str = TEXT,
          halo: bool = False) -> str:
    font, line = size
    attributes = f'x="{_n(x)}" font-size="{font}" fill="{fill}"'
    if anchor != "start":
        attributes += f' text-anchor="{anchor}"'
    if bold:
        attributes += ' font-weight="bold"'
    if halo:  # a white edge keeps a label readable where it crosses a line
        attributes += (' stroke="#ffffff" stroke-width="4" stroke-linejoin="round" '
                       'paint-order="stroke"')
    spans = "".join(f'<tspan x="{_n(x)}" y="{_n(top + i * line + line / 2 + font * 0.35)}">'
                    f"{escape(text)}</tspan>" for i, text in enumerate(lines))
    return f"<text {attributes}>{spans}</text>"


def _head(x: float, y: float, dx: float, dy: float) -> str:
    """An arrowhead with its tip at (x, y), pointing along (dx, dy)."""
    length = (dx * dx + dy * dy) ** 0.5
    ux, uy = dx / length, dy / length
    bx, by = x - 10 * ux, y - 10 * uy
    points = ((x, y), (bx - 5 * uy, by + 5 * ux), (bx + 5 * uy, by - 5 * ux))
    return (f'<polygon points="{" ".join(f"{_n(px)},{_n(py)}" for px, py in points)}" '
            f'fill="{LINES}"/>')


def _line(*points: tuple[float, float]) -> str:
    path = " ".join(f"{'L' if i else 'M'}{_n(x)} {_n(y)}" for i, (x, y) in enumerate(points))
    return f'<path d="{path}" fill="none" stroke="{LINES}" stroke-width="2"/>'


# --- layout -------------------------------------------------------------------------------------


@dataclass
class _Box:
    key: str  # a state, or "*" + a state for its "from any open state" marker
    lines: list[tuple[Sequence[str], tuple[int, int], bool, str]]  # text, size, bold, colour
    loops: set[int] = field(default_factory=set)  # which of `lines` label a loop
    top: float = 0
    height: float = 32
    ports: dict[int, list[int]] = field(default_factory=dict)  # side: lanes attached

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def port(self, side: int, lane: int) -> float:
        """Where a lane meets this box: the lanes on one side share its height."""
        ports = sorted(self.ports[side])
        return self.top + self.height * (ports.index(lane) + 1) / (len(ports) + 1)


def _box(definition: Definition, key: str, graph: _Graph, highlight: str | None,
         counts: dict[str, int] | None) -> _Box:
    if key.startswith("*"):
        return _Box(key, [([ANY_STATE], SMALL, False, TEXT)])
    inside = BOX_WIDTH - 2 * PADDING
    box = _Box(key, [])
    if key == highlight:
        box.lines.append((["Current state"], SMALL, True, HIGHLIGHT))
    box.lines.append((_wrap(definition.states[key].label, int(inside / (NAME[0] * 0.6))), NAME,
                      True, TEXT))
    if counts is not None:
        n = counts.get(key, 0)
        box.lines.append(([f"{n} case{'' if n == 1 else 's'}"], NAME, False, TEXT))
    for label in graph.loops.get(key, []):
        box.loops.add(len(box.lines))
        box.lines.append((_wrap(label, int(inside / (SMALL[0] * EM)) - 2), SMALL, False, TEXT))
    box.height = 2 * PADDING + sum(len(text) * size[1] for text, size, _, _ in box.lines)
    return box


@dataclass
class _Lane:
    label: Sequence[str]
    rows: tuple[int, ...]  # the source rows, then the destination row
    side: int  # -1 left, 1 right
    number: int
    index: int = 0  # 0 is the lane nearest the boxes
    x: float = 0

    @property
    def span(self) -> tuple[int, int]:
        return min(self.rows), max(self.rows)

    @property
    def label_gap(self) -> int:
        """The gap between rows where the label goes: no lane meets a box there."""
        return (self.span[0] + self.span[1] - 1) // 2


def _arrows(graph: _Graph, row: dict[str, int]) -> tuple[dict[tuple[int, int], list[str]],
                                                          list[_Lane]]:
    """Arrows between neighbouring rows, by (upper row, direction), and the lanes."""
    gaps: dict[tuple[int, int], list[str]] = {}
    lanes: list[_Lane] = []
    markers = [_Arrow(a.label, ("*" + a.dest,), a.dest) for a in graph.anywhere]
    for arrow in graph.arrows + markers:
        d = row[arrow.dest]
        far = []
        for s in (row[source] for source in arrow.sources):
            if abs(s - d) == 1:
                gaps.setdefault((min(s, d), 1 if d > s else -1), []).append(arrow.label)
            else:
                far.append(s)
        if far:
            side = -1 if all(s > d for s in far) else 1
            lanes.append(_Lane(_wrap(arrow.label), (*far, d), side, len(lanes)))
    # Shortest lanes nearest the boxes; a lane goes on its own side unless the other is nearer.
    taken: dict[int, list[list[tuple[int, int]]]] = {-1: [], 1: []}
    for lane in sorted(lanes, key=lambda lane: (lane.span[1] - lane.span[0], lane.span)):
        lane.index, _, lane.side = min((_free_lane(taken[side], lane.span), side != lane.side,
                                        side) for side in (lane.side, -lane.side))
        if lane.index == len(taken[lane.side]):
            taken[lane.side].append([])
        taken[lane.side][lane.index].append(lane.span)
    return gaps, lanes


def _free_lane(lanes: list[list[tuple[int, int]]], span: tuple[int, int]) -> int:
    """The nearest lane with room for rows `span` (a lane past the last if none has)."""
    a, b = span
    return next((j for j, spans in enumerate(lanes)
                 if all(b < lo or hi < a for lo, hi in spans)), len(lanes))


def render_svg(definition: Definition, *, track: str = "main", highlight: str | None = None,
               counts: dict[str, int] | None = None, element_id: str | None = None) -> str:
    """The track as an SVG image: `highlight` outlines a state, `counts` adds cases per state."""
    if counts is None:  # the same picture on every case page in this state: drawn once
        return _still_svg(_ByIdentity(definition), track, highlight, element_id)
    return _draw_svg(definition, track, highlight, counts, element_id)


class _ByIdentity:
    """A definition as a cache key. Definitions never change once loaded but hold dicts, so they
    are not hashable; the key keeps its definition alive, so that its id is never reused."""

    __slots__ = ("definition",)

    def __init__(self, definition: Definition):
        self.definition = definition

    def __hash__(self) -> int:
        return id(self.definition)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ByIdentity) and other.definition is self.definition


@lru_cache(maxsize=1024)
def _still_svg(key: _ByIdentity, track: str, highlight: str | None,
               element_id: str | None) -> str:
    return _draw_svg(key.definition, track, highlight, None, element_id)


def _draw_svg(definition: Definition, track: str, highlight: str | None,
              counts: dict[str, int] | None, element_id: str | None) -> str:
    graph = _graph(definition, track)
    order = _order(definition, track, graph)
    boxes = [_box(definition, key, graph, highlight, counts) for key in order]
    gaps, lanes = _arrows(graph, {key: i for i, key in enumerate(order)})
    height = _stack(boxes, gaps, lanes)
    reach = {-1: BOX_WIDTH / 2, 1: BOX_WIDTH / 2}  # how far the drawing reaches on each side
    lines, labels = _draw_gaps(boxes, gaps, reach)
    _place_lanes(lanes, reach)
    more_lines, more_labels = _draw_lanes(boxes, lanes)
    shapes = [_draw_box(definition, box, highlight) for box in boxes]
    left, width, tall = -reach[-1] - 4, reach[-1] + reach[1] + 8, height + 8
    element_id = escape(element_id or f"workflow-{definition.name}-{track}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ooc-diagram" role="img" '
        f'id="{element_id}" aria-labelledby="{element_id}-title {element_id}-desc" '
        f'width="{_n(width)}" height="{_n(tall)}" viewBox="{_n(left)} -4 {_n(width)} {_n(tall)}" '
        f'font-family="{escape(FONT)}">'
        f'<title id="{element_id}-title">{escape(_title(definition, track))}</title>'
        f'<desc id="{element_id}-desc">'
        f'{escape(_description(definition, order, highlight, counts))}</desc>'
        + "".join(lines + more_lines + shapes + labels + more_labels) + "</svg>"
    )


def _stack(boxes: list[_Box], gaps: dict[tuple[int, int], list[str]],
           lanes: list[_Lane]) -> float:
    """Place the boxes top to bottom, each gap tall enough for its labels; the total height."""
    y = 0.0
    for i, box in enumerate(boxes):
        box.top = y
        y = box.bottom
        if i < len(boxes) - 1:
            blocks = [sum(len(_wrap(label)) for label in gaps.get((i, sign), [])) * SMALL[1] + 16
                      for sign in (1, -1)]
            blocks += [len(lane.label) * SMALL[1] + 12 for lane in lanes if lane.label_gap == i]
            y += max(GAP, *blocks)
    return y


def _draw_gaps(boxes: list[_Box], gaps: dict[tuple[int, int], list[str]],
               reach: dict[int, float]) -> tuple[list[str], list[str]]:
    """Arrows between neighbouring boxes: down on the right of the middle, up on the left."""
    lines, labels = [], []
    for (i, sign), names in sorted(gaps.items()):
        x = 16 * sign if (i, -sign) in gaps else 0
        top, bottom = boxes[i].bottom, boxes[i + 1].top
        start, end = (top, bottom) if sign > 0 else (bottom, top)
        lines.append(_line((x, start), (x, end)) + _head(x, end, 0, sign))
        text = [line for label in names for line in _wrap(label)]
        labels.append(_text(x + 8 * sign, (top + bottom - len(text) * SMALL[1]) / 2, text,
                            anchor="start" if sign > 0 else "end", halo=True))
        reach[sign] = max(reach[sign], sign * x + 8 + _width(text))
    return lines, labels


def _place_lanes(lanes: list[_Lane], reach: dict[int, float]) -> None:
    """Each lane clear of everything nearer the boxes, its label included."""
    for side in (-1, 1):
        x = max(BOX_WIDTH / 2 + LANE_GAP + 6, reach[side] + 12)
        for index in range(max((lane.index + 1 for lane in lanes if lane.side == side),
                               default=0)):
            here = [lane for lane in lanes if (lane.side, lane.index) == (side, index)]
            for lane in here:
                lane.x = side * x
            reach[side] = x + 8 + max(_width(lane.label) for lane in here)
            x = reach[side] + LANE_GAP


def _draw_lanes(boxes: list[_Box], lanes: list[_Lane]) -> tuple[list[str], list[str]]:
    """From the side of each source box out to the lane, along it, and into the destination."""
    for lane in lanes:
        for r in lane.rows:
            boxes[r].ports.setdefault(lane.side, []).append(lane.number)
    lines, labels = [], []
    for lane in lanes:
        edge = lane.side * BOX_WIDTH / 2
        *starts, end = (boxes[r].port(lane.side, lane.number) for r in lane.rows)
        for start in starts:
            lines.append(_line((edge, start), (lane.x, start)))
        lines.append(_line((lane.x, min(*starts, end)), (lane.x, max(*starts, end))))
        lines.append(_line((lane.x, end), (edge, end)) + _head(edge, end, -lane.side, 0))
        middle = (boxes[lane.label_gap].bottom + boxes[lane.label_gap + 1].top) / 2
        labels.append(_text(lane.x + 8 * lane.side, middle - len(lane.label) * SMALL[1] / 2,
                            lane.label, anchor="start" if lane.side > 0 else "end", halo=True))
    return lines, labels


def _draw_box(definition: Definition, box: _Box, highlight: str | None) -> str:
    half = BOX_WIDTH / 2
    if box.key.startswith("*"):
        width = _width([ANY_STATE]) + 28
        return (f'<g><rect x="{_n(-width / 2)}" y="{_n(box.top)}" width="{_n(width)}" '
                f'height="{_n(box.height)}" rx="16" fill="#ffffff" stroke="{LINES}" '
                f'stroke-width="2" stroke-dasharray="6 4"/>'
                + _text(0, box.top + (box.height - SMALL[1]) / 2, [ANY_STATE], anchor="middle")
                + "</g>")
    terminal = definition.is_terminal(box.key)
    current = box.key == highlight
    stroke, width = (HIGHLIGHT, 5) if current else (TEXT if terminal else LINES, 2)
    out = ['<g aria-current="step">' if current else "<g>",
           f'<rect x="{_n(-half)}" y="{_n(box.top)}" width="{BOX_WIDTH}" '
           f'height="{_n(box.height)}" rx="3" fill="{END_FILL if terminal else "#ffffff"}" '
           f'stroke="{stroke}" stroke-width="{width}"/>']
    if terminal:  # a double border marks an end state
        out.append(f'<rect x="{_n(-half + 5)}" y="{_n(box.top + 5)}" width="{BOX_WIDTH - 10}" '
                   f'height="{_n(box.height - 10)}" rx="2" fill="none" stroke="{TEXT}" '
                   f'stroke-width="1"/>')
    y = box.top + PADDING
    for i, (text, size, bold, colour) in enumerate(box.lines):
        out.append(_text(-half + PADDING + 2 * terminal, y, text, size, bold=bold, fill=colour))
        if i in box.loops:  # a small loop on the box's edge, beside its label
            mid = y + size[1] / 2
            out.append(f'<path d="M{_n(half)} {_n(mid - 6)} C{_n(half + 24)} {_n(mid - 16)} '
                       f'{_n(half + 24)} {_n(mid + 16)} {_n(half + 2)} {_n(mid + 6)}" '
                       f'fill="none" stroke="{LINES}" stroke-width="2"/>'
                       + _head(half + 1, mid + 6, -22, -8))
        y += len(text) * size[1]
    return "".join(out) + "</g>"


def _title(definition: Definition, track: str) -> str:
    return (f"{definition.title} (version {definition.version}): the "
            f"{definition.tracks[track].label.lower()} workflow")


def _description(definition: Definition, order: list[str], highlight: str | None,
                 counts: dict[str, int] | None) -> str:
    states = [definition.states[key] for key in order if not key.startswith("*")]
    text = "The states in order: " + "; ".join(
        s.label + (" (an end state)" if s.terminal else "") for s in states) + "."
    if highlight in definition.states:
        text += f" Current state: {definition.states[highlight].label}."
    if counts is not None:
        text += " Cases in each state: " + "; ".join(
            f"{s.label}, {counts.get(s.name, 0)}" for s in states) + "."
    return text


def outline(definition: Definition, *, track: str = "main", highlight: str | None = None,
            counts: dict[str, int] | None = None) -> list[Step]:
    """The diagram as text: each state, in the diagram's order, and where it leads."""
    if counts is None:
        return list(_still_outline(_ByIdentity(definition), track, highlight))
    return _outline(definition, track, highlight, counts)


@lru_cache(maxsize=1024)
def _still_outline(key: _ByIdentity, track: str, highlight: str | None) -> tuple[Step, ...]:
    return tuple(_outline(key.definition, track, highlight, None))


def _outline(definition: Definition, track: str, highlight: str | None,
             counts: dict[str, int] | None) -> list[Step]:
    steps = []
    for key in _order(definition, track, _graph(definition, track)):
        if key.startswith("*"):
            continue
        state = definition.states[key]
        moves = tuple(Move(t.label, definition.states[dest].label, stays=dest == key)
                      for t in definition.transitions_from(key)
                      for dest in dict.fromkeys(r.state for r in t.routes))
        steps.append(Step(key, state.label, state.terminal, key == highlight,
                          None if counts is None else counts.get(key, 0), moves))
    return steps
