"""A big import does not lock anyone out (issue 12, point 7).

Reproduced by the reviewer on SQLite: during a 50,000-row import, 23 of 30 transitions failed
with "database is locked" after 10 s, and during a big web upload even case views failed,
because a view writes the access log. Here a 50,000-row import runs in a thread while a case
page is opened and a transition fired again and again: every one succeeds.
"""

from __future__ import annotations

import threading

from sqlalchemy import func
from sqlmodel import Session, select

from ooc.db import unit_of_work
from ooc.imports import import_referrals
from ooc.models import AccessLog, Case
from ooc.service import fire
from tests.support import NOW, Walker, referral
from tests.test_imports import csv_text
from tests.web_support import sign_in

ROWS = 50_000
# Enough of each, fired while the import was still running, to show it locked nobody out.
AT_LEAST = 5


def test_pages_and_transitions_are_served_during_a_50000_row_import(
        engine, registry, users, session, client, clock):
    walker = Walker(session, registry, users)
    case = walker.create(police_reference="BUSY/CASE")
    walker.to(case, "ready_for_panel")
    meeting_id = walker.quorate_meeting().id
    clock[0] = walker.now
    sign_in(client, "chair")
    chair = users["chair"]
    text = csv_text(*(referral(police_reference=f"BIG/{n:05d}") for n in range(ROWS)))

    outcome = {}

    def run_import():
        try:
            outcome["report"] = import_referrals(engine, registry=registry,
                                                 actor=users["police"], rows=text, now=NOW)
        except Exception as e:  # reported below, on the test's thread
            outcome["error"] = e

    importing = threading.Thread(target=run_import)
    importing.start()
    pages, transitions, errors = 0, 0, []
    while importing.is_alive():
        page = client.get(f"/cases/{case.id}")
        if page.status_code == 200:
            pages += 1
        else:
            errors.append(f"case page: {page.status_code} {page.text[:200]}")
        try:
            with unit_of_work(engine) as work:
                fire(work, registry=registry, case_id=case.id, trigger="defer", actor=chair,
                     now=walker.now, data={"meeting_id": meeting_id},
                     reason="The panel needs the school's report.",
                     reason_code="more_information_needed")
            transitions += 1
        except Exception as e:
            errors.append(f"transition: {e}")
        # Still importing after both: they were served during the import.
        if not importing.is_alive():
            break
    importing.join()
    assert "error" not in outcome, outcome.get("error")
    assert errors == []
    assert len(outcome["report"].created) == ROWS
    assert pages >= AT_LEAST and transitions >= AT_LEAST, (pages, transitions)
    with Session(engine) as check:
        assert check.exec(select(func.count()).select_from(Case)).one() == ROWS + 1
        views = check.exec(select(func.count()).select_from(AccessLog)
                           .where(AccessLog.case_id == case.id)).one()
        assert views == pages
        assert check.get(Case, case.id).version == 4 + transitions
