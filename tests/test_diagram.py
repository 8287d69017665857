"""Workflow diagrams: drawn from the definition, accessible, escaped and the same every time."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

from ooc.diagram import outline, render_svg
from ooc.machine import WorkflowRegistry
from tests.conftest import WORKFLOWS

SVG = "{http://www.w3.org/2000/svg}"


def texts(svg: str) -> list[str]:
    """Each text of the drawing, its wrapped lines joined again."""
    root = ET.fromstring(svg)
    return [" ".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def box_of(svg: str, label: str) -> ET.Element:
    """The group drawing the state labelled `label`."""
    root = ET.fromstring(svg)
    for group in root.iter(f"{SVG}g"):
        lines = [" ".join(t.itertext()) for t in group.iter(f"{SVG}text")]
        if any(line == label for line in lines):
            return group
    raise AssertionError(f"no box for {label!r}")


def top_of(svg: str, label: str) -> float:
    return float(box_of(svg, label).find(f"{SVG}rect").get("y"))


def test_every_state_and_transition_of_each_track_is_drawn(registry):
    definition = registry.latest("oocd")
    for track in definition.tracks:
        drawn = " | ".join(texts(render_svg(definition, track=track)))
        for state in definition.states.values():
            if state.track == track:
                assert state.label in drawn, state.name
        for transition in definition.transitions:
            if transition.track == track:
                assert transition.label in drawn, transition.trigger


def test_it_is_valid_svg_with_an_accessible_name_and_description(registry):
    definition = registry.latest("oocd")
    root = ET.fromstring(render_svg(definition, highlight="assessing"))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title, desc = root[0], root[1]
    assert (title.tag, desc.tag) == (f"{SVG}title", f"{SVG}desc")
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.text == "Out-of-court disposal (version 1): the case workflow"
    assert desc.text.startswith("The states in order: Referred; Assessment in progress;")
    assert "Closed (an end state); Withdrawn (an end state)." in desc.text
    assert "Current state: Assessment in progress." in desc.text


def test_states_are_ranked_from_the_initial_state_down(registry):
    svg = render_svg(registry.latest("oocd"))
    tops = [top_of(svg, label) for label in (
        "Referred", "Assessment in progress", "Awaiting countersignature", "Ready for panel",
        "Awaiting sign-off", "Intervention", "Closed", "Withdrawn")]
    assert tops == sorted(tops)


def test_it_stays_narrow_enough_to_read_on_a_page(registry):
    root = ET.fromstring(render_svg(registry.latest("oocd"), counts={"referred": 12}))
    assert float(root.get("width")) <= 700


def test_the_current_state_is_outlined_and_marked_current(registry):
    svg = render_svg(registry.latest("oocd"), highlight="ready_for_panel")
    current = [g for g in ET.fromstring(svg).iter(f"{SVG}g") if g.get("aria-current")]
    assert len(current) == 1
    box = box_of(svg, "Ready for panel")
    assert box.get("aria-current") == "step"
    assert "Current state" in [" ".join(t.itertext()) for t in box.iter(f"{SVG}text")]
    assert box.find(f"{SVG}rect").get("stroke") == "#1d70b8"
    assert box_of(svg, "Referred").find(f"{SVG}rect").get("stroke") != "#1d70b8"


def test_counts_are_shown_in_each_box(registry):
    svg = render_svg(registry.latest("oocd"), counts={"referred": 3, "intervention": 1})

    def lines(label):
        return [" ".join(t.itertext()) for t in box_of(svg, label).iter(f"{SVG}text")]
    assert "3 cases" in lines("Referred")
    assert "1 case" in lines("Intervention")
    assert "0 cases" in lines("Closed")
    assert "Cases in each state: Referred, 3;" in svg


def test_end_states_look_different(registry):
    svg = render_svg(registry.latest("oocd"))
    closed, referred = box_of(svg, "Closed"), box_of(svg, "Referred")
    assert len(closed.findall(f"{SVG}rect")) == 2  # a double border
    assert len(referred.findall(f"{SVG}rect")) == 1
    assert closed.find(f"{SVG}rect").get("fill") != referred.find(f"{SVG}rect").get("fill")


def test_a_transition_that_stays_put_is_a_loop_labelled_in_its_box(registry):
    svg = render_svg(registry.latest("oocd"))
    panel = box_of(svg, "Ready for panel")
    assert "Defer to a later panel" in [" ".join(t.itertext()) for t in panel.iter(f"{SVG}text")]
    assert panel.find(f"{SVG}path") is not None


def test_withdrawal_from_every_open_state_starts_from_one_marker(registry):
    svg = render_svg(registry.latest("oocd"))
    assert texts(svg).count("From any open state") == 1
    assert texts(svg).count("Withdraw the case") == 1


def test_text_is_escaped(registry):
    definition = registry.latest("oocd")
    states = dict(definition.states)
    states["referred"] = replace(states["referred"], label='Referred <b>& "sent"</b>')
    transitions = tuple(replace(t, label="Take <it> & go") if t.trigger == "take_case" else t
                        for t in definition.transitions)
    odd = replace(definition, states=states, transitions=transitions,
                  title="OOCD <v1>", _by_source={})
    svg = render_svg(odd, highlight="referred", element_id='x" onload="alert(1)')
    assert "<b>" not in svg and "<it>" not in svg and 'onload="' not in svg
    root = ET.fromstring(svg)
    assert root.get("id") == 'x" onload="alert(1)'
    assert any('Referred <b>& "sent"</b>' in t for t in texts(svg))
    assert any("Take <it> & go" in t for t in texts(svg))
    assert root[0].text.startswith("OOCD <v1>")


def test_the_same_definition_always_gives_the_same_drawing(registry):
    definition = registry.latest("oocd")
    again = WorkflowRegistry.from_folder(WORKFLOWS).latest("oocd")
    first = render_svg(definition, highlight="intervention", counts={"referred": 2})
    assert first == render_svg(definition, highlight="intervention", counts={"referred": 2})
    assert first == render_svg(again, highlight="intervention", counts={"referred": 2})


def test_two_diagrams_on_one_page_have_different_ids(registry):
    definition = registry.latest("oocd")
    ids = [re.findall(r'id="([^"]+)"', render_svg(definition, track=track))
           for track in ("main", "victim")]
    assert not set(ids[0]) & set(ids[1])


def test_the_text_alternative_says_where_each_state_leads(registry):
    definition = registry.latest("oocd")
    steps = outline(definition, highlight="ready_for_panel", counts={"ready_for_panel": 4})
    assert [s.label for s in steps][:2] == ["Referred", "Assessment in progress"]
    assert [s.name for s in steps] == [
        "referred", "assessing", "awaiting_countersignature", "ready_for_panel",
        "awaiting_signoff", "intervention", "closed", "withdrawn"]
    by_name = {s.name: s for s in steps}
    referred = by_name["referred"]
    assert [(m.label, m.dest) for m in referred.moves] == [
        ("Take this case", "Assessment in progress"), ("Withdraw the case", "Withdrawn")]
    panel = by_name["ready_for_panel"]
    assert panel.current and panel.count == 4
    assert any(m.stays and m.label == "Defer to a later panel" for m in panel.moves)
    signoff = {(m.label, m.dest) for m in by_name["awaiting_signoff"].moves}
    assert {("Sign off the decision", "Closed"),
            ("Sign off the decision", "Intervention")} <= signoff
    assert by_name["closed"].terminal and by_name["closed"].moves == ()
    assert by_name["referred"].count == 0 and not by_name["referred"].current


def test_the_victim_track_has_its_own_diagram(registry):
    definition = registry.latest("oocd")
    svg = render_svg(definition, track="victim", highlight="views_recorded")
    drawn = texts(svg)
    assert "Views recorded" in drawn and "Referred" not in drawn
    assert box_of(svg, "Views recorded").get("aria-current") == "step"
    assert [s.name for s in outline(definition, track="victim")][:3] == [
        "not_applicable", "awaiting_contact", "contacted"]
