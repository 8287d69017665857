"""One commit point per request: the request's session commits once the route has answered,
and rolls back everything if it raised; no route commits, and no page writes when it is read."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from fastapi import Request
from fastapi.testclient import TestClient
from sqlmodel import SQLModel, func, select, text

from ooc.jobs import start_job
from ooc.models import AccessLog, PlanAction, PlanObjective
from tests.support import NOW, Walker
from tests.test_access import PAGES, _request
from tests.web_support import sign_in
from web.deps import SessionDep
from web.pages import flash

ROUTES = Path(__file__).resolve().parent.parent / "web" / "routes"


def test_no_route_commits_or_opens_a_session_of_its_own():
    for module in ROUTES.glob("*.py"):
        code = module.read_text()
        assert ".commit(" not in code, f"{module.name} commits: only web.deps.get_session may"
        assert "Session(" not in code, f"{module.name} opens a session of its own"


def _log_rows(session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(AccessLog)).one()


def test_what_a_route_wrote_is_committed_only_if_it_answers(app, client, session, registry,
                                                            users):
    case = Walker(session, registry, users).create()

    def write(request: Request, session: SessionDep, fail: bool = False) -> dict:
        session.add(AccessLog(at=NOW, username="case_manager", case_id=case.id, view="test"))
        session.flush()
        flash(request, "Done: written.")
        if fail:
            raise RuntimeError("after the write")
        return {"ok": True}

    app.get("/test-write")(write)
    assert client.get("/test-write").status_code == 200
    assert _log_rows(session) == 1
    with TestClient(app, raise_server_exceptions=False) as browser:
        failed = browser.get("/test-write?fail=true")
    assert failed.status_code == 500
    assert "Traceback" not in failed.text
    assert _log_rows(session) == 1  # the second write was rolled back
    assert "Done: written." not in failed.text  # and nobody is told it was done


def _table_counts(session) -> dict[str, int]:
    session.expire_all()
    return {t.name: session.exec(text(f"SELECT count(*) FROM {t.name}")).one()[0]
            # Signing in (to read the pages) records a sign-in session: that write is meant.
            for t in SQLModel.metadata.sorted_tables
            if t.name not in ("access_log", "sign_in_sessions")}


def test_reading_any_page_writes_nothing_but_the_access_log(client, session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create(has_victim=True)
    walker.to(case, "intervention")
    # An action whose rating the date has changed: reading the plan must not record it.
    objective = PlanObjective(title="Present cases on time", created_at=NOW)
    session.add(objective)
    session.flush()
    session.add(PlanAction(objective_id=objective.id, title="Track T2", owner="Chair",
                           original_due=date(2026, 1, 30), rag="amber", created_at=NOW))
    # An upload's job silent long enough to be shown as stopped: shown so, not written so.
    job = start_job(session, kind="referral_import", owner="police", title="monday.csv",
                    total=3, now=NOW - timedelta(hours=1))
    session.commit()
    ids = {"case_id": case.id, "trigger": "record_review", "meeting_id": walker.meeting.id,
           "user_id": users["board"].id, "workflow": "oocd", "figure_id": "T1",
           "quarter": "2026-01-01", "audit_id": 1, "objective_id": 1, "action_id": 1,
           "job_id": job.id}
    before = _table_counts(session)
    for username in ("case_manager", "manager", "chair", "victim_worker", "board", "admin",
                     "police"):
        client.cookies.clear()
        sign_in(client, username)
        for (method, path), allowed in sorted(PAGES.items()):
            if method == "GET" and username in allowed:
                _request(client, method, path, ids)
    after = _table_counts(session)
    assert after == before, {t: (before[t], after[t]) for t in after if after[t] != before[t]}
