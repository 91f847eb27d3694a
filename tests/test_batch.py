"""`planner batch` for CI: JUnit, reports, expectations, baseline regressions, and one crash failing alone."""

from __future__ import annotations

import io
import os
import shutil
import signal
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from api.cli import main
from api.cli.processes import Crashed, run_each
from planner import load_scenario
from planner.expectations import regressions, unmet
from planner.plan import Plan
from planner.scenario import Scenario
from planner.settings import PlanStatus
from tests.factories import BUNDLED, scenario_data, write_yaml
from tests.solving import solved, verified

FAST = ["--workers", "1", "--time-limit", "10"]


def batch(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["batch", *args, *FAST], out=out)
    return code, out.getvalue()


def read_plans(folder: Path) -> dict[str, Plan]:
    """Every JSON plan of a report folder, by report key (the callers verify each against its scenario)."""
    return {p.stem: Plan.model_validate_json(p.read_text()) for p in folder.glob("*.json")}


@pytest.fixture(scope="module")
def bundled_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    code, out = batch(str(BUNDLED), "--junit", str(folder / "out.xml"), "--report-dir", str(folder / "reports"), "--jobs", "2")
    return code, out, folder


def test_the_bundled_scenarios_pass_and_the_junit_file_has_one_passing_case_each(bundled_run):
    code, out, folder = bundled_run
    assert code == 0, out
    suite = ET.parse(folder / "out.xml").getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {p.stem for p in BUNDLED.glob("*.yaml")}
    count = len(list(BUNDLED.glob("*.yaml")))
    assert suite.get("tests") == str(count) and suite.get("failures") == "0" and suite.get("errors") == "0"
    assert all(c.find("failure") is None and c.find("error") is None for c in cases.values())
    assert cases["acme-2027-no-fraud-pivot"].get("file") == str(BUNDLED / "acme-2027-no-fraud-pivot.yaml")
    assert f"{count} scenarios: {count} passed, 0 failed" in out


def test_each_scenario_gets_a_checked_json_plan_and_an_offline_html_report(bundled_run):
    _, _, folder = bundled_run
    plans = read_plans(folder / "reports")
    assert set(plans) == {p.stem for p in BUNDLED.glob("*.yaml")}
    for key, plan in plans.items():
        verified(load_scenario(BUNDLED / f"{key}.yaml"), plan)
    assert plans["acme-2027-no-fraud-pivot"].status is PlanStatus.infeasible
    assert "support-chatbot" in {s.id for s in plans["acme-2027-hire-ml"].scheduled}
    page = (folder / "reports" / "acme-2027-hire-ml.html").read_text()
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")  # nothing fetched
    assert "<h2>Roadmap</h2>" in page and "<h2>Utilisation</h2>" in page and "<h2>Explanations</h2>" in page
    assert "pass: expected status optimal; scheduled support-chatbot; min_value 300" in page
    summary = (folder / "reports" / "summary.md").read_text()
    count = len(list(BUNDLED.glob("*.yaml")))
    assert summary.startswith(f"## Planner batch: {count} of {count} scenarios passed")
    assert "| pass | `" + str(BUNDLED / "acme-2027-hire-ml.yaml") + "` | optimal | 304.49 | +13.68 (+4.7%) |" in summary


def test_a_failing_expectation_fails_the_batch_naming_the_scenario_and_the_expectation(tmp_path):
    data = yaml.safe_load((BUNDLED / "startup-monthly.yaml").read_text())
    data["expect"] = {"scheduled": ["mobile-app-beta"], "min_value": 40}
    bad = write_yaml(tmp_path, "too-hopeful.yaml", data)
    shutil.copy(BUNDLED / "startup-monthly.yaml", tmp_path / "fine.yaml")
    code, out = batch(str(tmp_path), "--junit", str(tmp_path / "out.xml"), "--summary", str(tmp_path / "summary.md"))
    assert code == 1
    assert f"FAIL  {bad}: startup-monthly: optimal" in out
    assert "expect.scheduled: 'mobile-app-beta' is not scheduled (capacity)" in out
    assert "expect.min_value: expected at least 40, the plan's value is 29.096" in out
    assert f"pass  {tmp_path / 'fine.yaml'}" in out
    failure = ET.parse(tmp_path / "out.xml").getroot().find("testsuite/testcase[@name='too-hopeful']/failure")
    assert failure.get("message") == f"{bad}: expect.scheduled: 'mobile-app-beta' is not scheduled (capacity)"
    assert "- `" + str(bad) + "`\n  - expect.scheduled:" in (tmp_path / "summary.md").read_text()


def test_an_invalid_scenario_fails_with_its_located_errors_and_the_others_still_run(tmp_path):
    write_yaml(tmp_path, "broken.yaml", scenario_data(initiatives=[{"id": "x", "title": "X", "effort": {"nobody": 2}, "value": 1}]))
    write_yaml(tmp_path, "good.yaml", scenario_data())
    code, out = batch(str(tmp_path / "*.yaml"))
    assert code == 1
    assert f"FAIL  {tmp_path / 'broken.yaml'}: invalid" in out
    assert f"{tmp_path / 'broken.yaml'}:25:13: initiatives[0].effort.nobody: unknown team 'nobody'" in out
    assert f"pass  {tmp_path / 'good.yaml'}: tiny: optimal" in out


