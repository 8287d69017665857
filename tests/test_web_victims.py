"""The victim worker's list: victims awaiting contact or an RJ decision, and those to be told the
outcome, with due dates."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.support import NOW, Walker
from tests.web_support import sign_in

AWAITING = "Awaiting contact or a restorative justice decision"
TO_INFORM = "To be told the outcome"


def section(page: str, heading: str) -> str:
    start = page.index(heading)
    end = page.find("<h2", start)
    return page[start:end if end != -1 else len(page)]


def row(part: str, reference: str) -> str:
    """The table row holding `reference`."""
    at = part.index(reference)
    return part[part.rindex("<tr", 0, at):part.index("</tr>", at)]


def tag(text: str, colour: str) -> re.Pattern:
    return re.compile(rf'<strong class="govuk-tag govuk-tag--{colour}">\s*{text}\s*<')


def test_the_list_is_for_victim_workers_only(client):
    signed_out = client.get("/victims", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/sign-in?next=/victims"
    for other in ("case_manager", "manager", "chair"):
        sign_in(client, other)
        response = client.get("/victims")
        assert response.status_code == 403, other
        assert "This page is for victim worker users." in response.text
    sign_in(client, "victim_worker")
    assert client.get("/victims").status_code == 200


def test_victims_awaiting_work_and_to_be_told_are_listed_with_due_dates(
        client, session, registry, users, clock):
    walker = Walker(session, registry, users)
    decided = walker.create(police_reference="TEST/DECIDED", has_victim=True)
    declined = walker.create(police_reference="TEST/DECLINED", has_victim=True)
    walker.to(decided, "awaiting_signoff")  # views recorded; decided Thursday 5 March
    walker.now = NOW
    walker.to(declined, "awaiting_signoff")
    walker.fire(declined, "not_offer_rj", "victim_worker", {"reasons": "Not suitable."})
    waiting = walker.create(police_reference="TEST/WAITING", has_victim=True,
                            referral_date="2026-02-23")  # panel decision due 16 March
    opted_out = walker.create(police_reference="TEST/OPTED-OUT", has_victim=True,
                              victim_opted_out=True)  # panel decision due 23 March
    walker.create(police_reference="TEST/NO-VICTIM")
    withdrawn = walker.create(police_reference="TEST/WITHDRAWN", has_victim=True)
    walker.to(withdrawn, "withdrawn")
    clock[0] = NOW + timedelta(days=11)  # Friday 13 March

    sign_in(client, "victim_worker")
    page = client.get("/victims").text
    assert "TEST/NO-VICTIM" not in page and "TEST/WITHDRAWN" not in page

    awaiting = section(page, AWAITING)
    assert f"{AWAITING} (3)" in page
    # Most urgent first: the overdue telling of the outcome, then the panel decisions due.
    order = [awaiting.index(ref) for ref in ("TEST/DECIDED", "TEST/WAITING", "TEST/OPTED-OUT")]
    assert order == sorted(order)
    assert "TEST/DECLINED" not in awaiting  # the RJ decision is made
    first = row(awaiting, "TEST/DECIDED")
    assert "Views recorded" in first and "12 March 2026" in first
    assert tag("overdue by 1 working day", "red").search(first)
    second = row(awaiting, "TEST/WAITING")
    assert "Awaiting contact" in second and "Panel decision: 16 March 2026" in second
    assert tag("1 working day left", "yellow").search(second)
    assert f'href="/cases/{waiting.id}"' in second
    third = row(awaiting, "TEST/OPTED-OUT")
    assert "Opted out: asked not to be contacted" in third
    assert "Panel decision: 23 March 2026" in third and "6 working days left" in third
    assert f'href="/cases/{opted_out.id}"' in third

    to_inform = section(page, TO_INFORM)
    assert f"{TO_INFORM} (2)" in page
    assert "TEST/WAITING" not in to_inform and "TEST/OPTED-OUT" not in to_inform
    told = row(to_inform, "TEST/DECLINED")
    assert "Restorative justice declined or not offered" in told
    assert "Community resolution" in told and "Can be contacted" in told
    assert "12 March 2026" in told and tag("overdue by 1 working day", "red").search(told)
    assert f'href="/cases/{declined.id}"' in told


def test_a_victim_told_the_outcome_leaves_the_list(client, session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create(police_reference="TEST/TOLD", has_victim=True)
    walker.to(case, "awaiting_signoff")
    walker.victim_done(case)  # RJ not offered, victim informed
    sign_in(client, "victim_worker")
    page = client.get("/victims").text
    assert "TEST/TOLD" not in page
    assert "No victim is awaiting contact or a restorative justice decision." in page
    assert "No victim is waiting to be told an outcome." in page
