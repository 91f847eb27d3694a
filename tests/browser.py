"""A real browser for the web page's tests: Debian's chromium, headless, driven by chromium-driver through
selenium (`make test` installs both). Also the service with a planner's and a viewer's token, for the tests
and for `python -m tests.screenshots`."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.service import PLANNER, Server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# No sandbox (CI runs as root); and none of chromium's own calls home, which this closed network refuses.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
)


def chromium(width: int = 1280, height: int = 900, profile: Path | None = None) -> WebDriver:
    """A headless chromium at `width` x `height` whose console (errors, CSP refusals) the test can read."""
    for program in (CHROMIUM, DRIVER):
        if not Path(program).exists():
            raise RuntimeError(f"{program} is missing: `make test` installs Debian's chromium and chromium-driver (apt-get, as root)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--window-size={width},{height}", f"--user-data-dir={profile or tempfile.mkdtemp(prefix='chromium-')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=DriverService(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


def console_errors(driver: WebDriver) -> list[str]:
    """What the page logged as an error since the last call: script errors, refused resources, CSP violations."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def sign_in(driver: WebDriver, url: str, token: str) -> None:
    driver.get(f"{url}/ui/")
    driver.find_element(By.NAME, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "form.who")))


def wait(driver: WebDriver, seconds: float = 60) -> WebDriverWait[Any]:
    """Polls a condition until it holds. The pages change under it (a job's page reloads when the job ends, its script
    rewrites the status), so an element found a moment before may be gone: that is a poll to repeat, not a failure."""
    return WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException))


def viewer_token(server: Server) -> str:
    return subprocess.run(
        [PLANNER, "tokens", "create", "--role", "viewer", "--name", "viewer", "--instance", str(server.instance)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
