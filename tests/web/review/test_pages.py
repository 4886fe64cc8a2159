"""The reviewer pages over the real app: queue order, keyset pages, filters and counts; a case of another
practice is invisible (404 everywhere, absent from the queue); decisions through the forms, with the
conflict (409) and refusal (422) shown on the page; metrics CSV; sign-in and CSRF on every page."""
from __future__ import annotations

import csv
import io
import re

import pytest

from tests.review import scenario as sc
from tests.review.synthetic import fill
from tests.web.review.conftest import OTHER_PRACTICE

CASE_LINK = re.compile(r'href="/review/cases/(\d+)" class="case-link"')
NEXT = re.compile(r'href="(/review\?[^"]*after=[^"]+)" rel="next"')


def _ids(html: str) -> list[int]:
    return [int(x) for x in CASE_LINK.findall(html)]


def test_the_queue_pages_oldest_first_by_keyset_without_gaps_or_repeats(ctx, reviewer):
    made = fill(ctx.store, 130, sc.PRACTICE)
    b = reviewer()
    seen, url = [], "/review"
    for _ in range(10):
        page = b.request("GET", url)
        assert page.status_code == 200
        seen += _ids(page.text)
        found = NEXT.search(page.text)
        if not found:
            break
        url = found.group(1).replace("&amp;", "&")
    assert seen == made
    assert 'awaiting review <span class="n">130</span>' in b.request("GET", "/review").text


def test_filters_narrow_the_queue_and_its_counts(ctx, reviewer):
    fill(ctx.store, 60, sc.PRACTICE)
    sc.send_case(ctx)
    b = reviewer()
    example = next(c.id for c in sc.cases(ctx) if c.coded_case == "Encounter/implant-posterior-mandible-enc")
    assert example not in _ids(b.request("GET", "/review").text)    # the newest: not on the first page of 50
    for query in ("code=D0393", "rule=DWC-PLAN-012", "notice=documentation-required", "claim=dental",
                  "date_from=2026-10-14&date_to=2026-10-14"):
        ids = _ids(b.request("GET", f"/review?{query}").text)
        assert example in ids, query
    assert _ids(b.request("GET", "/review?date_from=2026-10-14&date_to=2026-10-14").text) == [example]
    by_code = _ids(b.request("GET", "/review?code=70486").text)
    assert example not in by_code and by_code
    payer = _ids(b.request("GET", "/review?payer=Delta").text)
    assert payer and example not in payer
    page = b.request("GET", "/review?status=done").text
    assert _ids(page) == [] and 'done <span class="n">0</span>' in page


def test_a_reviewer_of_another_practice_sees_none_of_it(ctx, reviewer):
    sc.send_case(ctx)
    [case] = sc.cases(ctx)
    row = sc.lines(ctx)["D0140"]
    other = reviewer(OTHER_PRACTICE)
    assert _ids(other.request("GET", "/review").text) == []
    for path in (f"/review/cases/{case.id}", f"/review/cases/{case.id}/explain"):
        assert other.request("GET", path).status_code == 404
    token = other.csrf()
    answer = other.request("POST", f"/review/lines/{row.identifier}", data={"csrf_token": token, "action": "approve",
                                                                            "version": str(row.version)})
    assert answer.status_code == 404
    assert other.request("POST", f"/review/cases/{case.id}/approve-all", data={"csrf_token": token}).status_code == 404
    assert sc.audit(ctx) == [] and sc.charge_item(ctx, row.identifier)["status"] == "planned"
    admin = reviewer("*", role="admin")
    assert _ids(admin.request("GET", "/review").text) == [case.id]


def test_decisions_through_the_forms_conflict_and_refusal_are_shown(ctx, reviewer):
    sc.send_case(ctx)
    lines = sc.lines(ctx)
    ann, bob = reviewer(), reviewer()
    d0365 = lines["D0365"]
    form = {"action": "approve", "version": str(d0365.version)}
    first = ann.request("POST", f"/review/lines/{d0365.identifier}", data={**form, "csrf_token": ann.csrf()})
    assert first.status_code == 303 and first.headers["location"].startswith(f"/review/cases/{d0365.case_id}?done=approve")
    second = bob.request("POST", f"/review/lines/{d0365.identifier}",
                         data={"action": "reject", "version": str(d0365.version), "reason_code": "duplicate",
                               "csrf_token": bob.csrf()})
    assert second.status_code == 409
    assert f"approved by {ann.username}" in second.text and 'role="alert"' in second.text
    refused = bob.request("POST", f"/review/lines/{lines['D0393'].identifier}",
                          data={"action": "edit", "version": str(lines["D0393"].version), "code": "D0393",
                                "modifiers": "TC", "quantity": "1", "csrf_token": bob.csrf()})
    assert refused.status_code == 422 and "modifier TC cannot go on D0393" in refused.text
    assert sc.charge_item(ctx, d0365.identifier)["status"] == "billable"
    assert [(a.actor, a.action) for a in sc.audit(ctx)] == [(ann.username, "approve")]

    added = bob.request("POST", f"/review/lines/{d0365.identifier}",
                        data={"action": "add", "code": "D0150", "quantity": "1", "csrf_token": bob.csrf()})
    assert added.status_code == 303
    case_page = bob.request("GET", f"/review/cases/{d0365.case_id}").text
    assert "D0150" in case_page and "added by hand" in case_page

    everything = ann.request("POST", f"/review/cases/{d0365.case_id}/approve-all", data={"csrf_token": ann.csrf()})
    assert everything.status_code == 303
    assert {row.state for row in sc.lines(ctx).values()} == {"approved", "added"}

    rows = list(csv.reader(io.StringIO(ann.request("GET", "/review/metrics.csv").text)))
    per_rule = {r[1]: r for r in rows if r[0] == "acceptance-per-rule"}
    assert per_rule["DWC-IMG-010"][2:4] == ["1", "1"] and per_rule["DWC-IMG-010"][7] == "1.000"
    audit_page = ann.request("GET", "/review/audit").text
    assert audit_page.count("<tr><td>") == 4


def test_pages_need_sign_in_and_posts_need_the_form_token(ctx, reviewer, app):
    from tests.web.auth.browser import Browser

    sc.send_case(ctx)
    row = sc.lines(ctx)["D0140"]
    anonymous = Browser(app)
    page = anonymous.request("GET", "/review", headers={"accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    post = anonymous.request("POST", f"/review/lines/{row.identifier}", data={"action": "approve"})
    assert post.status_code == 401
    b = reviewer()
    forged = b.request("POST", f"/review/lines/{row.identifier}", data={"action": "approve", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert sc.audit(ctx) == []
