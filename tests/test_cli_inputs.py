"""The command line never shows a traceback for bad input: files that are not UTF-8, output
into a folder that does not exist, --as-of before the period (issue 12, point 8)."""

from __future__ import annotations

import shutil

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from ooc.cli import app
from ooc.models import PlanObjective
from tests.conftest import WORKFLOWS

runner = CliRunner()
LATIN_1_CAFE = "Café".encode("latin-1")


@pytest.fixture
def cli_env(engine, monkeypatch):
    monkeypatch.setenv("OOC_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    return engine


def run(*args: str, stdin: bytes | None = None):
    """The command's result; it must end with a message and an exit status, not an
    exception (CliRunner would keep the traceback in `result.exception`)."""
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.output
    return result


def test_a_latin_1_plan_file_is_named_and_nothing_is_imported(cli_env, session, tmp_path):
    plan = tmp_path / "plan.csv"
    plan.write_bytes(b"objective,action,owner,original_due\n" + LATIN_1_CAFE
                     + b",Act,Owner,2026-09-30\n")
    result = run("plan", "import", str(plan))
    assert result.exit_code == 1
    assert "plan.csv is not UTF-8 text" in result.output
    assert "Save it as 'CSV UTF-8'" in result.output
    assert session.exec(select(PlanObjective)).all() == []


def test_a_latin_1_workflow_file_is_named(tmp_path):
    workflow = tmp_path / "mine.toml"
    workflow.write_bytes(b"# " + LATIN_1_CAFE + b"\n[workflow]\nname = 'x'\n")
    result = run("workflow", "check", str(workflow))
    assert result.exit_code == 1
    assert f"{workflow} is not UTF-8 text" in result.output


def workflows_copy(tmp_path):
    folder = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, folder)
    return folder


def test_a_latin_1_figures_settings_file_is_named(cli_env, tmp_path, monkeypatch):
    tmp_path = workflows_copy(tmp_path)
    (tmp_path / "figures.toml").write_bytes(b"# " + LATIN_1_CAFE + b"\n")
    monkeypatch.setenv("OOC_WORKFLOWS_DIR", str(tmp_path))
    result = run("plan", "rate")
    assert result.exit_code == 1
    assert "figures.toml is not UTF-8 text" in result.output


@pytest.mark.parametrize("command", [
    ["audit", "export"], ["plan", "export"],
    ["report", "board", "--from", "2026-01-01", "--to", "2026-03-31"]])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_output_into_a_missing_folder_says_so(cli_env, tmp_path, command, suffix):
    out = tmp_path / "no-such-folder" / f"out{suffix}"
    result = run(*command, "--out", str(out))
    assert result.exit_code == 1
    assert f"there is no folder {out.parent}" in result.output
    assert not out.parent.exists()


def test_as_of_before_the_period_is_refused(cli_env, tmp_path):
    out = tmp_path / "board.html"
    result = run("report", "board", "--from", "2026-01-01", "--to", "2026-03-31",
                 "--as-of", "2025-06-30", "--out", str(out))
    assert result.exit_code == 1
    assert "before the period starts on 01 January 2026" in result.output
    assert not out.exists()


def test_a_password_on_standard_input_that_is_not_utf_8_is_refused(cli_env):
    result = run("users", "add", "bob", "--role", "admin", "--password-stdin",
                 stdin=LATIN_1_CAFE * 4 + b"\n")
    assert result.exit_code == 1
    assert "Error:" in result.output


@pytest.mark.parametrize("threshold", ["nan", "inf"])
def test_a_threshold_in_the_figures_settings_that_is_not_a_number_is_refused(
        cli_env, tmp_path, monkeypatch, threshold):
    tmp_path = workflows_copy(tmp_path)
    (tmp_path / "figures.toml").write_text(f"[targets.T1]\ngreen = {threshold}\namber = 75\n")
    monkeypatch.setenv("OOC_WORKFLOWS_DIR", str(tmp_path))
    result = run("plan", "rate")
    assert result.exit_code == 1
    assert f"[targets.T1] green must be a percentage from 0 to 100, not {threshold}" \
        in result.output


def test_a_plan_file_with_a_nan_threshold_imports_nothing(cli_env, tmp_path):
    plan = tmp_path / "plan.csv"
    plan.write_text("objective,action,owner,original_due,figure,green,amber\n"
                    "Timely panels,Raise T1,Team manager,2026-09-30,T1,nan,75\n")
    result = run("plan", "import", str(plan))
    assert result.exit_code == 1
    assert "the green threshold 'nan' is not a number" in result.output
