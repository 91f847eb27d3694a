"""`planner serve`'s log lines: what it says when it prints no token, `--log-level`, and `--log-format json`
(one JSON object per line, for the access log, gunicorn's own lines and the service's), on the real server."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from api.service.logs import JsonFormatter
from tests.factories import REPO
from tests.service import close, free_port, make_api

PLANNER = str(Path(sys.executable).parent / "planner")
HINT = "create one with `planner tokens create --role planner --name NAME"


@dataclass
class Served:
    stdout: str
    stderr: str
    statuses: list[int]

    def json_lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in (self.stdout + self.stderr).splitlines() if line.strip()]


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def serve(folder: Path, *options: str, paths: tuple[str, ...] = ("/healthz", "/scenarios")) -> Served:
    """Start `planner serve` without --load, wait until it is ready, GET each path, stop it, and return what it wrote."""
    port = free_port()
    out, err = folder / "stdout.log", folder / "stderr.log"
    command = [PLANNER, "serve", "--instance", str(folder / "instance"), "--port", str(port), "--workers", "1", "--job-workers", "1", *options]
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=REPO)
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, err.read_text()
                try:
                    if _status(f"http://127.0.0.1:{port}/readyz") == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "the server was not ready in 60 s:\n" + err.read_text()
                time.sleep(0.2)
            statuses = [_status(f"http://127.0.0.1:{port}{path}") for path in paths]
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    return Served(out.read_text(), err.read_text(), statuses)


def test_serve_without_load_says_how_to_get_a_token(tmp_path):
    served = serve(tmp_path)
    assert HINT in served.stderr
    assert "no token is printed without --load" in served.stderr
    assert "Listening at: http://127.0.0.1:" in served.stderr  # gunicorn's own lines, as text


def test_json_logs_are_one_json_object_per_line_with_the_request_on_access_lines(tmp_path):
    lines = serve(tmp_path, "--log-format", "json").json_lines()
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    access = {line["path"]: line for line in lines if line["logger"] == "gunicorn.access"}
    assert access["/healthz"]["method"] == "GET" and access["/healthz"]["status"] == 200
    assert access["/scenarios"]["status"] == 401  # no token sent
    assert isinstance(access["/healthz"]["duration_ms"], int)
    messages = [(line["logger"], line["level"], line["message"]) for line in lines]
    assert any(logger == "planner.serve" and level == "info" and HINT in str(message) for logger, level, message in messages)
    assert any(logger == "planner.jobs" and "job runner" in str(message) for logger, _, message in messages)  # the service's own lines
    assert any(logger == "gunicorn.error" and str(message).startswith("Listening at") for logger, _, message in messages)


def test_log_level_warning_leaves_out_the_info_lines_but_not_the_access_log(tmp_path):
    lines = serve(tmp_path, "--log-format", "json", "--log-level", "warning").json_lines()
    assert {line["level"] for line in lines if line["logger"] != "gunicorn.access"} <= {"warning", "error", "critical"}
    assert "/healthz" in [line["path"] for line in lines if line["logger"] == "gunicorn.access"]


def test_a_request_line_over_4094_bytes_gets_the_414_the_openapi_document_names_and_a_json_log_line(tmp_path):
    served = serve(tmp_path, "--log-format", "json", paths=("/scenarios?name=" + "x" * 4100, "/healthz"))
    assert served.statuses == [414, 200]
    refused = [line for line in served.json_lines() if "Request Line is too large" in str(line["message"])]
    assert refused and refused[0]["level"] == "warning"


def test_a_service_line_written_during_a_request_names_the_request(tmp_path):
    api = make_api(tmp_path, start_runner=False)
    try:
        record = logging.LogRecord("planner.service", logging.ERROR, __file__, 1, "unhandled error %s", ("ab12",), None)
        with api.app.test_request_context("/scenarios/validate", method="POST"):
            line = json.loads(JsonFormatter().format(record))
        assert line["message"] == "unhandled error ab12"
        assert (line["level"], line["method"], line["path"]) == ("error", "POST", "/scenarios/validate")
        assert "method" not in json.loads(JsonFormatter().format(record))  # outside a request: no request fields
    finally:
        close(api)


def test_a_solver_process_logs_a_failing_job_as_json_when_the_service_does(capfd) -> None:
    # Spawned, not forked, a solver process started with no log set-up: its traceback came out as plain text.
    import multiprocessing

    from api.service import jobs

    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe(duplex=True)
    process = context.Process(target=jobs._worker_main, args=(theirs, ("info", "json")), daemon=True)
    process.start()
    theirs.close()
    try:
        ours.send(("job_broken", {"kind": "no-such-kind"}))
        assert ours.poll(60), "the solver process did not answer"
        kind, job_id, reason = ours.recv()
        assert (kind, job_id) == ("error", "job_broken") and "no-such-kind" in reason
    finally:
        ours.close()
        process.join(timeout=30)
    lines = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    logged = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(entry["message"] == "job job_broken failed" and "ValueError" in entry["exception"] for entry in logged), lines
