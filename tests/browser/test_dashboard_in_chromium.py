"""The dashboard in a real browser: ``streamlit run app.py`` on a fresh embedded default (SQLite,
sandbox networks, demo org, in-process scheduler), headless Chromium signs in through the form,
opens every page of the navigation and takes a screenshot of each.

Select with ``-m browser``; screenshots go to the test's tmp_path and to $HERALD_SCREENSHOT_DIR.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from core.services.demo import DEMO_PASSWORD
from tests.browser.harness import (
    RENDER_TIMEOUT_S,
    StreamlitServer,
    browser_binaries,
    button,
    chromium_driver,
    dashboard_env,
    main_text,
    nav_links,
    open_page,
    problems_on_page,
    save_screenshot,
    screenshot_dirs,
    sign_in,
    wait_for_page,
)
from tests.daemon.harness import SandboxServer, wait_until

pytestmark = pytest.mark.browser

ADMIN_PAGES = ["Calendar", "Composer", "Approvals", "Library", "Best times", "Performance", "Queue",
               "Accounts", "Settings"]


@pytest.fixture
def chromium() -> None:
    """Skip (or, with HERALD_REQUIRE_BROWSER=1, fail) before starting anything."""
    browser_binaries()


@pytest.fixture
def dashboard(chromium: None, tmp_path: Path) -> Iterator[StreamlitServer]:
    data = tmp_path / "data"
    data.mkdir()
    server = StreamlitServer(dashboard_env(data), tmp_path / "streamlit.log")
    yield server
    server.stop()
    assert "Traceback" not in server.log(), server.log()[-3000:]


def visit_every_page(driver: WebDriver, role: str, expected: list[str], shots: list[Path]) -> None:
    labels = list(nav_links(driver))
    assert labels == expected
    for label in labels:
        open_page(driver, label)
        wait_for_page(driver, label)
        save_screenshot(driver, f"{role}-{label.lower().replace(' ', '-')}", shots)
        assert not problems_on_page(driver), f"{label} ({role}): {problems_on_page(driver)}"


def test_every_page_renders_in_chromium_for_an_admin_and_a_viewer(dashboard: StreamlitServer, tmp_path: Path) -> None:
    shots = screenshot_dirs(tmp_path)
    with chromium_driver(tmp_path / "profile") as driver:
        driver.get(dashboard.url)
        wait_for_page(driver, "📣 Herald")
        assert "admin@demo.herald" in main_text(driver)  # demo accounts listed on the sign-in page
        save_screenshot(driver, "sign-in", shots)

        sign_in(driver, dashboard.url, "admin@demo.herald", DEMO_PASSWORD, open_app=False)
        wait_for_page(driver, "Calendar")
        assert "Signed in as Ada Admin (admin)" in main_text(driver)
        visit_every_page(driver, "admin", ADMIN_PAGES, shots)
        open_page(driver, "Accounts")
        wait_for_page(driver, "Accounts")
        assert driver.find_elements(By.XPATH, '//button[normalize-space(.)="Disconnect"]')  # an admin may

        button(driver, "Sign out").click()
        wait_for_page(driver, "📣 Herald")
        sign_in(driver, dashboard.url, "analyst@demo.herald", DEMO_PASSWORD, open_app=False)
        wait_for_page(driver, "Calendar")
        visit_every_page(driver, "viewer", [p for p in ADMIN_PAGES if p != "Settings"], shots)
        # Last page visited: Accounts. A viewer sees the accounts but no control to change them.
        assert "Only admins can connect or disconnect accounts." in main_text(driver)
        assert not driver.find_elements(By.XPATH, '//button[normalize-space(.)="Disconnect"]')
        assert not driver.find_elements(By.XPATH, '//button[contains(., "Connect")]')
    taken = sorted(p.name for p in shots[0].iterdir())
    assert len(taken) == 1 + len(ADMIN_PAGES) + len(ADMIN_PAGES) - 1, taken


def test_live_oauth_comes_back_to_a_new_session_and_connects_after_sign_in(chromium: None, tmp_path: Path) -> None:
    """Live OAuth in a real browser: Herald against the sandbox as an HTTP server, so the browser
    itself goes to the network's authorize URL and is redirected back (a full-page load: a new,
    signed-out session) with ``?code&state``."""
    data = tmp_path / "data"
    data.mkdir()
    sandbox = SandboxServer()
    server = StreamlitServer(dashboard_env(data, HERALD_SANDBOX_URL=sandbox.url, HERALD_EMBEDDED_SCHEDULER="0"),
                             tmp_path / "streamlit.log")
    shots = screenshot_dirs(tmp_path)
    try:
        with chromium_driver(tmp_path / "profile") as driver:
            sign_in(driver, server.url, "admin@demo.herald", DEMO_PASSWORD)
            open_page(driver, "Accounts")
            wait_for_page(driver, "Accounts")
            before = facebook_accounts(data)
            button(driver, "Connect Facebook").click()
            wait_until(lambda: driver.find_elements(By.XPATH, '//a[contains(., "Continue to Facebook")]'),
                       timeout=RENDER_TIMEOUT_S, what="the link to the network")
            authorize = driver.find_element(By.XPATH, '//a[contains(., "Continue to Facebook")]').get_attribute("href")
            assert authorize and authorize.startswith(sandbox.url), authorize
            driver.get(authorize)  # consent, then the network's 302 back to Herald's root

            wait_for_page(driver, "📣 Herald")
            assert "code=" not in driver.current_url and "state=" not in driver.current_url
            assert "Sign in to finish connecting the Facebook account @Herald Sandbox Page" in main_text(driver)
            save_screenshot(driver, "oauth-callback-sign-in", shots)
            assert facebook_accounts(data) == before  # nothing stored before its user signs in

            sign_in(driver, server.url, "admin@demo.herald", DEMO_PASSWORD, open_app=False)
            wait_for_page(driver, "Accounts")
            assert "Connected Facebook account @Herald Sandbox Page." in main_text(driver)
            save_screenshot(driver, "oauth-callback-connected", shots)
            assert problems_on_page(driver) == []
        assert facebook_accounts(data) == sorted([*before, ("Herald Sandbox Page", "active")])
    finally:
        server.stop()
        sandbox.stop()


def facebook_accounts(data: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(data / "herald.db") as db:
        return sorted(db.execute("SELECT username, status FROM social_accounts WHERE platform = 'facebook'"))
