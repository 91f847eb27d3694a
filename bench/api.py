"""The service on loopback: solve-job latency and reads per second under concurrent load.

`planner serve` runs as a user starts it (gunicorn, 2 HTTP worker processes of 4 threads, 2 solver
processes, SQLite in a fresh instance folder, the access log written to a file). Solve jobs are timed
from the client (submit with `?wait=` until the finished job comes back) and split by the job's own
timestamps into queueing (created to started) and running (started to finished: load, solve, explain,
check, store). Reads are driven by wrk (Debian's package), a C load generator on one thread, so the
client takes as little of the two cores as it can; it still shares them with the server, as any
loopback measurement does.

Run alone with `python -m bench.api [--full]` (prints the result as JSON), or as the `api` suite of
`bench.run`.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from api.service.config import ServiceConfig
from api.service.serve import create_token
from bench.generate import portfolio
from planner.check import check_plan
from planner.plan import Plan
from planner.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "examples" / "acme-2027.yaml"
WRK_SUMMARY = Path(__file__).with_name("wrk-summary.lua")
PLANNER = str(Path(sys.executable).parent / "planner")
MEDIUM = (200, 10, 4)  # the generated portfolio solved through the service, as in the explain suite


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`planner serve` on a free port with its own instance folder, and a planner token for it."""

    def __init__(self, instance: Path, *, http_workers: int = 2, job_workers: int = 2) -> None:
        self.instance, self.port = instance, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.http_workers, self.job_workers = http_workers, job_workers
        _, self.token = create_token(ServiceConfig(instance=instance), role="planner", name="bench", workspace="bench")
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        log = open(self.instance / "server.log", "ab")
        self.process = subprocess.Popen(
            [
                PLANNER,
                "serve",
                "--instance",
                str(self.instance),
                "--port",
                str(self.port),
                "--workers",
                str(self.http_workers),
                "--job-workers",
                str(self.job_workers),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.instance,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"planner serve exited with {self.process.returncode}: see {self.instance / 'server.log'}")
            try:
                if self.call("GET", "/readyz", auth=False)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"planner serve was not ready in 90 s: see {self.instance / 'server.log'}")

    def __exit__(self, *_: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def call(self, method: str, path: str, body: Any = None, *, auth: bool = True, content_type: str = "application/json") -> tuple[int, Any]:
        data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if auth:
            request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def expect(self, status: int, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        got, answer = self.call(method, path, body, **kwargs)
        if got != status:
            raise RuntimeError(f"{method} {path}: expected {status}, got {got}: {answer}")
        return answer

    def finished(self, job: dict[str, Any]) -> dict[str, Any]:
        while job["status"] in ("queued", "running"):
            job = self.expect(200, "GET", f"/jobs/{job['id']}?wait=60")
        if job["status"] != "succeeded":
            raise RuntimeError(f"job {job['id']} {job['status']}: {job.get('error')}")
        return job

    def peak_memory_mb(self) -> dict[str, float]:
        """Peak resident memory (VmHWM) of the server's processes by role: the master, HTTP workers, solvers."""
        assert self.process is not None
        peaks: dict[str, float] = {}
        for pid in _descendants(self.process.pid):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
            role = "master" if pid == self.process.pid else "solver" if "multiprocessing" in command else "http"
            peaks[role] = max(peaks.get(role, 0.0), kb / 1024)
        return peaks


def _descendants(pid: int) -> Iterator[int]:
    yield pid
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            yield from _descendants(int(child))


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _timed_solve(server: Server, scenario_id: str, settings: dict[str, Any]) -> dict[str, float]:
    """One solve job, submitted with `?wait=60` and waited on until it finished: where its time went."""
    began = time.perf_counter()
    job = server.finished(server.call("POST", f"/scenarios/{scenario_id}/solves?wait=60", settings)[1])
    client = time.perf_counter() - began
    return {
        "client": client,
        "queued": _seconds(job["created_at"], job["started_at"]),
        "running": _seconds(job["started_at"], job["finished_at"]),
    }


def _summary(name: str, runs: list[dict[str, float]], **facts: Any) -> dict[str, Any]:
    clients = sorted(r["client"] for r in runs)
    return {
        "name": name,
        "jobs": len(runs),
        **facts,
        "client_median": statistics.median(clients),
        "client_max": clients[-1],
        "queued_median": statistics.median(r["queued"] for r in runs),
        "running_median": statistics.median(r["running"] for r in runs),
    }


def solve_latency(server: Server, reference: str, medium: str, *, repeats: int) -> list[dict[str, Any]]:
    rows = []
    quick = {"time_limit": 10, "reasons": True}
    rows.append(_summary("reference, first job after start", [_timed_solve(server, reference, quick)], settings="reasons"))
    rows.append(_summary("reference, one at a time", [_timed_solve(server, reference, quick) for _ in range(repeats)], settings="reasons"))
    rows.append(
        _summary("reference, without reasons", [_timed_solve(server, reference, {**quick, "reasons": False}) for _ in range(repeats)], settings="no reasons")
    )

    # Four at once (the default per-token limit) on two solver processes: the last waits for a free one.
    began = time.perf_counter()
    submitted = [server.expect(202, "POST", f"/scenarios/{reference}/solves", quick) for _ in range(4)]
    done = [server.finished(job) for job in submitted]
    burst = [
        {
            "client": _seconds(j["created_at"], j["finished_at"]),
            "queued": _seconds(j["created_at"], j["started_at"]),
            "running": _seconds(j["started_at"], j["finished_at"]),
        }
        for j in done
    ]
    rows.append(_summary("reference, 4 submitted at once", burst, settings="reasons", makespan=time.perf_counter() - began))

    medium_settings = {"time_limit": 5, "reasons": False}
    rows.append(
        _summary(
            f"generated {'x'.join(map(str, MEDIUM))}, 5 s limit",
            [_timed_solve(server, medium, medium_settings) for _ in range(max(2, repeats // 5))],
            settings="no reasons",
        )
    )
    return rows


def wrk(server: Server, path: str, connections: int, seconds: int) -> dict[str, Any]:
    """`connections` keep-alive clients on one wrk thread reading `path` for `seconds`."""
    command = [
        shutil.which("wrk") or "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-H",
        f"Authorization: Bearer {server.token}",
        "-s",
        str(WRK_SUMMARY),
        server.url + path,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    errors = summary["errors"]
    return {
        "path": path,
        "connections": connections,
        "per_second": summary["requests"] / (summary["duration_us"] / 1e6),
        "p50_ms": summary["latency_us"]["p50"] / 1000,
        "p99_ms": summary["latency_us"]["p99"] / 1000,
        "errors": errors["status"] + errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        "requests": summary["requests"],
    }


def repeated(server: Server, what: str, path: str, connections: int, seconds: float, runs: int = 3) -> dict[str, Any]:
    """The median of `runs` wrk runs sharing `seconds`, and the range: keep-alive connections stay with the
    gunicorn worker that accepted them, so a run where one worker took most of them reads on one core."""
    tries = sorted((wrk(server, path, connections, max(1, round(seconds / runs))) for _ in range(runs)), key=lambda r: r["per_second"])
    return {
        "what": what,
        **tries[len(tries) // 2],
        "runs": runs,
        "per_second_low": tries[0]["per_second"],
        "per_second_high": tries[-1]["per_second"],
        "errors": sum(t["errors"] for t in tries),
    }


def reads(server: Server, paths: dict[str, str], levels: tuple[int, ...], seconds: float) -> list[dict[str, Any]]:
    return [repeated(server, what, path, c, seconds) for what, path in paths.items() for c in levels]


def reads_while_solving(server: Server, medium: str, path: str, connections: int, seconds: float) -> dict[str, Any]:
    """Reads while both solver processes work on long solves (all CP-SAT threads busy on the two cores)."""
    jobs = [server.expect(202, "POST", f"/scenarios/{medium}/solves", {"time_limit": seconds + 60, "reasons": False}) for _ in range(2)]
    deadline = time.monotonic() + 30
    while any(server.expect(200, "GET", f"/jobs/{j['id']}")["status"] != "running" for j in jobs):
        if time.monotonic() > deadline:
            raise RuntimeError("the two long solves did not start within 30 s")
        time.sleep(0.2)
    try:
        return repeated(server, "a plan (JSON), while 2 solves run", path, connections, seconds)
    finally:
        for j in jobs:
            server.call("POST", f"/jobs/{j['id']}/cancel")


# The web page (#22): each page of the reference plan answered in under 200 ms, one browser asking at a time.
PAGE_TARGET_MS = 200
HIRE_ML = ROOT / "scenarios" / "acme-2027-hire-ml.yaml"
LARGE_PAGE = (500, 20, 8)  # the generated portfolio whose timeline is paged


def signed_in(server: Server) -> urllib.request.OpenerDirector:
    """A browser's session: the sign-in form posted with its nonce, the session cookie kept."""
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = browser.open(f"{server.url}/ui/signin", timeout=30).read().decode()
    nonce = re.search(r'name="csrf" value="([^"]+)"', form)
    if nonce is None:
        raise RuntimeError("the sign-in page has no form nonce")
    body = urllib.parse.urlencode({"token": server.token, "csrf": nonce.group(1), "next": "/ui/"}).encode()
    browser.open(f"{server.url}/ui/signin", data=body, timeout=30).read()
    if not any(cookie.name == "planner_session" for cookie in jar):
        raise RuntimeError("signing in set no session cookie")
    return browser


def page_times(server: Server, pages: dict[str, str], repeats: int) -> list[dict[str, Any]]:
    """Each page fetched `repeats` times in a row by one signed-in browser (after one warm-up): server time plus loopback."""
    browser = signed_in(server)
    rows = []
    for what, path in pages.items():
        size = len(browser.open(server.url + path, timeout=60).read())
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            with browser.open(server.url + path, timeout=60) as answer:
                answer.read()
                if answer.status != 200:
                    raise RuntimeError(f"GET {path}: {answer.status}")
            times.append((time.perf_counter() - began) * 1000)
        times.sort()
        rows.append(
            {
                "what": what,
                "path": path,
                "kb": size / 1024,
                "p50_ms": statistics.median(times),
                "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
                "max_ms": times[-1],
                "repeats": repeats,
            }
        )
    return rows


def web_pages(server: Server, reference: str, plan: dict[str, Any], repeats: int) -> list[dict[str, Any]]:
    """The web page's views of the reference plan, its comparison with the hire-ML variant and a sweep; and a 500-initiative timeline."""
    text = HIRE_ML.read_text().replace("extends: acme-2027.yaml", f"extends: {reference}")  # a stored overlay names its base by id
    variant = server.expect(201, "POST", "/scenarios", text.encode(), content_type="application/yaml")["id"]
    other = server.finished(server.call("POST", f"/scenarios/{variant}/solves?wait=60", {"time_limit": 10})[1])
    comparison = server.expect(201, "POST", "/comparisons", {"plans": [plan["plan_id"], other["plan_id"]]})["id"]
    sweep = {"knob": "capacity", "low": -0.2, "high": 0.2, "steps": 5, "settings": {"time_limit": 5}}
    swept = server.finished(server.call("POST", f"/scenarios/{reference}/sweeps?wait=60", sweep)[1])
    document = yaml.safe_dump(portfolio(*LARGE_PAGE, seed=1), sort_keys=False).encode()
    large = server.expect(201, "POST", "/scenarios", document, content_type="application/yaml")["id"]
    large_plan = server.finished(server.call("POST", f"/scenarios/{large}/solves?wait=60", {"time_limit": 10, "reasons": False})[1])
    plan_path = f"/ui/plans/{plan['plan_id']}"
    pages = {
        "the scenarios": "/ui/",
        "a scenario": f"/ui/scenarios/{reference}",
        "the plan: roadmap": plan_path,
        "the plan: executive": f"{plan_path}?tab=executive",
        "the plan: engineering": f"{plan_path}?tab=engineering",
        "the plan: public": f"{plan_path}?tab=public",
        "an initiative's explanation": f"{plan_path}/initiatives/support-chatbot",
        "a comparison": f"/ui/comparisons/{comparison}",
        "a sweep": f"/ui/jobs/{swept['id']}",
        "the HTML report (download)": f"{plan_path}/download/html",
        "500 initiatives: roadmap, page 1": f"/ui/plans/{large_plan['plan_id']}",
    }
    return page_times(server, pages, repeats)


def _verified(server: Server, plan_id: str) -> bool:
    """The plan the reads serve, as a client gets it, re-checked by the solver-free checker."""
    body = server.expect(200, "GET", f"/plans/{plan_id}")
    scenario = server.expect(200, "GET", f"/scenarios/{body['scenario_id']}?version={body['scenario_version']}")["scenario"]
    return not check_plan(Scenario.model_validate(scenario), Plan.model_validate(body["plan"]))


def run(job: dict[str, Any]) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk not found: install Debian's package (apt-get install wrk); `make bench` does")
    full = job.get("full", False)
    seconds = 9.0 if full else 3.0  # whole seconds per wrk run: it takes no fractions
    levels = (1, 8, 32, 64) if full else (1, 16)
    with tempfile.TemporaryDirectory(prefix="planner-bench-") as folder, Server(Path(folder)) as server:
        reference = server.expect(201, "POST", "/scenarios", REFERENCE.read_bytes(), content_type="application/yaml")["id"]
        document = yaml.safe_dump(portfolio(*MEDIUM, seed=1), sort_keys=False).encode()
        medium = server.expect(201, "POST", "/scenarios", document, content_type="application/yaml")["id"]
        latency = solve_latency(server, reference, medium, repeats=20 if full else 5)

        plan = server.finished(server.call("POST", f"/scenarios/{reference}/solves?wait=60", {"time_limit": 10})[1])
        valid = _verified(server, plan["plan_id"])
        paths = {
            "liveness (no auth, no database)": "/healthz",
            "a page of scenarios": "/scenarios?limit=20",
            "a scenario with its document": f"/scenarios/{reference}",
            "a plan (JSON)": f"/plans/{plan['plan_id']}",
            "a job": f"/jobs/{plan['id']}",
        }
        if not full:
            paths.pop("a job")
        rows = reads(server, paths, levels, seconds)
        rows.append(reads_while_solving(server, medium, paths["a plan (JSON)"], max(levels), seconds))
        pages = web_pages(server, reference, plan, repeats=50 if full else 20)
        memory = server.peak_memory_mb()
    return {
        "status": "measured",
        "valid": valid,
        "http_workers": server.http_workers,
        "job_workers": server.job_workers,
        "threads": 4,
        "latency": latency,
        "reads": rows,
        "pages": pages,
        "peak_mb_by_role": memory,
        "read_seconds": seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description="Measure the service on loopback and print the result as JSON.")
    parser.add_argument("--full", action="store_true", help="more repeats, four concurrency levels and 10 s per read run")
    args = parser.parse_args(argv)
    json.dump(run({"full": args.full}), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
