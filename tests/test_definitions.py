"""Loading and validating workflow files: each mistake gets a message naming the file and item."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ooc.cli import app
from ooc.definitions import load_definition
from ooc.errors import DefinitionError

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
REFERENCE_TEXT = (WORKFLOWS / "oocd.v1.toml").read_text()


@pytest.fixture
def folder(tmp_path):
    for table in ("outcomes.toml", "ethnicity.toml"):
        shutil.copy(WORKFLOWS / table, tmp_path / table)
    return tmp_path


def write(folder: Path, text: str, name: str = "broken.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def replaced(old: str, new: str) -> str:
    assert old in REFERENCE_TEXT, f"the reference workflow no longer contains {old!r}"
    return REFERENCE_TEXT.replace(old, new, 1)


def problems_of(path: Path) -> list[str]:
    with pytest.raises(DefinitionError) as raised:
        load_definition(path)
    return raised.value.reasons or [raised.value.message]


def test_reference_workflow_loads_with_its_tables():
    definition = load_definition(WORKFLOWS / "oocd.v1.toml")
    assert definition.key == ("oocd", 1)
    assert definition.states["closed"].terminal
    assert definition.gravity[3] == ("youth_caution",)
    assert definition.outcomes["youth_conditional_caution"].consent_required
    assert definition.ethnicity_rollup["M3"] == "Mixed"
    withdraw_sources = {s for t in definition.transitions if t.trigger == "withdraw"
                        for s in t.sources}
    assert withdraw_sources == set(definition.open_states("main"))


def test_malformed_toml_names_the_file_and_line(folder):
    path = write(folder, REFERENCE_TEXT.replace('name = "oocd"', 'name = "oocd'))
    with pytest.raises(DefinitionError) as raised:
        load_definition(path)
    assert "broken.toml is not valid TOML" in raised.value.message
    assert "line" in raised.value.message


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('dest = "assessing"\nroles = ["case_manager"]\nassigns',
     'dest = "assesing"\nroles = ["case_manager"]\nassigns',
     "transition 'take_case' dest: unknown state 'assesing'"),
    ('guards = ["not_assessment_author"]', 'guards = ["not_the_author"]',
     "transition 'countersign': unknown guard 'not_the_author'"),
    ('roles = ["panel_chair"]\nguards = ["meeting_held_since_countersignature"]\nreason',
     'roles = ["chair"]\nguards = ["meeting_held_since_countersignature"]\nreason',
     "transition 'defer': unknown role 'chair'"),
    ('working_days = 10', 'working_days = -10', "deadline 'assessment': the period should be"),
    ('working_days = 10', 'working_days = 10\nweeks = 2',
     "deadline 'assessment': give exactly one of working_days or weeks"),
    ('met_by = ["countersign"]', 'met_by = ["countersigned"]',
     "deadline 'countersignature': unknown trigger 'countersigned' in met_by"),
    ('working_days = 10', 'working_days = "ten"',
     "deadline 'assessment': 'working_days' should be a whole number, not 'ten'"),
    ('type = "bool"\n  required = true\n\n  [[referral.fields]]\n  name = "offence_date"',
     'type = "boolean"\n  required = true\n\n  [[referral.fields]]\n  name = "offence_date"',
     "[referral] field 'looked_after': unknown type 'boolean'"),
])
def test_each_mistake_is_named(folder, old, new, expected):
    problems = problems_of(write(folder, replaced(old, new)))
    assert any(expected in p for p in problems), problems
    assert all(p.startswith("broken.toml: ") for p in problems)


def test_unreachable_state(folder):
    text = REFERENCE_TEXT + '\n[[states]]\nname = "limbo"\ntrack = "main"\nterminal = true\n'
    problems = problems_of(write(folder, text))
    assert any("state 'limbo' is unreachable" in p for p in problems)


def test_non_terminal_state_with_no_way_out(folder):
    text = REFERENCE_TEXT.replace('label = "Withdrawn"\nterminal = true', 'label = "Withdrawn"')
    problems = problems_of(write(folder, text))
    assert any("state 'withdrawn' has no way out" in p for p in problems)


def test_trigger_defined_twice_from_the_same_state(folder):
    text = REFERENCE_TEXT + (
        '\n[[transitions]]\ntrigger = "take_case"\nsource = "referred"\ndest = "withdrawn"\n'
        'roles = ["manager"]\n')
    problems = problems_of(write(folder, text))
    assert any("transition 'take_case': defined twice from state 'referred'" in p
               for p in problems)


def test_every_problem_is_reported_at_once(folder):
    text = replaced('guards = ["not_assessment_author"]', 'guards = ["nobody"]')
    text = text.replace('roles = ["victim_worker"]\nguards = ["victim_contactable"]',
                        'roles = ["victim_officer"]\nguards = ["victim_contactable"]')
    problems = problems_of(write(folder, text))
    assert any("unknown guard 'nobody'" in p for p in problems)
    assert any("unknown role 'victim_officer'" in p for p in problems)


def test_missing_outcome_table_is_named(folder):
    (folder / "outcomes.toml").unlink()
    problems = problems_of(write(folder, REFERENCE_TEXT))
    assert any("outcomes = 'outcomes.toml'" in p and "no such file" in p for p in problems)


def test_cli_check_passes_valid_files_and_lists_problems_of_bad_ones(folder):
    runner = CliRunner()
    good = runner.invoke(app, ["workflow", "check", str(WORKFLOWS / "oocd.v1.toml")])
    assert good.exit_code == 0
    assert "valid (oocd version 1" in good.output

    bad = write(folder, replaced('guards = ["not_assessment_author"]', 'guards = ["nobody"]'))
    result = runner.invoke(app, ["workflow", "check", str(WORKFLOWS / "oocd.v1.toml"), str(bad)])
    assert result.exit_code == 1
    assert "unknown guard 'nobody'" in result.output
    assert "Traceback" not in result.output


def test_cli_check_reports_malformed_toml_and_missing_files_without_traceback(folder):
    bad = write(folder, "[workflow\nname = 1")
    result = CliRunner().invoke(app, ["workflow", "check", str(bad), str(folder / "nope.toml")])
    assert result.exit_code == 1
    assert "is not valid TOML" in result.output
    assert "nope.toml: no such file" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_panel_agenda_window_is_read_and_checked(folder):
    assert load_definition(WORKFLOWS / "oocd.v1.toml").panel.agenda_within_working_days == 5
    three = replaced("agenda_within_working_days = 5", "agenda_within_working_days = 3")
    assert load_definition(write(folder, three)).panel.agenda_within_working_days == 3
    problems = problems_of(write(folder, replaced("agenda_within_working_days = 5",
                                                  'agenda_within_working_days = "five"\n'
                                                  "agenda_days = 2")))
    assert "broken.toml: [panel]: 'agenda_within_working_days' should be a whole number, not " \
           "'five'." in problems
    assert "broken.toml: [panel]: unknown key 'agenda_days'." in problems
    problems = problems_of(write(folder, replaced("agenda_within_working_days = 5",
                                                  "agenda_within_working_days = -1")))
    assert problems == ["broken.toml: [panel]: 'agenda_within_working_days' should be 0 (the "
                        "day of the meeting only) or more, not -1."]
