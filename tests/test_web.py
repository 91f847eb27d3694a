"""The web page through the Flask test client: signing in, the session cookie, CSRF, the policy headers, roles,
located upload errors, escaping, paging a 500-initiative timeline, downloads. The browser tests
(`test_web_browser.py`) drive the same pages in chromium."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient

from api.web.charts import PER_PAGE
from api.web.session import COOKIE
from planner.scenario import Scenario
from tests.factories import REFERENCE
from tests.service import Api, close, make_api

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Any:
    service = make_api(tmp_path_factory.mktemp("web"), max_initiatives=600)
    yield service
    close(service)


def signed_in(api: Api, role: str = "planner", workspace: str = "alpha") -> FlaskClient:
    """A browser of its own (a client with its own cookies), signed in with a token of `role`."""
    client = api.app.test_client()
    form = client.get("/ui/signin")
    answer = client.post("/ui/signin", data={"token": api.token(role, workspace), "csrf": CSRF.search(form.text).group(1), "next": "/ui/"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/ui/"
    return client


def words(answer: Any) -> str:
    """The page's text as a reader sees it (entities decoded)."""
    return html.unescape(answer.text)


def csrf(client: FlaskClient) -> str:
    return CSRF.search(client.get("/ui/").text).group(1)


def scenario_count(api: Api) -> int:
    return api.get("/scenarios").get_json()["total"]


@pytest.fixture(scope="module")
def planner(api: Api) -> FlaskClient:
    return signed_in(api)


@pytest.fixture(scope="module")
def solved(api: Api) -> dict[str, Any]:
    scenario_id = api.reference()
    job = api.solve(scenario_id)
    assert job["status"] == "succeeded", job["error"]
    scenario = Scenario.model_validate(api.get(f"/scenarios/{scenario_id}").get_json()["scenario"])
    return {"scenario": scenario_id, "plan": job["plan_id"], "verified": api.plan(job["plan_id"]), "scenario_data": scenario}


# --- signing in ----------------------------------------------------------------------------------------


def test_a_browser_asking_for_the_root_is_sent_to_the_page_and_an_api_client_still_gets_404(api: Api) -> None:
    browser = api.client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.status_code == 302 and browser.headers["Location"] == "/ui/"
    assert api.client.get("/", headers={"Accept": "application/json"}).status_code == 404


def test_a_page_without_a_session_sends_to_sign_in_and_back_but_never_to_another_site(api: Api) -> None:
    client = api.app.test_client()
    answer = client.get("/ui/plans/plan_x?tab=executive")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/ui/signin?next=/ui/plans/plan_x")
    for target in ("https://evil.example/", "//evil.example/ui/", "/ui/\\evil", "/scenarios"):
        form = client.get("/ui/signin", query_string={"next": target})
        assert 'name="next" value="/ui/"' in form.text, target


