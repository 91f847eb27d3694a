"""The service through the Flask test client: every endpoint, role and error class, on a real database and job runner."""

from __future__ import annotations

import os
import select
import signal
import stat
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.service.db import JobRecord
from api.service.jobs import Doorbell
from planner.loader import load
from tests.factories import REFERENCE
from tests.service import FAST, Api, close, make_api

OVERLAY = "name: acme-more-ml\nextends: {base}\nteams:\n  - id: ml\n    capacity: {{2027-Q1: 40, 2027-Q2: 40, 2027-Q3: 40, 2027-Q4: 40}}\n"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The service on each database it supports: SQLite (the default) and a real PostgreSQL."""
    url = request.getfixturevalue("postgres").database("api") if request.param == "postgresql" else None
    service = make_api(tmp_path_factory.mktemp("service"), database_url=url)
    yield service
    close(service)


@pytest.fixture(scope="module")
def solved(api: Api) -> dict[str, Any]:
    """The reference scenario, stored and solved once for the tests that read a plan."""
    scenario_id = api.reference()
    job = api.solve(scenario_id, policy_costs=True)
    assert job["status"] == "succeeded", job["error"]
    return {"scenario": scenario_id, "job": job, "plan": job["plan_id"]}


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


# --- scenarios -------------------------------------------------------------------------------------------


def test_a_yaml_scenario_is_stored_as_version_one_and_read_back_as_sent(api: Api) -> None:
    text = REFERENCE.read_text()
    created = api.create(text)
    assert created["version"]["version"] == 1 and created["latest_version"] == 1
    assert created["name"] == "acme-2027" and created["version"]["initiatives"] == 15
    response = api.get(f"/scenarios/{created['id']}")
    assert response.status_code == 200 and response.headers["ETag"] == '"1"'
    body = response.get_json()
    assert body["source"] == text and body["format"] == "yaml"
    assert body["scenario"] == load(REFERENCE).scenario.model_dump(mode="json")


def test_a_json_scenario_is_stored_too(api: Api) -> None:
    data = yaml.safe_load(REFERENCE.read_text())
    data["name"] = "acme-json"
    created = api.create(__import__("json").dumps(data), content_type="application/json")
    assert created["format"] == "json" and created["name"] == "acme-json"


def test_an_invalid_scenario_gets_422_with_the_errors_planner_check_reports(api: Api, tmp_path: Path) -> None:
    text = REFERENCE.read_text().replace("depends_on: [returns-labelling]", "depends_on: [returns-labeling]", 1)
    assert text != REFERENCE.read_text()
    response = api.post("/scenarios", data=text, headers={"Content-Type": "application/yaml"})
    body = problem(response, 422)
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(Exception) as expected:
        load(tmp_path / "bad.yaml")
    wanted = [(p.message, p.location.line, p.location.column, p.location.path) for p in expected.value.problems]  # type: ignore[attr-defined]
    got = [(e["message"], e["location"]["line"], e["location"]["column"], e["location"]["path"]) for e in body["errors"]]
    assert got == wanted and "returns-labelling" in got[0][0]
    assert api.get("/scenarios?name=acme-2027").get_json()["total"] >= 0  # nothing was stored for it:
    assert all(s["name"] != "bad" for s in api.get("/scenarios?limit=200").get_json()["items"])


def test_a_yaml_syntax_error_is_located_at_its_line(api: Api) -> None:
    body = problem(api.post("/scenarios", data="name: x\nteams: [\n", headers={"Content-Type": "application/yaml"}), 422)
    assert body["errors"][0]["location"]["line"] is not None and "YAML" in body["errors"][0]["message"]


def test_an_empty_body_a_foreign_content_type_and_an_oversized_body_are_refused(api: Api) -> None:
    assert "send the scenario" in problem(api.post("/scenarios", data=b"", headers={"Content-Type": "application/yaml"}), 400)["detail"]
    assert "application/yaml" in problem(api.post("/scenarios", data=b"<x/>", headers={"Content-Type": "application/xml"}), 415)["detail"]
    assert "limit" in problem(api.post("/scenarios", data=b"#" * 500_000, headers={"Content-Type": "application/yaml"}), 413)["detail"]


def test_a_scenario_with_more_initiatives_than_the_limit_gets_413(api: Api) -> None:
    data = yaml.safe_load(REFERENCE.read_text())
    template = data["initiatives"][0]
    data["initiatives"] += [{**template, "id": f"extra-{n}", "title": f"Extra {n}"} for n in range(200)]
    for initiative in data["initiatives"]:
        initiative.pop("depends_on", None)
    body = problem(api.post("/scenarios", data=yaml.safe_dump(data), headers={"Content-Type": "application/yaml"}), 413)
    assert "215 initiatives" in body["detail"] and "at most 200" in body["detail"]


def test_validate_reports_without_storing(api: Api) -> None:
    before = api.get("/scenarios?limit=1").get_json()["total"]
    good = api.post("/scenarios/validate", role="viewer", data=REFERENCE.read_bytes(), headers={"Content-Type": "application/yaml"}).get_json()
    assert good["valid"] is True and good["errors"] == [] and good["scenario"]["name"] == "acme-2027"
    bad = api.post("/scenarios/validate", role="viewer", data=b"name: x\nperiods: []\n", headers={"Content-Type": "application/yaml"}).get_json()
    assert bad["valid"] is False and bad["errors"] and bad["errors"][0]["location"]["path"]
    assert api.get("/scenarios?limit=1").get_json()["total"] == before


def test_lists_are_paginated_and_filtered_by_name(api: Api) -> None:
    for n in range(3):
        api.create(REFERENCE.read_text().replace("name: acme-2027", f"name: paged-{n}", 1))
    first = api.get("/scenarios?name=PAGED&limit=2").get_json()
    assert first["total"] == 3 and [s["name"] for s in first["items"]] == ["paged-0", "paged-1"]
    second = api.get(first["next"]).get_json()
    assert [s["name"] for s in second["items"]] == ["paged-2"] and second["next"] is None
    assert problem(api.get("/scenarios?limit=0"), 422)["errors"][0]["location"]["path"] == "limit"


def test_an_edit_is_a_new_version_and_a_stale_edit_is_a_409_that_stores_nothing(api: Api) -> None:
    created = api.create(REFERENCE.read_text().replace("name: acme-2027", "name: versioned", 1))
    path = f"/scenarios/{created['id']}"
    edited = REFERENCE.read_text().replace("name: acme-2027", "name: versioned-2", 1)
    second = api.post(f"{path}/versions", data=edited, headers={"Content-Type": "application/yaml", "If-Match": '"1"'})
    assert second.status_code == 201 and second.headers["ETag"] == '"2"'
    assert second.get_json()["latest_version"] == 2 and second.get_json()["name"] == "versioned-2"
    stale = api.post(f"{path}/versions", data=edited, headers={"Content-Type": "application/yaml", "If-Match": '"1"'})
    assert "version 2 is the newest" in problem(stale, 409)["detail"]
    assert api.get(path).get_json()["latest_version"] == 2
    assert "name: versioned\n" in api.get(f"{path}?version=1").get_json()["source"]
    assert [v["version"] for v in api.get(f"{path}/versions").get_json()["items"]] == [1, 2]
    assert "no version 7" in problem(api.get(f"{path}?version=7"), 404)["detail"]


def test_an_overlay_names_its_base_by_id_and_keeps_the_base_version_it_was_written_against(api: Api) -> None:
    base = api.reference()
    overlay = api.create(OVERLAY.format(base=base))
    assert overlay["version"]["extends"] == f"{base}@1"
    capacity = {t["id"]: t["capacity"] for t in overlay["scenario"]["teams"]}
    assert capacity["ml"]["2027-Q1"] == 40 and overlay["scenario"]["initiatives"] == load(REFERENCE).scenario.model_dump(mode="json")["initiatives"]
    changed = REFERENCE.read_text().replace("name: acme-2027", "name: acme-2027-v2", 1)
    api.post(f"/scenarios/{base}/versions", data=changed, headers={"Content-Type": "application/yaml"})
    again = api.get(f"/scenarios/{overlay['id']}").get_json()
    assert again["scenario"] == overlay["scenario"]  # still resolved against base version 1


def test_an_overlay_of_an_unknown_base_is_located_at_extends(api: Api) -> None:
    body = problem(api.post("/scenarios", data=OVERLAY.format(base="sc_nothere"), headers={"Content-Type": "application/yaml"}), 422)
    assert body["errors"][0]["location"]["path"] == "extends" and body["errors"][0]["location"]["line"] == 2
    assert "sc_nothere" in body["errors"][0]["message"]


def test_a_deleted_scenario_is_gone_from_reads_and_lists_but_its_plans_stay(api: Api) -> None:
    created = api.create(REFERENCE.read_text().replace("name: acme-2027", "name: doomed", 1))
    scenario_id = created["id"]
    job = api.solve(scenario_id, reasons=False)
    assert api.client.delete(f"/scenarios/{scenario_id}", headers=api.headers("planner")).status_code == 204
    problem(api.get(f"/scenarios/{scenario_id}"), 404)
    assert all(s["id"] != scenario_id for s in api.get("/scenarios?name=doomed").get_json()["items"])
    problem(api.client.delete(f"/scenarios/{scenario_id}", headers=api.headers("planner")), 404)
    api.plan(job["plan_id"], scenario=created["scenario"])  # still readable, and verified against what was solved


def test_deleting_a_base_keeps_its_overlays_and_their_plans_working(api: Api) -> None:
    base = api.create(REFERENCE.read_text().replace("name: acme-2027", "name: doomed-base", 1))["id"]
    overlay = api.create(OVERLAY.format(base=base))
    job = api.solve(overlay["id"], reasons=False)
    assert api.client.delete(f"/scenarios/{base}", headers=api.headers("planner")).status_code == 204
    # The overlay stays resolved against the base version it was written on; its plans read, render and re-solve.
    assert api.get(f"/scenarios/{overlay['id']}").get_json()["scenario"] == overlay["scenario"]
    plan_id = job["plan_id"]
    assert api.plan(plan_id).status.value == "optimal"
    assert "support-chatbot" in api.get(f"/plans/{plan_id}?format=csv").get_data(as_text=True)
    assert api.get(f"/plans/{plan_id}?format=md").status_code == 200
    assert api.get(f"/plans/{plan_id}/views/executive").get_json()["scenario"] == "acme-more-ml"
    again = api.solve(overlay["id"], reasons=False)
    assert again["status"] == "succeeded" and api.plan(again["plan_id"]).objective == api.plan(plan_id).objective
    asked = api.finished(api.post(f"/plans/{plan_id}/counterfactuals?wait=60", json={"time_limit": 10, "force_out": ["support-chatbot"]}).get_json())
    assert asked["status"] == "succeeded", asked
    assert "support-chatbot" not in {s.id for s in api.plan(asked["plan_id"]).scheduled}
    assert api.post("/comparisons", json={"plans": [plan_id, again["plan_id"]]}).status_code == 201
    # Nothing new can be written on the deleted base.
    body = problem(api.post("/scenarios", data=OVERLAY.format(base=base), headers={"Content-Type": "application/yaml"}), 422)
    assert body["errors"][0]["location"]["path"] == "extends" and base in body["errors"][0]["message"]


# --- solves and jobs -------------------------------------------------------------------------------------


def test_a_solve_job_reports_progress_and_links_its_verified_plan(api: Api, solved: dict[str, Any]) -> None:
    job = solved["job"]
    assert job["kind"] == "solve" and job["scenario_version"] == 1 and job["links"]["plan"] == f"/plans/{job['plan_id']}"
    assert job["progress"]["stage"] == "done" and job["progress"]["objective"] is not None and job["progress"]["bound"] is not None
    assert job["started_at"] and job["finished_at"] and "cancel" not in job["links"]
    plan = api.plan(solved["plan"])
    assert plan.status.value == "optimal" and plan.objective == job["progress"]["objective"]


def test_a_solve_without_wait_is_202_with_a_job_url(api: Api, solved: dict[str, Any]) -> None:
    response = api.post(f"/scenarios/{solved['scenario']}/solves", json={**FAST, "reasons": False})
    assert response.status_code == 202 and response.headers["Location"] == f"/jobs/{response.get_json()['id']}"
    assert api.finished(response.get_json())["status"] == "succeeded"
    assert any(j["id"] == response.get_json()["id"] for j in api.get(f"/jobs?scenario={solved['scenario']}").get_json()["items"])


def test_one_job_cannot_ask_for_hours_of_solver_time(api: Api, solved: dict[str, Any]) -> None:
    # Each time_limit was within the 600 s ceiling, so a 50-step sweep held a solver process for 8.3 hours.
    before = api.get("/jobs").get_json()["total"]
    sweep = {"knob": "capacity", "team": "ml", "low": -0.5, "high": 1, "steps": 50, "settings": {"time_limit": 600}}
    body = problem(api.post(f"/scenarios/{solved['scenario']}/sweeps", json=sweep), 422)
    assert body["errors"][0]["location"]["path"] == "steps"
    assert body["detail"] == "this sweep may take up to 30,000 s of solver time (50 steps x 600 s); this service runs a job for at most 1,800 s"
    comparison = {"scenarios": [{"id": solved["scenario"]}] * 4, "settings": {"time_limit": 600}}
    compared = problem(api.post("/comparisons", json=comparison), 422)
    assert compared["errors"][0]["location"]["path"] == "scenarios" and "4 scenarios, each solved and explained in 600 s" in compared["detail"]
    assert api.get("/jobs").get_json()["total"] == before  # nothing was queued
    small = {**sweep, "steps": 3, "settings": {"time_limit": 5, "workers": 1}}
    within = api.post(f"/scenarios/{solved['scenario']}/sweeps", json=small)
    assert within.status_code == 202 and api.finished(within.get_json())["status"] == "succeeded"


def test_solve_settings_are_checked_before_a_job_is_queued(api: Api, solved: dict[str, Any]) -> None:
    path = f"/scenarios/{solved['scenario']}/solves"
    body = problem(api.post(path, json={"time_limit": 5000}), 422)
    assert body["errors"][0]["location"]["path"] == "time_limit" and "600" in body["detail"]
    body = problem(api.post(path, json={"force_in": ["support-chatbt"]}), 422)
    assert body["errors"][0]["location"]["path"] == "force_in[0]" and "did you mean 'support-chatbot'" in body["errors"][0]["message"]
    body = problem(api.post(path, json={"backend": "magic", "colour": 1}), 422)
    assert {e["location"]["path"] for e in body["errors"]} == {"backend", "colour"}
    assert "not valid JSON" in problem(api.post(path, data="{", headers={"Content-Type": "application/json"}), 400)["detail"]
    problem(api.post("/scenarios/sc_missing/solves", json={}), 404)
    # The time limit bounds the search and the reasons together: the reasons cannot keep all of it.
    body = problem(api.post(path, json={"time_limit": 5, "reasons_time": 5}), 422)
    assert body["errors"][0]["location"]["path"] == "reasons_time" and "less than the time limit (5 s)" in body["detail"]
    body = problem(api.post(path, json={"time_limit": 5, "reasons_time": 1, "reasons": False}), 422)
    assert body["errors"][0]["location"]["path"] == "reasons_time" and "no reasons to time" in body["detail"]


def test_a_killed_solver_process_fails_its_job_only_and_the_next_job_succeeds(api: Api, solved: dict[str, Any], slow_scenario: str) -> None:
    response = api.post(f"/scenarios/{slow_scenario}/solves", json={"time_limit": 60, "workers": 1, "reasons": False})
    job = _running(api, response.get_json()["id"])
    with api.app.extensions["planner"].sessions() as session:
        pid = session.get(JobRecord, job["id"]).worker_pid
    os.kill(pid, signal.SIGKILL)
    failed = api.finished(job)
    assert failed["status"] == "failed" and "killed by signal 9" in failed["error"]
    assert api.solve(solved["scenario"], reasons=False)["status"] == "succeeded"


def test_a_running_job_can_be_cancelled(api: Api, slow_scenario: str) -> None:
    response = api.post(f"/scenarios/{slow_scenario}/solves", json={"time_limit": 60, "workers": 1, "reasons": False})
    job = _running(api, response.get_json()["id"])
    cancelled = api.post(f"/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200
    done = api.finished(cancelled.get_json())
    assert done["status"] == "cancelled" and done["error"] == "cancelled on request" and done["plan_id"] is None
    assert "already cancelled" in problem(api.post(f"/jobs/{job['id']}/cancel"), 409)["detail"]


@pytest.fixture(scope="module")
def slow_scenario(api: Api) -> str:
    """A generated portfolio CP-SAT cannot prove optimal within a minute on one worker."""
    from bench.generate import portfolio

    return api.create(yaml.safe_dump(portfolio(120, 8, 8, seed=3), sort_keys=False))["id"]


def _running(api: Api, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        job = api.get(f"/jobs/{job_id}").get_json()
        if job["status"] == "running" and job["progress"]["stage"] == "solving":
            return job
        assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
        time.sleep(0.2)


# --- plans -----------------------------------------------------------------------------------------------


def test_a_plan_records_what_reproduces_it(api: Api, solved: dict[str, Any]) -> None:
    body = api.get(f"/plans/{solved['plan']}").get_json()
    assert body["scenario_id"] == solved["scenario"] and body["scenario_version"] == 1
    assert body["settings"]["time_limit"] == 10 and body["settings"]["workers"] == 1
    assert body["planner_version"] and body["backend"] == "cpsat" and body["job_id"] == solved["job"]["id"]


def test_a_plan_comes_as_csv_and_markdown(api: Api, solved: dict[str, Any]) -> None:
    plan = api.plan(solved["plan"])
    csv = api.get(f"/plans/{solved['plan']}?format=csv")
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).splitlines()
    assert lines[0].startswith("id,") and len(lines) == 1 + len(plan.scheduled) + len(plan.not_scheduled)
    md = api.get(f"/plans/{solved['plan']}?format=md")
    assert md.mimetype == "text/markdown" and md.get_data(as_text=True).startswith("# Plan for acme-2027")


def test_the_three_audience_views(api: Api, solved: dict[str, Any]) -> None:
    plan = api.plan(solved["plan"])
    executive = api.get(f"/plans/{solved['plan']}/views/executive").get_json()
    assert executive["objective"] == plan.objective and executive["guardrails"]  # priced: the solve asked for policy costs
    assert {left["id"] for left in executive["left_out"]} == {u.id for u in plan.not_scheduled}
    engineering = api.get(f"/plans/{solved['plan']}?view=engineering").get_json()
    assert engineering["cells"]
    public = api.get(f"/plans/{solved['plan']}/views/public?format=md")
    assert public.mimetype == "text/markdown" and "value" not in public.get_data(as_text=True).lower().split("roadmap", 1)[0]
    assert "did you mean 'public'" in problem(api.get(f"/plans/{solved['plan']}/views/pubic"), 404)["detail"]
    problem(api.get(f"/plans/{solved['plan']}/views/public?format=csv"), 406)


def test_explanations_of_the_plan_and_of_one_initiative(api: Api, solved: dict[str, Any]) -> None:
    plan = api.plan(solved["plan"])
    explained = api.get(f"/plans/{solved['plan']}/explanations").get_json()
    assert {i["id"] for i in explained["initiatives"]} == {s.id for s in plan.scheduled} | {u.id for u in plan.not_scheduled}
    left_out = plan.not_scheduled[0].id
    one = api.get(f"/plans/{solved['plan']}/explanations/{left_out}").get_json()
    assert one["id"] == left_out and one["scheduled"] is False and one["reason"]
    problem(api.get(f"/plans/{solved['plan']}/explanations/nothing-here"), 404)


def test_an_initiatives_what_ifs_run_as_a_job(api: Api, solved: dict[str, Any]) -> None:
    plan = api.plan(solved["plan"])
    left_out = plan.not_scheduled[0].id
    response = api.post(f"/plans/{solved['plan']}/counterfactuals?wait=60", json={"initiative": left_out, "time_limit": 5})
    job = api.finished(response.get_json())
    assert job["kind"] == "counterfactual" and job["status"] == "succeeded", job["error"]
    kinds = {c["kind"] for i in job["result"]["explanation"]["initiatives"] for c in i["counterfactuals"]}
    assert "force_in" in kinds and "capacity_to_fit" in kinds


def test_forcing_an_initiative_out_makes_a_new_verified_plan_and_lists_the_change(api: Api, solved: dict[str, Any]) -> None:
    plan = api.plan(solved["plan"])
    dropped = plan.scheduled[0].id
    response = api.post(f"/plans/{solved['plan']}/counterfactuals?wait=60", json={"force_out": [dropped], "time_limit": 5})
    job = api.finished(response.get_json())
    assert job["status"] == "succeeded", job["error"]
    new = api.plan(job["plan_id"])
    assert dropped not in {s.id for s in new.scheduled} and new.settings.force_out == [dropped]
    assert any(c["id"] == dropped and c["change"] == "dropped" for c in job["result"]["changes"])


def test_a_counterfactual_asks_one_question(api: Api, solved: dict[str, Any]) -> None:
    problem(api.post(f"/plans/{solved['plan']}/counterfactuals", json={}), 422)
    problem(api.post(f"/plans/{solved['plan']}/counterfactuals", json={"initiative": "support-chatbot", "force_in": ["support-chatbot"]}), 422)
    assert "did you mean" in problem(api.post(f"/plans/{solved['plan']}/counterfactuals", json={"initiative": "support-chatbt"}), 422)["errors"][0]["message"]


# --- comparisons and sweeps ------------------------------------------------------------------------------


def test_plans_are_compared_at_once(api: Api, solved: dict[str, Any]) -> None:
    overlay = api.create(OVERLAY.format(base=solved["scenario"]))
    job = api.solve(overlay["id"], reasons=False)
    response = api.post("/comparisons", json={"plans": [solved["plan"], job["plan_id"]]})
    assert response.status_code == 201
    body = response.get_json()
    assert body["comparison"]["base"]["objective"] == api.plan(solved["plan"]).objective
    assert body["comparison"]["variants"][0]["outcome"]["objective"] == api.plan(job["plan_id"]).objective
    md = api.get(f"{response.headers['Location']}?format=md")
    assert md.mimetype == "text/markdown" and "acme-more-ml" in md.get_data(as_text=True)


def test_scenario_versions_are_compared_by_a_job(api: Api, solved: dict[str, Any]) -> None:
    overlay = api.create(OVERLAY.format(base=solved["scenario"]))
    request = {"scenarios": [{"id": solved["scenario"]}, {"id": overlay["id"], "version": 1}], "settings": FAST}
    job = api.finished(api.post("/comparisons?wait=60", json=request).get_json())
    assert job["status"] == "succeeded", job["error"]
    comparison = api.get(job["links"]["comparison"]).get_json()
    assert comparison["plans"] == job["result"]["plans"] and len(comparison["plans"]) == 2
    for plan_id in comparison["plans"]:
        api.plan(plan_id)


def test_a_comparison_needs_two_of_one_kind(api: Api, solved: dict[str, Any]) -> None:
    problem(api.post("/comparisons", json={"plans": [solved["plan"]]}), 422)
    problem(api.post("/comparisons", json={"plans": [solved["plan"]], "scenarios": [{"id": solved["scenario"]}]}), 422)
    problem(api.post("/comparisons", json={"plans": [solved["plan"], "plan_missing"]}), 404)


def test_a_capacity_sweep_runs_as_a_job(api: Api, solved: dict[str, Any]) -> None:
    request = {"knob": "capacity", "team": "ml", "low": -0.2, "high": 0.2, "steps": 3, "settings": FAST}
    job = api.finished(api.post(f"/scenarios/{solved['scenario']}/sweeps?wait=60", json=request).get_json())
    assert job["status"] == "succeeded", job["error"]
    curve = job["result"]["curve"]
    assert [p["setting"] for p in curve["points"]] == [-0.2, 0.0, 0.2]
    assert curve["points"][1]["objective"] == api.plan(solved["plan"]).objective
    body = problem(api.post(f"/scenarios/{solved['scenario']}/sweeps", json={**request, "team": "mll"}), 422)
    assert "did you mean 'ml'" in body["errors"][0]["message"]


def test_a_simulation_runs_as_a_job_of_a_stored_plan_or_of_a_robust_solve(api: Api, solved: dict[str, Any]) -> None:
    scenario = solved["scenario"]
    request = {"plan": solved["plan"], "samples": 200, "seed": 4}
    job = api.finished(api.post(f"/scenarios/{scenario}/simulations?wait=60", json=request).get_json())
    assert job["status"] == "succeeded", job["error"]
    outlook = job["result"]["simulation"]
    plan = api.plan(solved["plan"])  # the reference scenario has point estimates only: every sample is the plan
    assert outlook["samples"] == 200 and outlook["value"]["p10"] == outlook["value"]["p90"] == plan.objective
    assert [o["id"] for o in outlook["initiatives"]] == [s.id for s in plan.scheduled]
    assert job["result"]["plan"] == solved["plan"]
    ai = api.create((REFERENCE.parent / "ai-platform-2027.yaml").read_bytes())["id"]
    robust = {"samples": 300, "seed": 1, "settings": {**FAST, "confidence": 0.9}}
    job = api.finished(api.post(f"/scenarios/{ai}/simulations?wait=60", json=robust).get_json())
    assert job["status"] == "succeeded", job["error"]
    made = api.plan(job["plan_id"])  # the robust plan is stored, checked, with the confidence it achieved
    assert made.confidence is not None and made.confidence.asked == 0.9
    assert job["result"]["simulation"]["seed"] == 1
    body = problem(api.post(f"/scenarios/{ai}/simulations", json={"plan": solved["plan"]}), 422)
    assert "is a plan of scenario" in body["errors"][0]["message"]
    problem(api.post(f"/scenarios/{scenario}/simulations", json={"samples": 5}), 422)


# --- security --------------------------------------------------------------------------------------------


def test_requests_without_a_valid_token_get_401(api: Api) -> None:
    body = problem(api.client.get("/scenarios"), 401)
    assert "Bearer" in body["detail"]
    assert api.client.get("/scenarios").headers["WWW-Authenticate"].startswith("Bearer")
    problem(api.client.get("/scenarios", headers={"Authorization": "Bearer pp_tok_0000_nope"}), 401)
    problem(api.client.get("/scenarios", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401)
    real = api.token("viewer")
    problem(api.client.get("/scenarios", headers={"Authorization": f"Bearer {real[:-2]}xx"}), 401)


def test_each_role_does_what_it_may_and_no_more(api: Api, solved: dict[str, Any]) -> None:
    assert api.get("/scenarios", role="viewer").status_code == 200
    problem(api.post("/scenarios", role="viewer", data=REFERENCE.read_bytes(), headers={"Content-Type": "application/yaml"}), 403)
    problem(api.post(f"/scenarios/{solved['scenario']}/solves", role="viewer", json=FAST), 403)
    problem(api.post(f"/jobs/{solved['job']['id']}/cancel", role="viewer"), 403)
    problem(api.get("/tokens", role="planner"), 403)
    assert api.get("/tokens", role="admin").status_code == 200


def test_an_admin_creates_lists_and_revokes_tokens_and_the_secret_is_shown_once(api: Api) -> None:
    created = api.post("/tokens", role="admin", json={"name": "ci", "role": "viewer"})
    assert created.status_code == 201
    token = created.get_json()
    assert token["token"].startswith("pp_tok_") and token["workspace"] == "alpha"
    assert api.client.get("/scenarios", headers={"Authorization": f"Bearer {token['token']}"}).status_code == 200
    listed = api.get("/tokens", role="admin").get_data(as_text=True)
    assert token["id"] in listed and token["token"] not in listed and token["token"].split("_")[-1] not in listed
    assert api.client.delete(f"/tokens/{token['id']}", headers=api.headers("admin")).status_code == 204
    assert "revoked" in problem(api.client.get("/scenarios", headers={"Authorization": f"Bearer {token['token']}"}), 401)["detail"]
    problem(api.post("/tokens", role="admin", json={"name": "x", "role": "root"}), 422)


def test_a_token_sees_only_its_workspace(api: Api, solved: dict[str, Any]) -> None:
    other = {"workspace": "beta"}
    assert api.get("/scenarios", **other).get_json()["total"] == 0
    problem(api.get(f"/scenarios/{solved['scenario']}", **other), 404)
    problem(api.get(f"/plans/{solved['plan']}", **other), 404)
    problem(api.get(f"/plans/{solved['plan']}/explanations", **other), 404)
    problem(api.get(f"/jobs/{solved['job']['id']}", **other), 404)
    problem(api.post(f"/jobs/{solved['job']['id']}/cancel", **other), 404)
    problem(api.post(f"/scenarios/{solved['scenario']}/solves", json=FAST, **other), 404)
    problem(api.post(f"/scenarios/{solved['scenario']}/versions", data=REFERENCE.read_bytes(), headers={"Content-Type": "application/yaml"}, **other), 404)
    problem(api.client.delete(f"/scenarios/{solved['scenario']}", headers=api.headers("planner", "beta")), 404)
    problem(api.post("/comparisons", json={"plans": [solved["plan"], solved["plan"]]}, **other), 404)
    problem(api.post(f"/plans/{solved['plan']}/counterfactuals", json={"initiative": "support-chatbot"}, **other), 404)
    assert api.get("/jobs", **other).get_json()["total"] == 0 and api.get("/plans", **other).get_json()["total"] == 0
    overlay = problem(api.post("/scenarios", data=OVERLAY.format(base=solved["scenario"]), headers={"Content-Type": "application/yaml"}, **other), 422)
    assert overlay["errors"][0]["location"]["path"] == "extends"
    problem(
        api.client.delete(
            f"/tokens/{api.tokens['alpha:viewer'].split('_')[1]}_{api.tokens['alpha:viewer'].split('_')[2]}", headers=api.headers("admin", "beta")
        ),
        404,
    )


# --- the rest --------------------------------------------------------------------------------------------


def test_health_readiness_and_the_v1_alias(api: Api) -> None:
    assert api.client.get("/healthz").get_json()["status"] == "ok"
    ready = api.client.get("/readyz").get_json()
    assert ready == {"status": "ready", "database": "ok", "workers": 1}
    assert api.get("/v1/scenarios").get_json() == api.get("/scenarios").get_json()


def test_unknown_paths_and_methods_are_problems_too(api: Api) -> None:
    problem(api.client.get("/nowhere"), 404)
    assert problem(api.client.put("/scenarios", headers=api.headers()), 405)
    assert "GET" in api.client.put("/scenarios").headers["Allow"]


def test_the_openapi_document_covers_every_route(api: Api) -> None:
    spec = api.client.get("/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    routes = {
        (rule.rule.replace("<", "{").replace(">", "}"), method.lower())
        for rule in api.app.url_map.iter_rules()
        # The web page (/ui, and / sending a browser there) is pages, not API: docs/web.md describes it.
        if not rule.rule.startswith(("/v1/", "/static", "/openapi", "/docs", "/ui")) and rule.rule != "/"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, operations in spec["paths"].items() for method in operations}
    assert routes == documented
    solve = spec["paths"]["/scenarios/{scenario_id}/solves"]["post"]
    assert solve["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/SolveRequest"}
    assert {"200", "202", "401", "403", "404", "422", "429"} <= set(solve["responses"])
    assert "Plan" in spec["components"]["schemas"] and "Scenario" in spec["components"]["schemas"]
    page = api.client.get("/docs")
    assert page.status_code == 200 and b"/openapi.json" in page.data


def test_a_token_with_too_many_jobs_gets_429_and_queued_jobs_cancel_at_once(tmp_path: Path) -> None:
    idle = make_api(tmp_path, start_runner=False)  # no runner: jobs stay queued
    try:
        scenario_id = idle.reference()
        jobs = [idle.post(f"/scenarios/{scenario_id}/solves", json=FAST).get_json() for _ in range(3)]
        assert all(j["status"] == "queued" for j in jobs)
        body = problem(idle.post(f"/scenarios/{scenario_id}/solves", json=FAST), 429)
        assert "3 jobs queued or running" in body["detail"]
        assert problem(idle.client.get("/readyz"), 503)
        cancelled = idle.post(f"/jobs/{jobs[0]['id']}/cancel").get_json()
        assert cancelled["status"] == "cancelled"
        assert idle.post(f"/scenarios/{scenario_id}/solves", json=FAST).status_code == 202
    finally:
        close(idle)


def test_the_runner_doorbell_wakes_its_listener_and_ringing_without_one_is_harmless(tmp_path: Path) -> None:
    path = tmp_path / "runner.wake"
    Doorbell(path).ring()  # no pipe yet: nothing to wake, nothing raised
    path.write_text("a file that took the name")
    bell = Doorbell(path)
    bell.listen()
    try:
        assert stat.S_ISFIFO(path.lstat().st_mode)
        assert select.select([bell.fileno()], [], [], 0)[0] == []
        Doorbell(path).ring()  # as a gunicorn worker without the runner does, through the path
        Doorbell(path).ring()
        assert select.select([bell.fileno()], [], [], 5)[0] == [bell.fileno()]
        bell.silence()
        assert select.select([bell.fileno()], [], [], 0)[0] == []  # both rings read: no busy loop after a wake
    finally:
        bell.close()
    Doorbell(path).ring()  # a pipe nobody listens on (the runner stopped): harmless


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_migrations_build_exactly_the_schema_the_code_uses(database: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.service import db

    url = request.getfixturevalue("postgres").database("migrations") if database == "postgresql" else f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), db.Base.metadata) == []
    engine.dispose()


def test_a_job_left_running_by_a_stopped_service_is_queued_again_and_then_runs(tmp_path: Path) -> None:
    first = make_api(tmp_path, start_runner=False)
    scenario_id = first.reference()
    job_id = first.post(f"/scenarios/{scenario_id}/solves", json={**FAST, "reasons": False}).get_json()["id"]
    interrupted = first.post(f"/scenarios/{scenario_id}/solves", json={**FAST, "reasons": False}).get_json()["id"]
    with first.app.extensions["planner"].sessions.begin() as session:
        # As a runner that was killed mid-job leaves them: running, owned by a process that no longer exists.
        for number, (jid, attempts) in enumerate(((job_id, 1), (interrupted, 2))):
            job = session.get(JobRecord, jid)
            job.status, job.runner, job.attempts = "running", f"{__import__('socket').gethostname()}:99999{number}:gone", attempts
    tokens = first.tokens
    close(first)
    second = make_api(tmp_path)
    second.tokens = tokens
    try:
        again = second.finished({"id": job_id, "status": "running"})
        assert again["status"] == "succeeded" and again["attempts"] == 2 and again["error"] is None
        second.plan(again["plan_id"])
        gave_up = second.finished({"id": interrupted, "status": "running"})
        assert gave_up["status"] == "failed" and "2 times" in gave_up["error"]
    finally:
        close(second)


def test_a_scenario_can_replan_against_a_stored_plan_by_id(api: Api, solved: dict[str, Any]) -> None:
    text = REFERENCE.read_text().replace("name: acme-2027", f"name: replanned\nprevious_plan: {solved['plan']}", 1)
    created = api.create(text)
    previous = api.plan(solved["plan"])
    assert created["scenario"]["previous_plan"] == {s.id: s.start for s in previous.scheduled}
    job = api.solve(created["id"], reasons=False)
    assert api.plan(job["plan_id"]).changes == []  # nothing changed, so nothing moved
    missing = problem(api.post("/scenarios", data=text.replace(solved["plan"], "plan_gone"), headers={"Content-Type": "application/yaml"}), 422)
    assert missing["errors"][0]["location"]["path"] == "previous_plan" and "plan_gone" in missing["errors"][0]["message"]
