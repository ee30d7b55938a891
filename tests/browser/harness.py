"""A real dashboard in a real browser: ``streamlit run app.py`` on loopback, driven by Debian's
headless Chromium through Selenium.

Selenium is given the system ``chromedriver`` and ``chromium`` explicitly, so Selenium Manager is
never consulted and nothing is downloaded. When they are missing the tests skip with a message,
unless ``HERALD_REQUIRE_BROWSER=1`` (CI), which turns the absence into a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from tests.daemon.harness import ROOT, free_port, stop_process, wait_until

REQUIRE_ENV = "HERALD_REQUIRE_BROWSER"
SCREENSHOT_ENV = "HERALD_SCREENSHOT_DIR"
INSTALL_HINT = "apt-get install chromium chromium-driver"
WINDOW = (1440, 1600)
STARTUP_TIMEOUT_S = 90  # first start migrates and seeds 90 days of demo history
RENDER_TIMEOUT_S = 60


def browser_binaries() -> tuple[str, str]:
    """(chromium, chromedriver) from PATH (Debian puts both in /usr/bin); skip or fail when absent."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    missing = [name for name, path in (("chromium", chromium), ("chromedriver", driver)) if not path]
    if missing:
        message = f"{' and '.join(missing)} not found ({INSTALL_HINT})"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {message}", pytrace=False)
        pytest.skip(f"real-browser test skipped: {message}")
    assert chromium and driver
    return chromium, driver


@contextmanager
def chromium_driver(profile_dir: Path) -> Iterator[WebDriver]:
    chromium, driver_path = browser_binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--disable-extensions", "--no-first-run", f"--user-data-dir={profile_dir}",
                f"--window-size={WINDOW[0]},{WINDOW[1]}", "--lang=en-GB"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(RENDER_TIMEOUT_S)
    try:
        yield driver
    finally:
        driver.quit()


def dashboard_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The embedded default on a fresh data directory: SQLite, sandbox, demo org, in-process
    scheduler (nothing inherited from the caller's HERALD_* settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HERALD_", "STREAMLIT_"))}
    env.update({"HERALD_DATABASE_URL": f"sqlite:///{data_dir / 'herald.db'}", "HERALD_DATA_DIR": str(data_dir),
                "HERALD_PLATFORM_MODE": "sandbox", **extra})
    return env


class StreamlitServer:
    """``streamlit run app.py`` on a free loopback port; its output goes to ``log_path``."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
             "--server.port", str(self.port), "--server.headless", "true", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        wait_until(self._healthy, timeout=STARTUP_TIMEOUT_S, interval=0.25, what=f"streamlit on {self.url}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"streamlit exited with {self.process.returncode}:\n{self.log()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/_stcore/health", timeout=1).text.strip() == "ok"
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        stop_process(self.process, timeout=20)
        self._log.close()


# --- reading the page ----------------------------------------------------------------------------

def script_idle(driver: WebDriver) -> bool:
    """The app finished its run: connected, and the script is not running."""
    app = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stApp"]')
    return bool(app) and app[0].get_attribute("data-test-script-state") == "notRunning" \
        and app[0].get_attribute("data-test-connection-state") == "CONNECTED"


def main_text(driver: WebDriver) -> str:
    try:
        return "\n".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMain"]'))
    except StaleElementReferenceException:
        return ""


def headings(driver: WebDriver) -> list[str]:
    try:
        return [e.text.strip() for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMain"] h1')]
    except StaleElementReferenceException:
        return []


def wait_for_page(driver: WebDriver, title: str, *, timeout: float = RENDER_TIMEOUT_S) -> None:
    """Wait until the page titled ``title`` has rendered and its script run is over."""

    def ready() -> bool:
        if driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]'):
            return True  # let the caller's assertion show it
        return title in headings(driver) and script_idle(driver)

    wait_until(ready, timeout=timeout, interval=0.2, what=f"the {title!r} page to render")
    time.sleep(0.5)  # charts and custom components draw just after the run ends


def problems_on_page(driver: WebDriver) -> list[str]:
    found = [e.text for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')]
    if "Traceback" in main_text(driver):
        found.append("a traceback is shown")
    return found


def save_screenshot(driver: WebDriver, name: str, directories: list[Path]) -> list[Path]:
    png = driver.get_screenshot_as_png()
    paths = []
    for directory in directories:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.png"
        path.write_bytes(png)
        paths.append(path)
    return paths


def screenshot_dirs(tmp_path: Path) -> list[Path]:
    extra = os.environ.get(SCREENSHOT_ENV)
    return [tmp_path / "screenshots", *([Path(extra)] if extra else [])]


# --- acting on the page --------------------------------------------------------------------------

def text_input(driver: WebDriver, label: str) -> WebElement:
    return driver.find_element(By.XPATH, f'//input[@aria-label="{label}"]')


def button(driver: WebDriver, label: str) -> WebElement:
    return driver.find_element(By.XPATH, f'//button[normalize-space(.)="{label}"]')


def sign_in(driver: WebDriver, url: str, email: str, password: str, *, open_app: bool = True) -> None:
    if open_app:
        driver.get(url)
    wait_for_page(driver, "📣 Herald")
    for label, value in (("Email", email), ("Password", password)):
        field = text_input(driver, label)
        field.clear()
        field.send_keys(value)
    button(driver, "Sign in").click()
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNav"]'),
               timeout=RENDER_TIMEOUT_S, what="the navigation after signing in")


def nav_links(driver: WebDriver) -> dict[str, WebElement]:
    """Label -> link of every page in the sidebar navigation, in order ("View more" expanded).
    A link's text is its icon and its title on two lines; the label is the title."""
    for more in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavViewButton"]'):
        if "more" in more.text.lower():
            more.click()
    links = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavLink"]')
    return {link.text.strip().splitlines()[-1]: link for link in links}


def open_page(driver: WebDriver, label: str) -> None:
    """Click the page's link in the sidebar: a client-side switch in the same (signed-in) session,
    as a person navigates; opening the URL directly would start a new, signed-out session."""
    link = nav_links(driver)[label]
    try:
        link.click()
    except WebDriverException:
        driver.execute_script("arguments[0].click();", link)