def test_signing_in_keeps_the_token_in_an_httponly_strict_session_cookie_and_signing_out_forgets_it(api: Api) -> None:
    client = api.app.test_client()
    form = client.get("/ui/signin")
    answer = client.post("/ui/signin", data={"token": api.token("viewer"), "csrf": CSRF.search(form.text).group(1)})
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith(COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/ui" in cookie
    assert "Expires" not in cookie and "Max-Age" not in cookie  # a session cookie: gone with the browser
    assert client.get("/ui/").status_code == 200
    out = client.post("/ui/signout", data={"csrf": csrf(client)})
    assert out.status_code == 303 and out.headers["Location"] == "/ui/signin"
    assert client.get("/ui/").status_code == 302


def test_a_wrong_token_is_refused_on_the_sign_in_page_in_words(api: Api) -> None:
    client = api.app.test_client()
    nonce = CSRF.search(client.get("/ui/signin").text).group(1)
    answer = client.post("/ui/signin", data={"token": "pp_tok_0000_nope", "csrf": nonce})
    assert answer.status_code == 401 and answer.mimetype == "text/html"
    assert "the token is not valid" in words(answer)
    assert client.get("/ui/").status_code == 302


def test_a_sign_in_form_posted_from_elsewhere_is_refused(api: Api) -> None:
    client = api.app.test_client()
    answer = client.post("/ui/signin", data={"token": api.token("planner"), "csrf": "guessed"})
    assert answer.status_code == 403 and "not sent from the planner's own page" in words(answer)
    assert client.get("/ui/").status_code == 302


def test_the_api_never_takes_the_pages_session_cookie(api: Api, planner: FlaskClient) -> None:
    answer = planner.get("/scenarios")  # the cookie is scoped to /ui; sent anyway, the API must not read it
    assert answer.status_code == 401
    planner.set_cookie(COOKIE, api.token("planner"), path="/")
    try:
        assert planner.get("/scenarios").status_code == 401
    finally:
        planner.delete_cookie(COOKIE, path="/")


# --- forms and headers ------------------------------------------------------------------------------


def test_a_form_without_the_sessions_csrf_token_is_refused_and_stores_nothing(api: Api, planner: FlaskClient) -> None:
    before = scenario_count(api)
    answer = planner.post("/ui/scenarios", data={"text": REFERENCE.read_text(), "csrf": "0" * 64})
    assert answer.status_code == 403 and answer.mimetype == "text/html"
    assert "reload the page" in words(answer)
    assert scenario_count(api) == before


def test_a_form_from_another_origin_is_refused_even_with_the_token(api: Api, planner: FlaskClient) -> None:
    before = scenario_count(api)
    answer = planner.post("/ui/scenarios", data={"text": REFERENCE.read_text(), "csrf": csrf(planner)}, headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403
    assert scenario_count(api) == before


def test_every_page_forbids_inline_scripts_and_styles_and_framing(api: Api, planner: FlaskClient, solved: dict[str, Any]) -> None:
    for path in ("/ui/", "/ui/signin", f"/ui/plans/{solved['plan']}", "/ui/nowhere", "/ui/plans/plan_none"):
        answer = planner.get(path)
        policy = answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert "unsafe-inline" not in policy
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert "<script>" not in answer.text and " style=" not in answer.text, path


def test_every_form_a_planner_can_post_carries_the_sessions_csrf_token(planner: FlaskClient, solved: dict[str, Any]) -> None:
    for path in ("/ui/", f"/ui/scenarios/{solved['scenario']}", f"/ui/plans/{solved['plan']}/initiatives/support-chatbot", "/ui/compare"):
        page = planner.get(path).text
        forms = re.findall(r'<form[^>]*method="post".*?</form>', page, re.S)
        assert len(forms) >= 2, path  # sign out, and the page's own
        assert {m for form in forms for m in CSRF.findall(form)} == {csrf(planner)}, path
        assert all(CSRF.search(form) for form in forms), path


def test_unknown_pages_and_records_are_html_pages_that_say_what_is_missing(planner: FlaskClient) -> None:
    nowhere = planner.get("/ui/nowhere")
    assert nowhere.status_code == 404 and nowhere.mimetype == "text/html" and "no page '/ui/nowhere' here" in words(nowhere)
    plan = planner.get("/ui/plans/plan_0000")
    assert plan.status_code == 404 and "plan_0000" in plan.text
    assert planner.get("/ui/signout").status_code == 405  # only a form signs out


# --- scenarios -----------------------------------------------------------------------------------------


def test_an_invalid_upload_shows_each_problem_at_its_line_and_column_and_stores_nothing(api: Api, planner: FlaskClient) -> None:
    before = scenario_count(api)
    text = REFERENCE.read_text().replace("depends_on: [returns-labelling]", "depends_on: [returns-labeling]", 1)
    assert text != REFERENCE.read_text()
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "returns-labeling]" in row)
    answer = planner.post("/ui/scenarios", data={"text": text, "csrf": csrf(planner)})
    assert answer.status_code == 422
    problems = [html.unescape(re.sub(r"<[^>]+>", "", item)) for item in re.findall(r'<li><span class="where">.*?</li>', answer.text, re.S)]
    assert len(problems) == 1
    assert f"line {line}, column" in problems[0] and "returns-labeling" in problems[0] and "returns-labelling" in problems[0]  # did you mean
    assert "returns-labeling]" in html.unescape(answer.text)  # the text is kept in the form, to mend
    assert scenario_count(api) == before


def test_an_uploaded_scenario_is_listed_and_a_stale_edit_is_refused_with_409(api: Api, planner: FlaskClient) -> None:
    answer = planner.post("/ui/scenarios", data={"text": REFERENCE.read_text().replace("name: acme-2027", "name: acme-web"), "csrf": csrf(planner)})
    assert answer.status_code == 303
    scenario_id = answer.headers["Location"].rsplit("/", 1)[1]
    assert "acme-web" in planner.get("/ui/").text
    edit = REFERENCE.read_text().replace("name: acme-2027", "name: acme-web")
    first = planner.post(f"/ui/scenarios/{scenario_id}/versions", data={"text": edit + "\n# one\n", "base_version": "1", "csrf": csrf(planner)})
    assert first.status_code == 303
    stale = planner.post(f"/ui/scenarios/{scenario_id}/versions", data={"text": edit + "\n# two\n", "base_version": "1", "csrf": csrf(planner)})
    assert stale.status_code == 409 and "version 2 is the newest now" in words(stale)
    assert api.get(f"/scenarios/{scenario_id}").get_json()["latest_version"] == 2


def test_a_viewer_sees_no_write_forms_and_the_server_refuses_what_a_viewer_posts(api: Api, solved: dict[str, Any]) -> None:
    viewer = signed_in(api, "viewer")
    pages = ["/ui/", f"/ui/scenarios/{solved['scenario']}", f"/ui/plans/{solved['plan']}/initiatives/support-chatbot", "/ui/compare"]
    for path in pages:
        text = viewer.get(path).text
        assert 'method="post"' not in text.replace('method="post" action="/ui/signout"', ""), path
    before = scenario_count(api)
    token = csrf(viewer)
    refused = [
        viewer.post("/ui/scenarios", data={"text": REFERENCE.read_text(), "csrf": token}),
        viewer.post(f"/ui/scenarios/{solved['scenario']}/solves", data={"time_limit": "5", "csrf": token}),
        viewer.post(f"/ui/plans/{solved['plan']}/whatifs", data={"initiative": "support-chatbot", "ask": "in", "csrf": token}),
    ]
    for answer in refused:
        assert answer.status_code == 403 and "needs the planner role" in words(answer)
    assert scenario_count(api) == before
    assert api.get(f"/jobs?scenario={solved['scenario']}").get_json()["total"] == 1  # the fixture's solve only


def test_names_with_markup_and_bidi_characters_are_shown_and_never_interpreted(api: Api, planner: FlaskClient) -> None:
    data = yaml.safe_load(REFERENCE.read_text())
    data["name"] = "q3 <b>bold</b>"
    data["initiatives"][0]["title"] = '<script>alert("x")</script> \u202eevil\u202c'
    answer = planner.post("/ui/scenarios", data={"text": yaml.safe_dump(data, allow_unicode=True), "csrf": csrf(planner)})
    assert answer.status_code == 303, answer.text[:2000]
    scenario_id = answer.headers["Location"].rsplit("/", 1)[1]
    job = api.solve(scenario_id)
    page = planner.get(f"/ui/plans/{job['plan_id']}").text
    assert "<b>bold</b>" not in page and "q3 &lt;b&gt;bold&lt;/b&gt;" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "\u202e" not in page and "[U+202E]evil[U+202C]" in page


# --- plans -------------------------------------------------------------------------------------------


def test_the_plan_page_draws_a_bar_for_each_scheduled_initiative_and_lists_what_was_left_out(planner: FlaskClient, solved: dict[str, Any]) -> None:
    plan = solved["verified"]
    page = planner.get(f"/ui/plans/{solved['plan']}").text
    bars = re.findall(r'class="bar-link" data-id="([^"]+)"', page)
    assert sorted(bars) == sorted(s.id for s in plan.scheduled)
    for item in plan.not_scheduled:
        assert f"/ui/plans/{solved['plan']}/initiatives/{item.id}" in page
    with_deadline = {i.id for i in solved["scenario_data"].initiatives if i.deadline}
    assert sorted(re.findall(r"<title>([^:<]+): deadline ", page)) == sorted(s.id for s in plan.scheduled if s.id in with_deadline)
    assert 'marker-end="url(#arrow)"' in page  # size-recommendation depends on returns-labelling, both scheduled


def test_each_audience_tab_and_download_carries_the_plan(planner: FlaskClient, solved: dict[str, Any]) -> None:
    plan = solved["verified"]
    for tab in ("executive", "engineering", "public"):
        answer = planner.get(f"/ui/plans/{solved['plan']}?tab={tab}")
        assert answer.status_code == 200 and 'aria-current="page">' + tab.capitalize() in answer.text
    downloaded = planner.get(f"/ui/plans/{solved['plan']}/download/json")
    assert downloaded.headers["Content-Disposition"].startswith('attachment; filename="acme-2027-plan_')
    assert json.loads(downloaded.text)["objective"] == plan.objective
    rows = planner.get(f"/ui/plans/{solved['plan']}/download/csv").text.splitlines()
    assert len(rows) == 1 + len(plan.scheduled) + len(plan.not_scheduled)
    assert planner.get(f"/ui/plans/{solved['plan']}/download/md").text.startswith("# ")
    assert "<!doctype html>" in planner.get(f"/ui/plans/{solved['plan']}/download/html").text
    assert planner.get(f"/ui/plans/{solved['plan']}/download/xlsx").status_code == 404


def test_a_500_initiative_timeline_is_paged_grouped_and_filtered(api: Api, planner: FlaskClient) -> None:
    from bench.generate import portfolio

    scenario_id = api.create(yaml.safe_dump(portfolio(500, 20, 8, seed=1), sort_keys=False))["id"]
    job = api.solve(scenario_id, time_limit=5, reasons=False)
    plan = api.plan(job["plan_id"])
    assert len(plan.scheduled) > 2 * PER_PAGE
    path = f"/ui/plans/{job['plan_id']}"
    seen: list[str] = []
    pages = -(-len(plan.scheduled) // PER_PAGE)
    for n in range(1, pages + 1):
        text = planner.get(f"{path}?page={n}").text
        bars = re.findall(r'class="bar-link" data-id="([^"]+)"', text)
        assert len(bars) == min(PER_PAGE, len(plan.scheduled) - (n - 1) * PER_PAGE)
        seen += bars
    assert sorted(seen) == sorted(s.id for s in plan.scheduled)  # every initiative once, on some page
    invisible = planner.get(f"{path}?show=invisible").text
    assert set(re.findall(r'data-id="([^"]+)"', invisible)) <= {s.id for s in plan.scheduled if s.invisible}
    one = plan.scheduled[7]
    found = planner.get(f"{path}?q={one.id}").text
    assert one.id in re.findall(r'data-id="([^"]+)"', found)
    themes = re.findall(r'<text class="group[^"]*"[^>]*>([^<]+)</text>', planner.get(f"{path}?group=theme").text)
    assert {t.split(" · ")[-1] for t in themes} <= {s.theme or "(no theme)" for s in plan.scheduled}


def test_every_bundled_scenario_solves_and_each_of_its_plan_pages_shows_the_plan(api: Api) -> None:
    from api.service.serve import load_files
    from tests.factories import REPO

    config = api.app.extensions["planner"].config
    stored = load_files(config, sorted((REPO / "scenarios").glob("*.yaml")), workspace="bundled")
    assert len(stored) == len(list((REPO / "scenarios").glob("*.yaml")))
    browser = signed_in(api, "planner", "bundled")
    listed = browser.get("/ui/").text
    for path, scenario_id, _ in stored:
        assert f"/ui/scenarios/{scenario_id}" in listed, path.name
        job = api.solve(scenario_id, workspace="bundled", time_limit=5)
        assert job["status"] == "succeeded", (path.name, job["error"])
        plan = api.plan(job["plan_id"], workspace="bundled")
        page = browser.get(f"/ui/plans/{job['plan_id']}")
        assert page.status_code == 200, path.name
        assert sorted(re.findall(r'class="bar-link" data-id="([^"]+)"', page.text)) == sorted(s.id for s in plan.scheduled), path.name
        for tab in ("executive", "engineering", "public"):
            assert browser.get(f"/ui/plans/{job['plan_id']}?tab={tab}").status_code == 200, (path.name, tab)
        assert browser.get(f"/ui/scenarios/{scenario_id}").status_code == 200, path.name


def test_a_plan_with_no_solution_shows_its_diagnosis_instead_of_a_roadmap(api: Api, planner: FlaskClient) -> None:
    data = yaml.safe_load(REFERENCE.read_text())
    data["name"] = "acme-starved"
    for team in data["teams"]:
        team["capacity"] = 1
    scenario_id = api.create(yaml.safe_dump(data))["id"]
    job = api.solve(scenario_id)
    plan = api.plan(job["plan_id"])
    assert not plan.status.found
    page = words(planner.get(f"/ui/plans/{job['plan_id']}"))
    assert f"No plan: {plan.status.value}" in page
    assert "Left out" not in page and 'class="timeline"' not in page
    diagnosis = re.findall(r'<ul class="diagnosis">(.*?)</ul>', page, re.S)
    assert diagnosis and "capacity" in diagnosis[0]


def test_an_initiatives_what_ifs_run_as_a_job_whose_page_shows_each_re_solved_answer(api: Api, planner: FlaskClient, solved: dict[str, Any]) -> None:
    out = solved["verified"].not_scheduled[0].id
    answer = planner.post(f"/ui/plans/{solved['plan']}/whatifs", data={"initiative": out, "ask": "explain", "csrf": csrf(planner)})
    assert answer.status_code == 303
    job_id = answer.headers["Location"].rsplit("/", 1)[1]
    job = api.finished(api.get(f"/jobs/{job_id}").get_json())
    assert job["status"] == "succeeded", job["error"]
    page = words(planner.get(f"/ui/jobs/{job_id}"))
    lines = [html.unescape(re.sub(r"<[^>]+>", "", li)) for li in re.findall(r"<li>(.*?)</li>", page.split("What-ifs, each from a re-solve")[1], re.S)]
    assert lines[0].startswith(f"{out}: not scheduled")
    assert any(line.startswith("capacity to fit") for line in lines)
    assert any(line.startswith("force in") for line in lines)


def test_a_plan_is_simulated_from_its_page_and_the_job_page_draws_the_outlook(api: Api, planner: FlaskClient) -> None:
    scenario_id = api.create((REFERENCE.parent / "ai-platform-2027.yaml").read_bytes())["id"]
    job = api.solve(scenario_id, reasons=False, confidence=0.9)
    assert job["status"] == "succeeded", job["error"]
    plan_page = words(planner.get(f"/ui/plans/{job['plan_id']}"))
    assert "Made for 90% confidence:" in plan_page and "in an independent simulation of 2000 samples" in plan_page
    answer = planner.post(f"/ui/plans/{job['plan_id']}/simulations", data={"samples": "500", "seed": "3", "csrf": csrf(planner)})
    assert answer.status_code == 303
    job_id = answer.headers["Location"].rsplit("/", 1)[1]
    assert api.finished(api.get(f"/jobs/{job_id}").get_json())["status"] == "succeeded"
    page = planner.get(f"/ui/jobs/{job_id}").text
    assert 'id="value-histogram"' in page and page.count('class="bin"') == 20
    grid = page.split('id="finish-grid"')[1].split("</table>")[0]
    assert "<code><bdi>eu-ai-act-conformity</bdi></code> *" in grid and "⚑" in grid and 'planned"' in grid
    assert "ai-platform-2027: 500 samples, seed 3" in words(planner.get(f"/ui/jobs/{job_id}"))
    bad = planner.post(f"/ui/plans/{job['plan_id']}/simulations", data={"samples": "5", "csrf": csrf(planner)})
    assert bad.status_code == 422 and "samples" in words(bad)
