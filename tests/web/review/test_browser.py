"""End to end in a real headless browser (Debian chromium driven by Playwright; never `playwright install`):
a reviewer signs in, opens the queue, opens the case built from the contract's example evidence sent through
the pipeline, approves one line (keyboard), rejects one with a reason, edits one; the ChargeItems at the
real FHIR test server and the audit log show it. Screenshots go to the test's tmp folder (and the queue's to
docs/queue.png for the README)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from plugin.web.auth.users import add_user
from tests.review import scenario as sc
from tests.web.review.served import serve

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DOCS = Path(__file__).resolve().parents[3] / "docs"
PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                                reason="needs Debian chromium (bash tests/install-deps.sh)")


@pytest.fixture
def ctx(tmp_path, fhir_base_url):
    c = sc.make_ctx(f"sqlite:///{tmp_path / 'dwcoder.db'}", tmp_path, fhir_base_url)
    sc.send_case(c)
    add_user(c.store, "ana", PASSWORD, "reviewer", sc.PRACTICE)
    yield c
    c.store.dispose()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True, timeout=30000)
        try:
            yield b
        finally:
            b.close()


def test_a_reviewer_works_the_example_case_in_a_real_browser(ctx, browser, tmp_path):
    lines = sc.lines(ctx)
    with serve(ctx.settings, ctx.store) as url:
        page = browser.new_page(viewport={"width": 1366, "height": 860})
        page.set_default_timeout(15000)
        page.goto(f"{url}/review")
        assert "/login" in page.url                                   # no page without sign-in
        page.get_by_label("Username").fill("ana")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{url}/review")
        assert page.get_by_role("heading", name="Cases awaiting review").is_visible()
        row = page.locator("table.queue tbody tr")
        assert row.count() == 1 and "D0365" in row.first.inner_text()
        page.screenshot(path=str(tmp_path / "queue.png"), full_page=True)
        shutil.copy(tmp_path / "queue.png", DOCS / "queue.png")

        page.keyboard.press("Enter")                                  # the first case is selected: open it
        page.wait_for_url("**/review/cases/*")
        assert page.locator("section.line").count() == 3
        d0140 = page.locator(f"#line-{lines['D0140'].identifier}")
        assert "Documentation the code needs" in page.content()
        page.screenshot(path=str(tmp_path / "case.png"), full_page=True)

        _select_line(page, lines["D0140"].identifier)                # n / p pick the line, a approves it
        assert "current" in (d0140.get_attribute("class") or "")
        page.keyboard.press("a")
        page.wait_for_url("**done=approve**")

        d0365 = page.locator(f"#line-{lines['D0365'].identifier}")
        d0365.get_by_label("Reason to reject D0365").select_option("documentation-missing")
        d0365.get_by_label("Why (free text) for D0365").fill("no radiology report yet")
        d0365.get_by_role("button", name="Reject").click()
        page.wait_for_url("**done=reject**")

        d0393 = page.locator(f"#line-{lines['D0393'].identifier}")
        d0393.get_by_label("Code for line D0393").fill("D9999")       # unknown code: refused, nothing written
        d0393.get_by_role("button", name="Save edit").click()
        assert page.get_by_role("alert").inner_text().startswith("Not applied: code 'D9999' is not in the code tables")
        page.locator(f"#line-{lines['D0393'].identifier}").get_by_label("Code for line D0393").fill("D0367")
        page.locator(f"#line-{lines['D0393'].identifier}").get_by_role("button", name="Save edit").click()
        page.wait_for_url("**done=edit**")
        page.screenshot(path=str(tmp_path / "decided.png"), full_page=True)

        page.get_by_role("link", name="Why these lines? (the engine's explanation)").click()
        page.locator("#explain h2").wait_for()
        assert "applied" in page.locator("#explain").inner_text()

        page.get_by_role("link", name="Audit log").click()
        page.wait_for_url(f"{url}/review/audit")
        assert page.locator("table.audit tbody tr").count() == 3
        page.screenshot(path=str(tmp_path / "audit.png"), full_page=True)
        page.get_by_role("link", name="Metrics").click()
        page.wait_for_url(f"{url}/review/metrics")
        assert page.locator("svg[role=img]").count() == 4
        page.screenshot(path=str(tmp_path / "metrics.png"), full_page=True)

    assert sc.charge_item(ctx, lines["D0140"].identifier)["status"] == "billable"
    assert sc.charge_item(ctx, lines["D0365"].identifier)["status"] == "not-billable"
    edited = sc.charge_item(ctx, lines["D0393"].identifier)
    assert (edited["status"], sc.code_of(edited)) == ("billable", "D0367")
    audit = sc.audit(ctx)
    assert [(a.actor, a.action, a.via) for a in audit] == [("ana", "approve", "queue"), ("ana", "reject", "queue"),
                                                          ("ana", "edit", "queue")]
    assert (audit[1].reason_code, audit[1].reason_text) == ("documentation-missing", "no radiology report yet")


def _select_line(page, identifier: str) -> None:
    """Move the current line with the keyboard (n / p) until it is `identifier` (bounded)."""
    for _ in range(6):
        if page.evaluate("() => (document.querySelector('section.line.current') || {}).id") == f"line-{identifier}":
            return
        page.keyboard.press("n")
    for _ in range(6):
        if page.evaluate("() => (document.querySelector('section.line.current') || {}).id") == f"line-{identifier}":
            return
        page.keyboard.press("p")
    raise AssertionError("could not select the line with n / p")
