"""An uploaded file is imported by a background job, not inside the upload's request: the
upload is answered at once with the job's page, which shows the progress and then the result,
to the uploader alone (and administrators)."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from ooc.import_jobs import KIND
from ooc.jobs import start_job
from ooc.models import Case, Job
from tests.support import referral
from tests.test_imports import csv_text
from tests.test_web_referrals import text_of, upload
from tests.web_support import sign_in
from web.routes import referrals

EXAMPLE = Path(__file__).resolve().parent / "data" / "referrals.csv"


@pytest.fixture
def held_jobs(monkeypatch):
    """Jobs started by uploads, held until the test runs them."""
    held = []
    monkeypatch.setattr(referrals, "start_background", lambda work, name: held.append(work))
    return held


def references(engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(Case.police_reference)).all())


def test_an_upload_is_answered_at_once_and_its_page_shows_progress_then_the_result(
        client, engine, held_jobs):
    token = sign_in(client, "case_manager")
    sent = client.post("/referrals/upload", data={"csrf_token": token},
                       files={"file": ("monday.csv", EXAMPLE.read_bytes(), "text/csv")},
                       follow_redirects=False)
    assert sent.status_code == 303
    page_url = sent.headers["location"]
    assert re.fullmatch(r"/referrals/uploads/\d+", page_url)
    assert references(engine) == []  # the request wrote the job, not the cases

    waiting = client.get(page_url)
    assert waiting.status_code == 200
    assert "0 of 5 referrals from monday.csv imported (0%)." in text_of(waiting.text)
    assert '<meta http-equiv="refresh" content="2">' in waiting.text
    assert "<script" not in waiting.text.split("</head>")[0]

    for work in held_jobs:
        work()
    done = client.get(page_url)
    assert 'http-equiv="refresh"' not in done.text
    words = text_of(done.text)
    assert "5 referrals created" in words
    created = done.context["report"].created
    assert [c.police_reference for c in created] == [f"SYN/26/000{n}" for n in range(1, 6)]
    assert f'href="/cases/{created[0].case_id}"' in done.text
    assert len(references(engine)) == 5


def test_progress_is_shown_batch_by_batch(client, session, users, clock):
    job = start_job(session, kind=KIND, owner="police", title="big.csv", total=1200,
                    now=clock[0])
    job.done = 500
    session.commit()
    sign_in(client, "police")
    page = client.get(f"/referrals/uploads/{job.id}")
    assert "500 of 1,200 referrals from big.csv imported (41%)." in text_of(page.text)


@pytest.mark.parametrize(("who", "status"), [("case_manager", 200), ("admin", 200),
                                             ("case_manager2", 404), ("police", 404)])
def test_only_the_uploader_and_administrators_see_an_upload(client, engine, held_jobs, who,
                                                           status):
    token = sign_in(client, "case_manager")
    sent = upload(client, token, EXAMPLE.read_bytes())
    for work in held_jobs:
        work()
    page_url = sent.url.path
    client.cookies.clear()
    sign_in(client, who)
    page = client.get(page_url)
    assert page.status_code == status
    if status == 404:
        assert "SYN/26/0001" not in page.text


def test_a_job_left_running_by_a_restart_is_shown_failed_and_the_file_can_be_sent_again(
        client, engine, session, users, clock, held_jobs):
    token = sign_in(client, "police")
    sent = upload(client, token, EXAMPLE.read_bytes())
    page_url = sent.url.path
    held_jobs.clear()  # the server stopped before the job ran
    clock[0] += timedelta(minutes=3)
    page = client.get(page_url)
    words = text_of(page.text)
    assert "The import of referrals.csv did not finish" in words
    assert "It stopped before it finished: the server was restarted" in words
    assert 'http-equiv="refresh"' not in page.text

    again = upload(client, token, EXAMPLE.read_bytes())
    for work in held_jobs:
        work()
    assert "5 referrals created" in text_of(client.get(again.url.path).text)


def test_an_upload_is_imported_in_a_thread_of_its_own(client, engine):
    """The real thing: the job runs in a thread while the page is asked for again and
    again, as the browser would do it."""
    token = sign_in(client, "case_manager")
    rows = [referral(police_reference=f"THREAD/{n:04d}") for n in range(1200)]
    sent = upload(client, token, csv_text(*rows))
    page = sent
    for _ in range(600):
        if 'http-equiv="refresh"' not in page.text:
            break
        time.sleep(0.1)
        page = client.get(sent.url.path)
    assert "1200 referrals created" in text_of(page.text)
    assert len(references(engine)) == 1200


def test_a_job_marked_failed_while_it_waited_writes_nothing(client, engine, clock, held_jobs):
    """A job silent so long that it was marked failed (its process seemed gone) must not
    carry on writing if it was only slow: its next batch is refused and rolled back."""
    token = sign_in(client, "police")
    sent = upload(client, token, EXAMPLE.read_bytes())
    clock[0] += timedelta(minutes=3)
    assert "did not finish" in text_of(client.get(sent.url.path).text)
    for work in held_jobs:
        work()
    assert references(engine) == []
    with Session(engine) as check:
        assert check.exec(select(Job.status)).one() == "failed"
