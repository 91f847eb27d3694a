"""Schemathesis against the service's own /openapi.json: generated requests to every operation, with an admin
token, must never get a server error, nor a status, content type or body the document does not describe."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from api.service import auth
from tests.factories import REFERENCE
from tests.service import make_api

# A service of its own, without a job runner (no generated request waits for a solver); one real scenario
# and one real plan id are not needed: a made-up id must get a documented 404, which is what is checked.
_api = make_api(Path(tempfile.mkdtemp(prefix="planner-schema-")), start_runner=False)
_api.create(REFERENCE.read_bytes())
with _api.app.extensions["planner"].sessions.begin() as _session:
    _, TOKEN = auth.create_token(_session, workspace="alpha", role="admin", name="schemathesis")

schema = schemathesis.openapi.from_wsgi("/openapi.json", _api.app)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schema.parametrize()
@settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_its_schema_says(case: schemathesis.Case) -> None:
    # Without a runner /readyz answers 503, as documented: its status and body are still checked.
    checks = CHECKS[1:] if case.path == "/readyz" else CHECKS
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=checks)