def test_a_scenario_that_turns_invalid_leaves_no_stale_plan_to_compare_with_later(tmp_path):
    scenario = write_yaml(tmp_path, "tiny.yaml", scenario_data())
    assert batch(str(scenario), "--report-dir", str(tmp_path / "reports"))[0] == 0
    assert (tmp_path / "reports" / "tiny.json").exists()
    write_yaml(tmp_path, "tiny.yaml", scenario_data(horizon={"start": "2027-Q1", "periods": 0}))
    assert batch(str(scenario), "--report-dir", str(tmp_path / "reports"))[0] == 1
    assert not (tmp_path / "reports" / "tiny.json").exists() and not (tmp_path / "reports" / "tiny.html").exists()


def test_a_value_drop_beyond_the_allowed_regression_fails_against_the_baseline(tmp_path):
    scenario = write_yaml(tmp_path, "tiny.yaml", scenario_data())
    assert batch(str(tmp_path), "--report-dir", str(tmp_path / "before"))[0] == 0
    assert "1 scenario: 1 passed, 0 failed" in batch(str(tmp_path), "--report-dir", str(tmp_path / "before"))[1]  # its plans are not scenarios
    lower = scenario_data()
    lower["initiatives"][0]["value"] = 14  # signup is worth less now
    write_yaml(tmp_path, "tiny.yaml", lower)
    code, out = batch(str(scenario), "--baseline", str(tmp_path / "before"))
    assert code == 1
    assert "regression.value: 31 before, 25 now: worse by 6 (19.35%), more than --max-regression 0.00%" in out
    assert batch(str(scenario), "--baseline", str(tmp_path / "before"), "--max-regression", "20%")[0] == 0


def test_a_required_item_that_disappears_is_a_regression():
    data = scenario_data()
    data["initiatives"][1]["mandatory"] = True
    before_scenario = Scenario.model_validate(data)
    before = solved(before_scenario)
    data["initiatives"] = [i for i in data["initiatives"] if i["id"] != "cdn"]
    after_scenario = Scenario.model_validate(data)
    found = regressions(after_scenario, solved(after_scenario), before, max_regression=1.0)
    assert [str(f) for f in found] == ["regression.mandatory: required 'cdn' was scheduled before (from 2027-Q1) and is no longer in the scenario"]


def test_expectations_report_each_miss_in_the_scenarios_words():
    data = scenario_data(
        initiatives=[
            {"id": "signup", "title": "New signup", "effort": {"web": 8}, "value": 20},
            {"id": "rewrite", "title": "Rewrite", "effort": {"web": 22}, "value": 30, "deadline": "2027-Q2", "duration": 2},
            {"id": "cdn", "title": "CDN move", "kind": "infrastructure", "effort": {"ops": 4}, "value": 5},
        ],
        expect={"status": "optimal", "not_scheduled": ["cdn"], "max_gap": 0.01, "invisible_share_min": 0.5, "deadlines_met": True},
    )
    scenario = Scenario.model_validate(data)
    plan = solved(scenario)
    assert [str(u) for u in unmet(scenario, plan)] == [
        "expect.not_scheduled: 'cdn' is scheduled, starting 2027-Q1",
        "expect.invisible_share_min: expected invisible work to be at least 50.0% of capacity, it is 13.3%",
        "expect.deadlines_met: 1 of 1 initiatives with a deadline are not scheduled: rewrite",
    ]


def test_expectations_name_unknown_initiatives_where_they_are_written(tmp_path):
    path = write_yaml(tmp_path, "s.yaml", scenario_data(expect={"scheduled": ["sigup"]}))
    err = io.StringIO()
    code = main(["check", str(path)], out=err)
    assert code == 1
    assert f"{path}:44:5: expect.scheduled[0]: unknown initiative 'sigup' (did you mean 'signup'?)" in err.getvalue()


def test_an_overlay_states_its_own_expectations_and_does_not_inherit_its_bases(tmp_path):
    write_yaml(tmp_path, "base.yaml", scenario_data(expect={"scheduled": ["cdn"]}))
    overlay = write_yaml(tmp_path, "variant.yaml", {"extends": "base.yaml", "initiatives": [{"id": "cdn", "remove": True}]})
    assert load_scenario(overlay).expect is None


def _work(task: str) -> str:
    if task == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if task == "raise":
        raise RuntimeError("the model broke")
    return task.upper()


def test_a_process_that_is_killed_fails_alone_and_the_other_results_arrive():
    results = dict(run_each(_work, ["a", "die", "raise", "b"], jobs=2))
    assert results[0] == "A" and results[3] == "B"
    assert results[1] == Crashed("the solver process was killed by signal 9 before it reported")
    assert results[2] == Crashed("RuntimeError: the model broke")


@pytest.mark.parametrize(
    "args, message",
    [
        (["nowhere/*.yaml"], "nowhere/*.yaml: no such file, and no file matches it as a pattern"),
        ([str(BUNDLED), "--max-regression", "120%"], "120%: give a share from 0 to 1"),
        ([str(BUNDLED), "--baseline", "no-such-folder"], "--baseline no-such-folder: no such folder"),
        ([str(BUNDLED), "--baseline", str(BUNDLED.parent / "docs")], "holds none of this run's plans (such as acme-2027-hire-ml.json)"),
        ([str(BUNDLED), "--summary", "no/such/folder/summary.md"], "--summary no/such/folder/summary.md: no such folder to write it in"),
    ],
)
def test_usage_errors_exit_2_with_the_reason(args, message, capsys):
    try:
        code = main(["batch", *args])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err
