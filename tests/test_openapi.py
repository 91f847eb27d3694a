"""The OpenAPI document's conventions: operation ids, examples, and what the service refuses that the
document must say (the ceiling on a job's time limit, 409, 413, 414); and a body that is not text is a
located 400, not a document to validate."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from api.service import schemas
from tests.factories import BUNDLED
from tests.service import Api, close, make_api


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    service = make_api(tmp_path_factory.mktemp("openapi"), start_runner=False)
    yield service
    close(service)


@pytest.fixture(scope="module")
def document(api: Api) -> dict[str, Any]:
    return api.client.get("/openapi.json").get_json()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_operation_ids_are_unique_snake_case_names_without_the_method_said_twice(document):
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", i) for i in ids), ids
    assert not [i for i in ids if re.match(r"(get|post|delete)_(get|post|delete|list|create)_", i)]
    by_path = {(path, method): op["operationId"] for path, method, op in operations(document)}
    assert by_path["/plans/{plan_id}", "get"] == "get_plan"
    assert by_path["/scenarios", "post"] == "create_scenario"
    assert by_path["/tokens/{token_id}", "delete"] == "revoke_token"


MODELS = {name: model for name, model in vars(schemas).items() if isinstance(model, type) and issubclass(model, BaseModel)}


def _examples(document: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(schema name, example) for every example on a request or response body."""
    for _, _, op in operations(document):
        contents = [op.get("requestBody", {}).get("content", {})] + [reply.get("content", {}) for reply in op["responses"].values()]
        for content in contents:
            for media in content.values():
                if "example" in media:
                    yield media["schema"]["$ref"].rsplit("/", 1)[-1], media["example"]


def test_request_bodies_and_the_main_responses_carry_an_example(document):
    solve = document["paths"]["/scenarios/{scenario_id}/solves"]["post"]
    assert solve["requestBody"]["content"]["application/json"]["example"]["time_limit"] == 30
    assert solve["responses"]["202"]["content"]["application/json"]["example"]["status"] == "running"
    with_examples = {name for name, _ in _examples(document)}
    assert {"SolveRequest", "SweepRequest", "CounterfactualRequest", "ComparisonRequest", "TokenRequest"} <= with_examples
    assert {"JobOut", "NewToken", "TokenList", "Validation", "Health", "Readiness"} <= with_examples


def test_every_example_is_valid_for_its_schema(document):
    examples = list(_examples(document))
    assert examples
    for name, example in examples:
        MODELS[name].model_validate(example)
    declared = [m for m in MODELS.values() if (m.model_config.get("json_schema_extra") or {}).get("examples")]
    for model in declared:
        model.model_validate(model.model_config["json_schema_extra"]["examples"][0])


def test_every_operation_that_runs_a_job_states_the_ceiling_on_its_time_limit(document):
    limited = {path: op["description"] for path, method, op in operations(document) if "time_limit" in op.get("description", "")}
    assert sorted(limited) == [
        "/comparisons",
        "/plans/{plan_id}/counterfactuals",
        "/scenarios/{scenario_id}/simulations",
        "/scenarios/{scenario_id}/solves",
        "/scenarios/{scenario_id}/sweeps",
    ]
    assert "`time_limit` is at most 600 s" in limited["/scenarios/{scenario_id}/solves"]
    assert "`settings.time_limit` is at most 600 s" in limited["/scenarios/{scenario_id}/sweeps"]
    assert "at most 600 s" in document["info"]["description"]


def test_the_ceiling_the_document_states_is_the_services_own(tmp_path):
    other = make_api(tmp_path, start_runner=False, max_time_limit=120)
    try:
        solve = other.client.get("/openapi.json").get_json()["paths"]["/scenarios/{scenario_id}/solves"]["post"]
        assert "`time_limit` is at most 120 s" in solve["description"]
        sid = other.reference()
        refused = other.post(f"/scenarios/{sid}/solves", json={"time_limit": 121})
        assert refused.status_code == 422
    finally:
        close(other)


def test_a_new_version_documents_409_for_a_stale_or_concurrent_edit(document):
    conflict = document["paths"]["/scenarios/{scenario_id}/versions"]["post"]["responses"]["409"]
    assert "If-Match" in conflict["description"] and "at the same time" in conflict["description"]


def test_every_operation_documents_414_and_every_one_with_a_body_413(document):
    for path, method, op in operations(document):
        assert "414" in op["responses"], (method, path)
        assert "text/html" in op["responses"]["414"]["content"]
        if "requestBody" in op:
            assert "413" in op["responses"] and "400" in op["responses"], (method, path)


@pytest.mark.parametrize(
    ("body", "line", "column", "words"),
    [
        (b"name: a\x00b\n", 1, 8, "the control character U+0000"),
        (b"name: tiny\nunit: weeks\x1b[31m\n", 2, 12, "the control character U+001B"),
        (b"name: caf\xe9\n", 1, 10, "byte 0xE9 is not UTF-8"),
        (b"\x00", 1, 1, "the control character U+0000"),
    ],
    ids=["nul", "escape", "latin-1", "only-nul"],
)
def test_validating_a_body_that_is_not_text_is_a_located_400(api: Api, body, line, column, words):
    answer = api.post("/scenarios/validate", role="viewer", data=body, headers={"Content-Type": "application/yaml"})
    assert answer.status_code == 400
    assert answer.mimetype == "application/problem+json"
    (error,) = answer.get_json()["errors"]
    assert words in error["message"]
    assert (error["location"]["line"], error["location"]["column"]) == (line, column)


def test_storing_a_body_that_is_not_text_is_a_located_400_and_stores_nothing(api: Api):
    before = api.get("/scenarios").get_json()["total"]
    answer = api.post("/scenarios", data=b'{"name": "a\x00"}', headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.get_json()["errors"][0]["location"] == {"file": "<body>", "line": 1, "column": 12, "path": ""}
    assert api.get("/scenarios").get_json()["total"] == before


def test_a_byte_order_mark_and_crlf_line_ends_are_text(api: Api):
    body = (BUNDLED / "startup-monthly.yaml").read_bytes().replace(b"\n", b"\r\n")
    answer = api.post("/scenarios/validate", role="viewer", data=b"\xef\xbb\xbf" + body, headers={"Content-Type": "application/yaml"})
    assert answer.status_code == 200 and answer.get_json()["valid"] is True, answer.get_json()
