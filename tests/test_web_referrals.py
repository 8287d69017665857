"""The referral upload page: who may use it, what it shows, and what it writes."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from sqlmodel import select

from ooc.models import Case
from tests.support import USERS, referral
from tests.test_imports import csv_text
from tests.web_support import sign_in
from web.routes import referrals
from web.routes.referrals import MAX_UPLOAD_BYTES

EXAMPLE = Path(__file__).resolve().parent / "data" / "referrals.csv"
UPLOAD_ROLES = {"police", "case_manager"}


@pytest.fixture(autouse=True)
def jobs_run_at_once(monkeypatch):
    """An upload's import job runs as soon as it is started, before its page is shown (the
    service runs it in a thread of its own: test_web_upload_jobs.py)."""
    monkeypatch.setattr(referrals, "start_background", lambda work, name: work())


def upload(client, token: str, data: bytes | str, filename: str = "referrals.csv"):
    if isinstance(data, str):
        data = data.encode()
    return client.post("/referrals/upload", data={"csrf_token": token},
                       files={"file": (filename, data, "text/csv")})


def references(session) -> list[str]:
    session.expire_all()
    return sorted(session.exec(select(Case.police_reference)).all())


def text_of(page: str) -> str:
    """The page's words, without tags or extra white space."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


# --- who may use it ---------------------------------------------------------------------------


@pytest.mark.parametrize("username", sorted(USERS))
def test_only_police_and_case_managers_may_upload(client, session, username):
    token = sign_in(client, username)
    page = client.get("/referrals/upload")
    posted = upload(client, token, EXAMPLE.read_bytes())
    if UPLOAD_ROLES & set(USERS[username]):
        assert page.status_code == 200
        assert posted.status_code == 200
        assert len(references(session)) == 5
    else:
        assert page.status_code == posted.status_code == 403
        assert "This page is for police or case manager users." in page.text
        assert references(session) == []


