"""The admin pages in a real browser: Debian's Chromium driven by Playwright, app on loopback.

Screenshots go to test-artifacts/screenshots/ (kept by CI as artifacts).
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from playwright import sync_api as playwright_api
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from intake.models import Case, CategoryLabel, Outbox, Report, ReportStatus

from admin_support import PASSWORD, World, build_world
from conftest import REQUIRE_BROWSER, missing

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, which Playwright drives (it downloads no browser of its own)."""
    if shutil.which(CHROMIUM) is None:
        missing(
            f"Debian's Chromium ({CHROMIUM})",
            required=REQUIRE_BROWSER,
            how="apt-get install chromium (.ci/run does; INTAKE_REQUIRE_BROWSER=1 makes "
            "this a failure)",
        )
    return CHROMIUM


@pytest.fixture
def served(app: Flask, chromium: str) -> Iterator[str]:
    """The app on a loopback port, in a thread, as a browser reaches it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_port}"
    server.shutdown()


@pytest.fixture
def page(served: str, chromium: str) -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        yield tab
        context.close()
        browser.close()


def shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_monitor_works_a_report_end_to_end(
    app: Flask, served: str, page: object, session: Session
) -> None:
    world: World = build_world(app)
    p = page  # a phone-sized Chromium tab
    p.goto(f"{served}/admin/")  # type: ignore[attr-defined]
    assert "/admin/login" in p.url
    p.fill("#email", world.monitor_a.email)
    p.fill("#password", PASSWORD)
    shot(p, "01-sign-in")
    p.click("button[type=submit]:has-text('Continue')")
    p.fill("#code", pyotp.TOTP(world.monitor_a.secret).now())
    shot(p, "02-code")
    p.click("button[type=submit]:has-text('Sign in')")
    p.wait_for_selector("ol.queue")
    shot(p, "03-queue")
    assert p.locator("ol.queue li").count() == 1  # only partner A's report

    report = session.get(Report, world.report_a)
    p.click(f"a.code:has-text('{report.code}')")
    p.wait_for_selector("blockquote.sms")
    # The SMS's script is shown as text, never run.
    assert "<script>alert(1)</script>" in p.inner_text("blockquote.sms")
    shot(p, "04-report")

    # Triage: status.
    p.select_option("#status", "triaged")
    p.click("form[action$='/status'] button[type=submit]")
    p.wait_for_load_state()
    # Correct the categories.
    for box in p.locator("input[name=codes]").all():
        box.uncheck()
    p.check("input[name=codes][value=wages]")
    p.check("input[name=codes][value=working_hours]")
    p.click("form.categories-form button[type=submit]")
    p.wait_for_selector("text=Categories saved")
    shot(p, "05-categories")

    # Reply to the worker (queued; the number is never shown).
    p.fill("form[action$='/reply'] textarea", "Which floor is your line on?")
    p.click("form[action$='/reply'] button[type=submit]")
    p.wait_for_selector(".flash")
    assert "812345671" not in p.content()

    # Open a case and add a remedy item.
    p.fill("form[action$='/cases/new'] input[name=title]", "Unpaid overtime on line 3")
    p.click("form[action$='/cases/new'] button[type=submit]")
    p.wait_for_selector("h2:has-text('Remedy plan')")
    p.fill("form[action$='/remedies'] textarea[name=action]", "Pay all overtime owed since May")
    p.select_option("form[action$='/remedies'] select[name=responsible]", "factory")
    p.fill("form[action$='/remedies'] input[name=due_on]", "2027-01-31")
    p.click("form[action$='/remedies'] button[type=submit]")
    p.wait_for_selector("ol.remedies li:has-text('Pay all overtime owed')")
    shot(p, "06-case")

    # Switch the interface language (works without JavaScript too: the button submits).
    p.select_option("#locale", "zh")
    p.wait_for_load_state()
    p.wait_for_selector("html[lang=zh]")
    shot(p, "07-chinese")
    assert re.search(r"[\u4e00-\u9fff]", p.inner_text("nav"))

    session.expire_all()
    report = session.get(Report, world.report_a)
    assert report.status is ReportStatus.TRIAGED
    assert sorted(report.category_codes) == ["wages", "working_hours"]
    assert session.scalar(select(CategoryLabel.categories)) is not None
    case = session.scalar(select(Case))
    assert case is not None
    assert [item.action for item in case.remedies] == ["Pay all overtime owed since May"]
    queued = session.scalar(select(Outbox))
    assert queued is not None
    assert queued.body == "Which floor is your line on?"
