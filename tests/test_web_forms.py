"""Forms as users expect: a condition's refusal is shown by the field it is about, and a field a
condition may require is never labelled "(optional)"."""

from __future__ import annotations

import shutil

import pytest

from ooc.definitions import load_definition
from ooc.errors import DefinitionError
from tests.support import WORKFLOWS, Walker, assessment
from tests.web_support import sign_in


def test_a_guards_refusal_is_shown_by_the_field_the_workflow_names(client, session, registry,
                                                                   users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "assessing")
    token = sign_in(client, "case_manager")
    form = {k: str(v) for k, v in assessment(risk_to_others="high").items()}
    refused = client.post(f"/cases/{case.id}/actions/submit_assessment",
                          data={**form, "csrf_token": token, "expected_version": "2"})
    assert refused.status_code == 422
    message = "Add a contingency plan: the risk of harm to others is medium or above."
    assert refused.context["errors"] == {"contingency_plan": message}
    assert {"text": message, "href": "#contingency_plan"} in refused.context["problems"]
    assert 'id="contingency_plan-error"' in refused.text  # the GOV.UK inline error message


def test_a_field_a_guard_may_require_is_not_labelled_optional(client, session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "assessing")
    sign_in(client, "case_manager")
    page = client.get(f"/cases/{case.id}/actions/submit_assessment").text
    assert "Contingency plan (optional)" not in page and "Contingency plan" in page
    assert "The parent&#39;s or carer&#39;s views (optional)" not in page
    assert "Needed where the risk of harm to others is medium or above." in page
    # A field no guard is about still says it is optional.
    assert "Why the parent&#39;s or carer&#39;s views were not obtained (optional)" in page


def test_a_guard_about_a_field_the_transition_lacks_is_refused_at_load(tmp_path):
    for name in ("outcomes.toml", "ethnicity.toml"):
        shutil.copy(WORKFLOWS / name, tmp_path / name)
    text = (WORKFLOWS / "oocd.v1.toml").read_text().replace(
        'field = "contingency_plan" }', 'field = "contingency_plans" }')
    (tmp_path / "oocd.v1.toml").write_text(text)
    with pytest.raises(DefinitionError) as refused:
        load_definition(tmp_path / "oocd.v1.toml")
    assert ("transition 'submit_assessment': guard 'contingency_plan_where_risk' is about "
            "field 'contingency_plans', which is not a field of this transition.") in str(
        refused.value.reasons)