def test_the_upload_page_needs_sign_in(client):
    response = client.get("/referrals/upload", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/referrals/upload"


def test_the_referral_form_links_to_the_upload_page(client):
    sign_in(client, "police")
    form = client.get("/referrals/new")
    assert 'href="/referrals/upload"' in form.text


def test_a_referral_dated_in_the_future_is_refused_with_the_message_by_the_field(client,
                                                                               session):
    token = sign_in(client, "police")
    form = {"csrf_token": token}
    for name, value in referral(referral_date="2026-03-09").items():
        if name.endswith("_date") or name == "date_of_birth":
            year, month, day = value.split("-")
            form.update({f"{name}-year": year, f"{name}-month": month, f"{name}-day": day})
        else:
            form[name] = ("yes" if value else "no") if isinstance(value, bool) else str(value)
    response = client.post("/referrals/new", data=form)
    assert response.status_code == 422
    message = ("Date of referral (09 March 2026) is in the future. Enter the date it happened, "
               "on or before today (02 March 2026).")
    assert response.context["errors"] == {"referral_date": message}
    assert {"text": message, "href": "#referral_date"} in response.context["problems"]
    assert references(session) == []


# --- the page ---------------------------------------------------------------------------------


def test_the_page_explains_the_rules_and_the_columns(client):
    sign_in(client, "police")
    page = client.get("/referrals/upload")
    assert page.context["report"] is None
    assert [c.name for c in page.context["columns"]][:3] == ["police_reference", "given_name",
                                                             "family_name"]
    words = text_of(page.text)
    assert "If any row has a problem, nothing is imported" in words
    assert "Uploading the same file again creates nothing new" in words
    assert "The file must be smaller than 5 MB." in words
    assert 'enctype="multipart/form-data"' in page.text
    assert 'type="file"' in page.text and 'name="csrf_token"' in page.text
    template = client.get("/referrals/upload/template.csv")
    assert template.status_code == 200
    assert template.headers["content-type"].startswith("text/csv")
    assert template.text.startswith("police_reference,given_name,family_name,date_of_birth,")


def test_a_good_file_creates_the_cases_and_says_so(client, session):
    token = sign_in(client, "police")
    response = upload(client, token, EXAMPLE.read_bytes())
    assert response.status_code == 200
    assert re.fullmatch(r"/referrals/uploads/\d+", response.url.path)
    report = response.context["report"]
    assert (len(report.created), len(report.duplicates), len(report.rejected)) == (5, 0, 0)
    assert response.context["can_view_cases"] is False  # police do not open YJS records
    words = text_of(response.text)
    assert "5 referrals created" in words
    assert "govuk-panel" in response.text
    assert "Referrals created" in words and "SYN/26/0005" in words
    assert 'href="/cases/' not in response.text
    assert 'http-equiv="refresh"' not in response.text  # done: nothing more to wait for
    assert references(session) == [f"SYN/26/000{n}" for n in range(1, 6)]


def test_a_file_with_any_bad_row_is_refused_whole_with_each_row_named_and_nothing_written(
        client, session, registry, users):
    from tests.support import Walker

    Walker(session, registry, users).create(police_reference="OLD/1")
    session.commit()
    token = sign_in(client, "case_manager")
    response = upload(client, token, csv_text(
        referral(police_reference="WEB/1"),
        referral(police_reference="WEB/2", gravity_score=8, date_of_birth="2016-01-01"),
        referral(police_reference="OLD/1"),
        referral(police_reference="WEB/1"),
        referral(police_reference="WEB/5", date_of_birth="2018-01-01"),
    ))
    assert response.status_code == 422
    problems = [p["text"] for p in response.context["problems"]]
    assert problems[0] == ("2 rows of referrals.csv have a problem, so nothing was imported. "
                           "Correct them and upload the whole file again.")
    assert problems[1] == "Row 3 (WEB/2): Gravity score must be between 1 and 5."
    assert problems[2].startswith("Row 6 (WEB/5): The child was 8 on the date of the offence")
    assert all(p["href"] == "#file" for p in response.context["problems"])
    words = text_of(response.text)
    assert "There is a problem" in words
    assert "Rows with problems" in words
    assert "3 WEB/2 Gravity score must be between 1 and 5." in words
    assert references(session) == ["OLD/1"]  # nothing written, not even WEB/1

    fixed = upload(client, token, csv_text(
        referral(police_reference="WEB/1"), referral(police_reference="WEB/2"),
        referral(police_reference="OLD/1"), referral(police_reference="WEB/1")))
    assert fixed.status_code == 200
    report = fixed.context["report"]
    assert [c.police_reference for c in report.created] == ["WEB/1", "WEB/2"]
    assert [d.row for d in report.duplicates] == [4, 5]
    words = text_of(fixed.text)
    assert "2 referrals created" in words
    assert "4 OLD/1 Police reference OLD/1 already has a case" in words
    assert "5 WEB/1 Police reference WEB/1 is the same as in row 2 of this file." in words
    created = report.created[0].case_id
    assert f'href="/cases/{created}"' in fixed.text  # case managers can open the case
    assert references(session) == ["OLD/1", "WEB/1", "WEB/2"]


def test_uploading_the_same_file_again_creates_nothing(client, session):
    token = sign_in(client, "police")
    upload(client, token, EXAMPLE.read_bytes())
    again = upload(client, token, EXAMPLE.read_bytes())
    assert again.status_code == 200
    report = again.context["report"]
    assert not report.created and len(report.duplicates) == 5
    assert "0 referrals created" in text_of(again.text)
    assert len(references(session)) == 5


# --- files refused as a whole -----------------------------------------------------------------


def test_a_wrong_header_imports_nothing_and_names_each_problem(client, session):
    token = sign_in(client, "police")
    columns = [c for c in csv_text(referral()).splitlines()[0].split(",") if c != "sex"]
    response = upload(client, token, csv_text(referral(), columns=columns + ["colour"]))
    assert response.status_code == 422
    assert response.context["report"] is None
    words = text_of(response.text)
    assert "There is a problem" in words
    assert "Column P ('colour') is not a referral field." in words
    assert "The required column sex (Sex) is missing." in words
    assert 'href="#file"' in response.text
    assert references(session) == []


@pytest.mark.parametrize(("data", "filename", "status", "message"), [
    ("Société\n".encode("latin-1"), "referrals.csv", 422, "This file is not UTF-8 text"),
    (b"PK\x03\x04...", "referrals.xlsx", 422, "This is a spreadsheet workbook"),
    (b"", "referrals.csv", 422, "The selected file is empty."),
    (b"x" * (MAX_UPLOAD_BYTES + 1), "referrals.csv", 413,
     "The selected file must be smaller than 5 MB."),
    (b"x" * (MAX_UPLOAD_BYTES + 200_000), "referrals.csv", 413,
     "The selected file must be smaller than 5 MB."),
])
def test_a_file_that_cannot_be_imported_gets_a_clear_message(client, session, data, filename,
                                                             status, message):
    token = sign_in(client, "police")
    response = upload(client, token, data, filename)
    assert response.status_code == status
    assert message in response.text
    assert "There is a problem" in response.text
    assert "Traceback" not in response.text
    assert references(session) == []


def test_sending_the_form_without_a_file_asks_for_one(client):
    token = sign_in(client, "police")
    response = client.post("/referrals/upload", data={"csrf_token": token},
                           files={"file": ("", b"", "application/octet-stream")})
    assert response.status_code == 422
    assert "Select a CSV file of referrals." in response.text


def test_an_upload_without_the_csrf_token_is_refused(client, session):
    sign_in(client, "police")
    response = client.post("/referrals/upload",
                           files={"file": ("referrals.csv", EXAMPLE.read_bytes(), "text/csv")})
    assert response.status_code == 400
    assert "without a valid security token" in response.text
    assert references(session) == []


def test_a_referral_is_confirmed_with_what_happens_next_for_its_referrer_only(client, session):
    from tests.support import referral

    token = sign_in(client, "police")
    values = referral(police_reference="TEST/CONFIRM", referral_date="2026-03-02",
                      date_of_birth="", offence_date="", looked_after="no", admission="yes",
                      has_victim="no", victim_opted_out="")
    form = {k: v for k, v in values.items() if v != ""}
    for name, day in (("date_of_birth", "2011-06-15"), ("offence_date", "2026-02-20"),
                      ("referral_date", "2026-03-02")):
        year, month, dd = day.split("-")
        form.update({f"{name}-day": dd, f"{name}-month": month, f"{name}-year": year})
    form.pop("referral_date", None)
    sent = client.post("/referrals/new", data={**form, "csrf_token": token},
                       follow_redirects=False)
    assert sent.status_code == 303, sent.text
    confirmed = client.get(sent.headers["location"])
    assert confirmed.status_code == 200
    assert "Referral received" in confirmed.text and "TEST/CONFIRM" in confirmed.text
    assert "Assessment submitted: by 16 March 2026" in text_of(confirmed.text)
    assert 'href="/referrals/mine"' in confirmed.text
    assert 'href="/cases/' not in confirmed.text  # police do not open the YJS record

    client.cookies.clear()
    sign_in(client, "case_manager")
    assert client.get(sent.headers["location"]).status_code == 404  # not theirs to confirm
