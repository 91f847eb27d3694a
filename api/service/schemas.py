"""The service's request and response bodies. Domain objects (`Scenario`, `Plan`, `Explanation`, the views,
`Comparison`, `SolveSettings`) travel as themselves; these models only wrap them with ids, versions and links.

A model's `examples` (`example(...)`) go into the OpenAPI document, on the schema and on the request or
response that carries it; a test checks that each one is valid for its model."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.service.auth import Role
from planner.compare import Comparison
from planner.errors import Problem
from planner.plan import Plan
from planner.scenario import Scenario
from planner.settings import SolveSettings
from planner.sweep import Sweep

JobKind = Literal["solve", "counterfactual", "comparison", "sweep", "simulation"]
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
PlanFormat = Literal["json", "csv", "md"]
ViewName = Literal["executive", "engineering", "public"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def example(value: dict[str, Any]) -> ConfigDict:
    """A model's example, for the OpenAPI document (the first of JSON Schema's `examples`)."""
    return ConfigDict(json_schema_extra={"examples": [value]})


_TOKEN = {"id": "tok_1c93530b1bde0ce6", "name": "ci", "role": "viewer", "workspace": "local", "created_at": "2026-11-30T09:10:00Z", "revoked_at": None}


class Page(Body):
    total: int = Field(description="How many items match, over all pages.")
    limit: int
    offset: int
    next: str | None = Field(description="The URL of the next page; null on the last.")


class PageQuery(Body):
    limit: int = Field(default=50, ge=1, le=200, description="Items per page.")
    offset: int = Field(default=0, ge=0, le=1_000_000, description="Items to skip.")


# --- scenarios -----------------------------------------------------------------------------------------


class ScenarioVersionOut(Body):
    model_config = example(
        {
            "version": 2,
            "created_at": "2026-11-30T09:12:44Z",
            "created_by": "tok_49a15850582cdf10",
            "extends": None,
            "initiatives": 15,
            "teams": 5,
            "periods": 4,
        }
    )

    version: int
    created_at: datetime
    created_by: str = Field(description="The id of the token that wrote this version.")
    extends: str | None = Field(default=None, description="`id@version` of the base this overlay was resolved against.")
    initiatives: int
    teams: int
    periods: int


class ScenarioOut(Body):
    id: str
    name: str = Field(description="The scenario's `name`, in its newest version.")
    latest_version: int
    created_at: datetime
    updated_at: datetime
    links: dict[str, str]


class ScenarioDetail(ScenarioOut):
    version: ScenarioVersionOut = Field(description="The version shown (the newest unless `?version=` asks for another).")
    source: str = Field(description="The document as it was sent (YAML or JSON).")
    format: Literal["yaml", "json"]
    scenario: Scenario = Field(description="The validated scenario, overlays applied.")
    warnings: list[Problem] = Field(default_factory=list, description="Valid but suspicious, each located.")


class ScenarioPage(Page):
    items: list[ScenarioOut]


class ScenarioQuery(PageQuery):
    name: str | None = Field(default=None, max_length=200, description="Only scenarios whose name contains this (any case).")


class VersionQuery(Body):
    version: int | None = Field(default=None, ge=1, le=1_000_000, description="A version number; the newest when left out.")


class VersionList(Body):
    items: list[ScenarioVersionOut]


class Validation(Body):
    model_config = example(
        {
            "valid": False,
            "errors": [
                {
                    "message": "unknown team 'mll' (did you mean 'ml'?)",
                    "severity": "error",
                    "location": {"file": None, "line": 42, "column": 15, "path": "initiatives[3].effort.mll"},
                }
            ],
            "warnings": [],
            "scenario": None,
        }
    )

    valid: bool
    errors: list[Problem] = Field(default_factory=list, description="What stops the scenario loading, each located; as `planner check` prints.")
    warnings: list[Problem] = Field(default_factory=list)
    scenario: Scenario | None = Field(default=None, description="The validated scenario, overlays applied (when valid).")


# --- jobs ----------------------------------------------------------------------------------------------


class SolveRequest(SolveSettings):
    """A solve: the settings `planner solve` takes, the version to solve and whether to explain the plan."""

    model_config = example({"time_limit": 30, "workers": 1, "seed": 0, "force_in": ["support-chatbot"], "reasons": True})

    version: int | None = Field(default=None, ge=1, description="The scenario version; the newest when left out.")
    reasons: bool = Field(default=True, description="Explain why each initiative is out or late (re-solves, most relevant first, within the time limit).")
    reasons_time: float | None = Field(
        default=None,
        gt=0,
        description="Seconds of time_limit kept for the reasons, which also get what the search leaves; a quarter when left out.",
    )
    policy_costs: bool = Field(default=False, description="Also price each guardrail (floor, share, mandatory item) by a re-solve, for the executive view.")


class WaitQuery(Body):
    wait: float = Field(
        default=0,
        ge=0,
        le=60,
        description="Seconds to wait for the job to finish before answering 202. When the server already holds as many "
        "waiting answers as it allows (`max_waiting`), it answers at once: poll again.",
    )


class Progress(Body):
    stage: str = Field(description="What the job is doing: queued, solving, explaining, comparing, sweeping, simulating, done.")
    objective: float | None = Field(default=None, description="The incumbent plan's objective.")
    bound: float | None = Field(default=None, description="The best bound proven so far.")
    elapsed: float = Field(default=0, description="Seconds since the job started.")
    done: int | None = Field(default=None, description="Steps finished (explanations, sweep points, scenarios).")
    total: int | None = None


class TaskOut(Body):
    """One independent part of a job on the distributed queue: a sweep's point, a comparison's scenario, or the whole job."""

    index: int
    label: str = Field(description="What it is: `solve`, `point +10%`, `scenario acme-2027`.")
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    attempts: int = Field(description="Runs started: 2 when its first worker died and another ran it again.")
    workers: list[str] = Field(description="The worker of each attempt, in order (`planner worker --name`).")
    error: str | None = Field(default=None, description="Why it failed or was cancelled.")
    started_at: datetime | None = None
    finished_at: datetime | None = None


class JobOut(Body):
    model_config = example(
        {
            "id": "job_5c1e0f9a2b7d4e63",
            "kind": "solve",
            "status": "running",
            "scenario_id": "sc_1f0c9a7be42d3c51",
            "scenario_version": 2,
            "created_at": "2026-11-30T09:13:02Z",
            "started_at": "2026-11-30T09:13:02Z",
            "finished_at": None,
            "progress": {"stage": "solving", "objective": 1184.5, "bound": 1203.0, "elapsed": 3.2, "done": None, "total": None},
            "error": None,
            "plan_id": None,
            "result": None,
            "attempts": 1,
            "workers": ["worker-a"],
            "request": {"time_limit": 30, "workers": 1, "seed": 0, "version": 2},
            "links": {"self": "/jobs/job_5c1e0f9a2b7d4e63", "cancel": "/jobs/job_5c1e0f9a2b7d4e63/cancel", "scenario": "/scenarios/sc_1f0c9a7be42d3c51"},
        }
    )

    id: str
    kind: JobKind
    status: JobStatus
    scenario_id: str | None
    scenario_version: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: Progress | None
    error: str | None = Field(description="Why the job failed or was cancelled.")
    plan_id: str | None = Field(description="The plan a finished solve or counterfactual produced.")
    result: dict[str, Any] | None = Field(
        description="A finished counterfactual's explanation, comparison's id, sweep's curve or simulation's outlook (`simulation`)."
    )
    attempts: int = Field(description="Runs started: 2 when the service stopped during the first run and the job was queued again.")
    workers: list[str] = Field(
        default_factory=list,
        description="Who ran it: the service's runner (host:pid:...) for each attempt, or each queue worker that ran one of its tasks (`planner worker --name`).",
    )
    tasks: list[TaskOut] = Field(
        default_factory=list, description="On the distributed queue: its independent parts, each with the workers that ran it. Empty with the embedded runner."
    )
    request: dict[str, Any]
    links: dict[str, str]


class JobPage(Page):
    items: list[JobOut]


class JobQuery(PageQuery):
    status: JobStatus | None = None
    scenario: str | None = Field(default=None, max_length=40, description="Only jobs of this scenario id.")


# --- plans ---------------------------------------------------------------------------------------------


class PlanOut(Body):
    id: str
    scenario_id: str
    scenario_version: int
    job_id: str | None
    settings: SolveSettings
    planner_version: str
    backend: str
    created_at: datetime
    plan: Plan
    links: dict[str, str]


class PlanSummary(Body):
    model_config = example(
        {
            "id": "plan_0d9b7e25c4a18f36",
            "scenario_id": "sc_1f0c9a7be42d3c51",
            "scenario_version": 2,
            "status": "optimal",
            "objective": 1203.0,
            "backend": "cpsat",
            "created_at": "2026-11-30T09:13:09Z",
            "links": {"self": "/plans/plan_0d9b7e25c4a18f36"},
        }
    )

    id: str
    scenario_id: str
    scenario_version: int
    status: str
    objective: float | None
    backend: str
    created_at: datetime
    links: dict[str, str]


class PlanPage(Page):
    items: list[PlanSummary]


class PlanQuery(Body):
    format: PlanFormat = Field(default="json", description="json (the plan object), csv (one row per initiative) or md (a report).")
    view: ViewName | None = Field(default=None, description="One audience's view of the plan instead of the plan itself.")


class PlanListQuery(PageQuery):
    scenario: str | None = Field(default=None, max_length=40, description="Only plans of this scenario id.")


class CounterfactualRequest(Body):
    """A what-if on a plan, run as a job: the what-ifs of one initiative (forced in, out, earlier; the capacity
    and the value with which it fits), or a re-solve with initiatives forced in or out."""

    model_config = example({"initiative": "support-chatbot"})

    initiative: str | None = Field(default=None, max_length=200, description="Explain this initiative's what-ifs.")
    force_in: list[str] = Field(default_factory=list, max_length=1000, description="Re-solve with these scheduled.")
    force_out: list[str] = Field(default_factory=list, max_length=1000, description="Re-solve with these left out.")
    time_limit: float | None = Field(
        default=None,
        gt=0,
        description="Seconds for the job in all: the initiative's re-solves, or the re-solve and its reasons; the plan's own time limit when left out.",
    )


# --- comparisons and sweeps ----------------------------------------------------------------------------


class VersionRef(Body):
    id: str = Field(max_length=40)
    version: int | None = Field(default=None, ge=1, description="The newest when left out.")


class ComparisonRequest(Body):
    """Compare plans already made (the first is the base), or scenario versions, which a job solves first."""

    model_config = example({"scenarios": [{"id": "sc_1f0c9a7be42d3c51"}, {"id": "sc_8a2e4b6d0c1f3e57", "version": 2}], "settings": {"time_limit": 10}})

    plans: list[str] = Field(default_factory=list, max_length=20)
    scenarios: list[VersionRef] = Field(default_factory=list, max_length=20)
    settings: SolveSettings = Field(default_factory=SolveSettings, description="How each scenario version is solved.")


class FormatQuery(Body):
    format: Literal["json", "md"] = Field(default="json", description="json (the comparison object) or md (a report).")


class ComparisonOut(Body):
    id: str
    plans: list[str] = Field(description="The plans compared, base first.")
    created_at: datetime
    comparison: Comparison
    links: dict[str, str]


class SweepRequest(Body):
    """A trade-off curve, as `planner sweep` draws it, run as a job."""

    model_config = example({"knob": "capacity", "team": "ml", "low": -0.2, "high": 0.3, "steps": 6, "settings": {"time_limit": 5}})

    version: int | None = Field(default=None, ge=1)
    knob: Literal["capacity", "invisible_floor", "confidence"]
    team: str | None = Field(default=None, max_length=200, description="capacity: the team to scale; every team when left out.")
    low: float = Field(
        ge=-0.95,
        le=10,
        description="capacity: the change at the first point (-0.2 = 20% less); invisible_floor: the first floor; confidence: the first confidence asked.",
    )
    high: float = Field(ge=-0.95, le=10)
    steps: int = Field(default=6, ge=2, le=50)
    settings: SolveSettings = Field(default_factory=SolveSettings)


class SweepResult(Body):
    curve: Sweep


class SimulationRequest(Body):
    """A Monte Carlo of a plan, as `planner simulate` runs it, as a job: of a plan already made, or of the one a
    solve with `settings` returns."""

    model_config = example({"samples": 1000, "seed": 0, "settings": {"time_limit": 10, "confidence": 0.9}})

    version: int | None = Field(default=None, ge=1, description="The version to solve (without `plan`); the newest when left out.")
    plan: str | None = Field(default=None, max_length=200, description="A plan of this scenario to simulate, instead of solving it.")
    samples: int = Field(default=1000, ge=100, le=100_000, description="Samples to draw.")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="The samples' seed: the same seed gives the same result.")
    settings: SolveSettings = Field(default_factory=SolveSettings, description="The solve's settings, without `plan`.")


# --- tokens and health ---------------------------------------------------------------------------------


class TokenRequest(Body):
    model_config = example({"name": "ci", "role": "viewer"})

    name: str = Field(min_length=1, max_length=200)
    role: Role


class TokenOut(Body):
    model_config = example(_TOKEN)

    id: str
    name: str
    role: Role
    workspace: str
    created_at: datetime
    revoked_at: datetime | None


class NewToken(TokenOut):
    model_config = example({**_TOKEN, "token": "pp_tok_1c93530b1bde0ce6_Q6kBMpIlBjzG4PV3I5QxVCKjJiRvMjOuL9UKE9qAyR4"})

    token: str = Field(description="The bearer token. It is shown only now; the service keeps only its hash.")


class TokenList(Body):
    model_config = example({"items": [_TOKEN]})

    items: list[TokenOut]


class Health(Body):
    model_config = example({"status": "ok", "version": "0.1.0"})

    status: Literal["ok"]
    version: str


class Readiness(Body):
    model_config = example({"status": "ready", "database": "ok", "workers": 2})

    status: Literal["ready"]
    database: Literal["ok"]
    workers: int = Field(description="Solver processes alive in the job runner.")
