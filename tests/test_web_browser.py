"""The web page in a real browser: headless chromium against `planner serve` on a loopback port.

A planner signs in, uploads a scenario, solves it and watches the progress to the plan, opens the timeline
and an explanation by keyboard, runs a what-if, compares two scenarios, draws a sweep and cancels a long
solve; a viewer finds no write action. After every test, the browser's console must hold no error: no
script error, no resource refused, no Content-Security-Policy violation. Every plan a test sees is
re-verified by the plan checker through the API.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.print_page_options import PrintOptions
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as until

from tests.browser import chromium, console_errors, sign_in, viewer_token, wait
from tests.factories import REFERENCE, REPO
from tests.service import Server

HIRE_ML = REPO / "scenarios" / "acme-2027-hire-ml.yaml"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("web-browser"))
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def stored(server: Server) -> dict[str, str]:
    """The reference scenario and its hire-ML variant, stored through the API."""
    status, base = server.call("POST", "/scenarios", REFERENCE.read_bytes(), content_type="application/yaml")
    assert status == 201, base
    text = HIRE_ML.read_text().replace("extends: acme-2027.yaml", f"extends: {base['id']}")  # a stored overlay names its base by id
    status, variant = server.call("POST", "/scenarios", text.encode(), content_type="application/yaml")
    assert status == 201, variant
    return {"reference": base["id"], "hire-ml": variant["id"]}


@pytest.fixture(scope="module")
def browser(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    driver = chromium(1280, 900, tmp_path_factory.mktemp("chromium"))
    sign_in(driver, server.url, server.token)
    yield driver
    driver.quit()


@pytest.fixture(autouse=True)
def no_console_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "browser" in request.fixturenames:
        assert console_errors(request.getfixturevalue("browser")) == []


def texts(driver: WebDriver, selector: str) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, selector)]


def scenario_page(driver: WebDriver, server: Server, scenario_id: str) -> None:
    driver.get(f"{server.url}/ui/scenarios/{scenario_id}")


def test_a_planner_uploads_a_file_and_a_broken_one_shows_its_problem_at_line_and_column(
    server: Server, browser: WebDriver, stored: dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(REFERENCE.read_text().replace("capacity: 26", "capacity: -26", 1))
    line = next(n for n, row in enumerate(broken.read_text().splitlines(), 1) if "capacity: -26" in row)
    browser.get(f"{server.url}/ui/")
    browser.find_element(By.ID, "file").send_keys(str(broken))
    browser.find_element(By.CSS_SELECTOR, "form.upload button").click()
    problem = wait(browser).until(until.visibility_of_element_located((By.CSS_SELECTOR, ".problems li"))).text
    assert problem.startswith(f"broken.yaml, line {line}, column ") and "capacity" in problem
    assert [e.split(" - ")[-1] for e in console_errors(browser)] == [
        "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
    ]

    good = tmp_path / "startup.yaml"
    good.write_text((REPO / "scenarios" / "startup-monthly.yaml").read_text())
    browser.get(f"{server.url}/ui/")
    browser.find_element(By.ID, "file").send_keys(str(good))
    browser.find_element(By.CSS_SELECTOR, "form.upload button").click()
    wait(browser).until(until.url_contains("/ui/scenarios/sc_"))
    name = yaml.safe_load(good.read_text())["name"]
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith(name)
    browser.get(f"{server.url}/ui/")
    assert name in texts(browser, "table.list td a")


def test_a_solve_shows_its_progress_then_opens_the_plan_with_a_bar_per_scheduled_initiative(server: Server, browser: WebDriver, stored: dict[str, str]) -> None:
    scenario_page(browser, server, stored["reference"])
    browser.find_element(By.ID, "solve-limit").clear()
    browser.find_element(By.ID, "solve-limit").send_keys("10")
    browser.find_element(By.CSS_SELECTOR, "form[aria-labelledby=solve-heading] button").click()
    wait(browser).until(until.url_contains("/ui/jobs/job_"))
    assert browser.find_element(By.ID, "job").get_attribute("data-progress").endswith("/progress")
    wait(browser, 120).until(until.url_contains("/ui/plans/plan_"))  # the script saw the job finish and opened its plan
    plan = server.verified_plan(browser.current_url.rsplit("/", 1)[1])
    bars = [e.get_attribute("data-id") for e in browser.find_elements(By.CSS_SELECTOR, "svg.timeline a.bar-link")]
    assert sorted(bars) == sorted(s.id for s in plan.scheduled)
    assert browser.find_element(By.CSS_SELECTOR, ".headline").text.startswith("optimal")
    left_out = texts(browser, "section[aria-labelledby=out-heading] tbody tr")
    assert len(left_out) == len(plan.not_scheduled)
    assert all(row and "not explained" not in row for row in left_out)  # each with its reason
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 1280  # readable at 1280 px


def _plan_id(server: Server, scenario_id: str) -> str:
    status, page = server.call("GET", f"/plans?scenario={scenario_id}")
    assert status == 200 and page["items"], page
    return page["items"][0]["id"]


def test_a_bar_opened_by_keyboard_shows_its_explanation_and_a_forced_what_if_runs_as_a_job(server: Server, browser: WebDriver, stored: dict[str, str]) -> None:
    plan_id = _plan_id(server, stored["reference"])
    plan = server.verified_plan(plan_id)
    browser.get(f"{server.url}/ui/plans/{plan_id}")
    focused = None
    for _ in range(80):  # Tab through the page to the first bar of the timeline
        browser.switch_to.active_element.send_keys(Keys.TAB)
        focused = browser.switch_to.active_element
        if focused.get_attribute("class") == "bar-link":
            break
    assert focused is not None and focused.get_attribute("class") == "bar-link"
    chosen = focused.get_attribute("data-id")
    focused.send_keys(Keys.ENTER)
    wait(browser).until(until.url_contains(f"/initiatives/{chosen}"))
    assert chosen in browser.find_element(By.TAG_NAME, "h1").text
    assert texts(browser, "ul.explanation li")[0].startswith(f"{chosen}: scheduled")

    out = plan.not_scheduled[0].id
    browser.get(f"{server.url}/ui/plans/{plan_id}/initiatives/{out}")
    assert texts(browser, "ul.explanation li")[1].startswith("why: ")
    browser.find_element(By.ID, "force").click()
    wait(browser, 120).until(until.presence_of_element_located((By.XPATH, "//h2[text()='What changed against the plan']")))
    changes = texts(browser, "li.added")
    assert any(out in change for change in changes)
    new_plan = browser.find_element(By.LINK_TEXT, "Open the new plan").get_attribute("href").rsplit("/", 1)[1]
    assert out in server.verified_plan(new_plan).scheduled_by_id()


def test_two_scenarios_are_compared_side_by_side_with_the_diff_and_its_reasons(server: Server, browser: WebDriver, stored: dict[str, str]) -> None:
    browser.get(f"{server.url}/ui/compare")
    browser.find_element(By.ID, f"pick-{stored['reference']}").click()
    browser.find_element(By.ID, f"pick-{stored['hire-ml']}").click()
    browser.find_element(By.ID, f"base-{stored['reference']}").click()
    browser.find_element(By.ID, "compare-limit").clear()
    browser.find_element(By.ID, "compare-limit").send_keys("5")
    browser.find_element(By.CSS_SELECTOR, "main form button").click()
    wait(browser, 120).until(until.url_contains("/ui/comparisons/cmp_"))
    headers = texts(browser, "table.roadmaps thead th")
    assert headers == ["Period", "acme-2027", "acme-2027-hire-ml"]
    assert [row.split()[0] for row in texts(browser, "table.roadmaps tbody th")] == ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]
    diff = texts(browser, "ul.diff li")
    assert diff and all(": " in line for line in diff)
    assert any("added" in line for line in diff)
    for link in browser.find_elements(By.CSS_SELECTOR, "main p a[href*='/ui/plans/']"):
        server.verified_plan(link.get_attribute("href").rsplit("/", 1)[1])


def test_a_sweep_draws_its_curve_with_the_knee_and_marks_settings_without_a_plan(server: Server, browser: WebDriver, stored: dict[str, str]) -> None:
    scenario_page(browser, server, stored["reference"])
    for field, value in (("low", "-0.3"), ("high", "0.3"), ("steps", "4"), ("sweep-limit", "3")):
        browser.find_element(By.ID, field).clear()
        browser.find_element(By.ID, field).send_keys(value)
    browser.find_element(By.CSS_SELECTOR, "form[aria-labelledby=sweep-heading] button").click()
    wait(browser, 180).until(until.presence_of_element_located((By.CSS_SELECTOR, "svg.curve")))
    rows = [row.split() for row in texts(browser, "main table.list tbody tr")]
    assert [row[0] for row in rows] == ["-30%", "-10%", "+10%", "+30%"]
    infeasible = [row for row in rows if row[1].startswith("infeasible")]
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.curve g.infeasible")) == len(infeasible) >= 1  # 30% less capacity misses a deadline
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.curve circle.dot")) == len(rows) - len(infeasible)
    knees = browser.find_elements(By.CSS_SELECTOR, "svg.curve circle.knee")
    assert len(knees) <= 1 and len(knees) == len(browser.find_elements(By.CSS_SELECTOR, "tr.knee-row"))


def test_a_plan_is_simulated_from_its_page_and_the_outlook_is_drawn(server: Server, browser: WebDriver) -> None:
    status, body = server.call("POST", "/scenarios", (REPO / "scenarios" / "ai-platform-2027.yaml").read_bytes(), content_type="application/yaml")
    assert status == 201, body
    status, job = server.call("POST", f"/scenarios/{body['id']}/solves?wait=60", {"time_limit": 10, "workers": 1, "reasons": False, "confidence": 0.9})
    assert status == 200 and job["status"] == "succeeded", job
    plan = server.verified_plan(job["plan_id"])
    browser.get(f"{server.url}/ui/plans/{job['plan_id']}")
    assert "Made for 90% confidence" in browser.find_element(By.ID, "confidence").text
    browser.find_element(By.ID, "samples").clear()
    browser.find_element(By.ID, "samples").send_keys("2000")
    browser.find_element(By.ID, "simulate").click()
    wait(browser).until(until.url_contains("/ui/jobs/job_"))
    wait(browser, 120).until(until.presence_of_element_located((By.ID, "value-histogram")))  # the script saw the job end and showed it
    assert len(browser.find_elements(By.CSS_SELECTOR, "#value-histogram rect.bin")) == 20
    assert browser.find_element(By.ID, "simulation-headline").text.startswith("ai-platform-2027: 2000 samples, seed 0")
    rows = browser.find_elements(By.CSS_SELECTOR, "#finish-grid tbody tr")
    assert len(rows) == len(plan.scheduled)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#finish-grid td.planned")) == len(plan.scheduled)  # each planned finish outlined
    conformity = next(r for r in rows if "eu-ai-act-conformity" in r.text)
    assert "⚑" in conformity.text
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 1280


def test_a_long_solve_draws_its_progress_live_and_is_cancelled_from_the_page(server: Server, browser: WebDriver) -> None:
    from bench.generate import portfolio

    status, body = server.call("POST", "/scenarios", yaml.safe_dump(portfolio(150, 8, 8, seed=3), sort_keys=False).encode(), content_type="application/yaml")
    assert status == 201, body
    scenario_page(browser, server, body["id"])
    browser.find_element(By.ID, "solve-limit").clear()
    browser.find_element(By.ID, "solve-limit").send_keys("60")
    browser.find_element(By.CSS_SELECTOR, "form[aria-labelledby=solve-heading] button").click()
    wait(browser).until(until.url_contains("/ui/jobs/job_"))
    wait(browser, 60).until(lambda d: len(d.find_element(By.ID, "incumbent-line").get_attribute("points").split()) >= 2)
    assert "incumbent" in browser.find_element(By.ID, "job-figures").text
    browser.find_element(By.ID, "cancel").click()
    wait(browser, 60).until(lambda d: "cancelled" in d.find_element(By.ID, "job-status").text)
    job_id = browser.current_url.rsplit("/", 1)[1]
    assert server.call("GET", f"/jobs/{job_id}")[1]["status"] == "cancelled"


def test_the_executive_view_prints_on_one_landscape_sheet(server: Server, browser: WebDriver, stored: dict[str, str]) -> None:
    browser.get(f"{server.url}/ui/plans/{_plan_id(server, stored['reference'])}?tab=executive")
    options = PrintOptions()
    options.orientation = "landscape"
    pdf = base64.b64decode(browser.print_page(options))
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1


def test_a_viewer_finds_no_write_action_on_any_page(server: Server, stored: dict[str, str], tmp_path: Path) -> None:
    driver = chromium(1280, 900, tmp_path / "profile")
    try:
        sign_in(driver, server.url, viewer_token(server))
        plan_id = _plan_id(server, stored["reference"])
        for path in ("/ui/", f"/ui/scenarios/{stored['reference']}", f"/ui/plans/{plan_id}", f"/ui/plans/{plan_id}/initiatives/support-chatbot", "/ui/compare"):
            driver.get(server.url + path)
            actions = [f.get_attribute("action") for f in driver.find_elements(By.CSS_SELECTOR, "form[method=post]")]
            assert [a.rsplit("/", 1)[1] for a in actions] == ["signout"], path
        assert "viewer" in driver.find_element(By.CSS_SELECTOR, "form.who span").text
        driver.find_element(By.CSS_SELECTOR, "form.who button").click()
        wait(driver).until(until.url_contains("/ui/signin"))
        driver.get(f"{server.url}/ui/")
        assert "/ui/signin" in driver.current_url
        assert console_errors(driver) == []
    finally:
        driver.quit()
