"""The whole JSON API, fuzzed from its own OpenAPI schema by schemathesis: whatever is sent, with
the token of any role, the answer is never a server error (5xx), on SQLite and PostgreSQL.

For every operation, requests are generated from the schema, both ones that fit it and ones
that break its constraints, and each is sent with every role's token in turn. The run is
bounded and derandomized (the same examples every run), so it stays short on a small machine
and any failure can be repeated. (Hypothesis is driven directly rather than through
schemathesis's pytest plugin, whose lazy fixtures do not work with pytest 9.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from sqlmodel import Session

from ooc.accounts import issue_token
from tests.support import NOW, USERS, Walker, make_users

# One user per role (the first holding just it): the answer depends on the caller's roles.
ROLE_USERS = {role: next(name for name, roles in USERS.items() if roles == [role])
              for role in ("police", "case_manager", "manager", "panel_chair", "victim_worker",
                           "board", "admin")}
EXAMPLES_PER_OPERATION = 50


@pytest.fixture
def fuzzed(app, engine, registry):
    """The application with users, a token for each role, and cases to act on."""
    with Session(engine) as session:
        users = make_users(session)
        session.commit()
        walker = Walker(session, registry, users)
        walker.to(walker.create(), "ready_for_panel")
        walker.create(police_reference="TEST/0002", has_victim=True)
        tokens = {role: issue_token(session, username=name, now=NOW)
                  for role, name in ROLE_USERS.items()}
        session.commit()
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app), tokens


def operations(schema):
    return [result.ok() for result in schema.get_all_operations()]


def test_the_schema_lists_every_operation(fuzzed):
    schema, _ = fuzzed
    assert sorted(op.label for op in operations(schema)) == [
        "GET /cases", "GET /cases/{case_id}", "GET /cases/{case_id}/audit",
        "POST /cases/{case_id}/transitions", "POST /referrals"]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_from_any_role_gets_a_server_error(fuzzed, mode):
    schema, tokens = fuzzed
    for operation in operations(schema):
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None,
                  database=None, suppress_health_check=list(HealthCheck))
        def send(case):
            for token in tokens.values():
                case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                                       checks=[not_a_server_error])

        send()
