"""Screenshots of the web page's main views, for docs/screenshots/ and the README.

    .venv/bin/python -m tests.screenshots [--out docs/screenshots]

Starts the real service on a scratch instance, stores the bundled reference scenario and its hire-ML
variant, solves, compares and sweeps them through the API, and photographs each page in headless chromium
at 1280 px wide. Every plan photographed is first re-verified by the plan checker.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from selenium.webdriver.common.by import By

from tests.browser import chromium, sign_in
from tests.factories import REPO
from tests.service import Server

SCENARIOS = REPO / "scenarios"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    server = Server(Path(tempfile.mkdtemp(prefix="screens-")))
    server.start()
    driver = chromium(1280, 900)
    try:
        ids = {}
        for name in ("acme-2027", "acme-2027-hire-ml"):
            text = (
                (SCENARIOS / f"{name}.yaml").read_text().replace("extends: acme-2027.yaml", f"extends: {ids.get('acme-2027')}")
            )  # stored overlays name their base by id
            status, body = server.call("POST", "/scenarios", text.encode(), content_type="application/yaml")
            assert status == 201, body
            ids[name] = body["id"]
        settings = {"time_limit": 10, "workers": 1, "seed": 0, "reasons": True, "policy_costs": True}
        job = server.finished(server.call("POST", f"/scenarios/{ids['acme-2027']}/solves?wait=30", settings)[1])
        plan_id = job["plan_id"]
        server.verified_plan(plan_id)
        compared = server.finished(
            server.call(
                "POST", "/comparisons?wait=30", {"scenarios": [{"id": ids["acme-2027"]}, {"id": ids["acme-2027-hire-ml"]}], "settings": {"time_limit": 5}}
            )[1]
        )
        for p in compared["result"]["plans"]:
            server.verified_plan(p)
        sweep = server.finished(
            server.call(
                "POST",
                f"/scenarios/{ids['acme-2027']}/sweeps?wait=30",
                {"knob": "capacity", "low": -0.3, "high": 0.3, "steps": 7, "settings": {"time_limit": 3}},
            )[1]
        )
        status, ai = server.call("POST", "/scenarios", (SCENARIOS / "ai-platform-2027.yaml").read_bytes(), content_type="application/yaml")
        assert status == 201, ai
        planned = server.finished(server.call("POST", f"/scenarios/{ai['id']}/solves?wait=30", {"time_limit": 10, "workers": 1, "reasons": False})[1])
        server.verified_plan(planned["plan_id"])
        simulated = server.finished(
            server.call("POST", f"/scenarios/{ai['id']}/simulations?wait=30", {"plan": planned["plan_id"], "samples": 2000, "seed": 3})[1]
        )
        sign_in(driver, server.url, server.token)
        pages = {
            "scenarios": "/ui/",
            "plan-roadmap": f"/ui/plans/{plan_id}",
            "plan-executive": f"/ui/plans/{plan_id}?tab=executive",
            "initiative": f"/ui/plans/{plan_id}/initiatives/{_left_out(server, plan_id)}",
            "comparison": f"/ui/comparisons/{compared['result']['comparison_id']}",
            "sweep": f"/ui/jobs/{sweep['id']}",
            "simulation": f"/ui/jobs/{simulated['id']}",
        }
        for name, path in pages.items():
            driver.get(server.url + path)
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1280, min(max(int(height) + 20, 600), 2400))
            driver.find_element(By.TAG_NAME, "main").screenshot(str(args.out / f"{name}.png"))
            print(args.out / f"{name}.png")
    finally:
        driver.quit()
        server.stop()
    return 0


def _left_out(server: Server, plan_id: str) -> str:
    plan = server.verified_plan(plan_id)
    return plan.not_scheduled[0].id if plan.not_scheduled else plan.scheduled[0].id


if __name__ == "__main__":
    raise SystemExit(main())
