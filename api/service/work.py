"""What each kind of job does, in three steps.

`prepare` (in the service, with the database) turns a job row into a self-contained payload and the
seconds it may take; `run` (in a solver process, without the database) does the solving; `apply` (in
the service again) stores what came back. Every plan a job makes is re-checked by the solver-free
checker before it is stored: a plan that breaks a rule fails its job instead of reaching a user.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from api.service import store
from api.service.db import ComparisonRecord, JobRecord, PlanRecord, new_id
from planner import __version__
from planner.check import check_plan
from planner.compare import changes, compare
from planner.explanation import Explanation
from planner.plan import Plan
from planner.scenario import Scenario
from planner.settings import PlanStatus, SolveSettings, TimeSplit, split_time
from planner.simulation import Tally, report, simulate, tally_block
from planner.sweep import Knob, assemble, label, point_scenario, point_settings, settings_between, solve_points
from planner.uncertainty import BLOCK, blocks

Report = Callable[..., None]
GRACE_SECONDS = 60.0  # on top of a job's own limits: process start-up, loading, checking
SIMULATION_SECONDS = 60.0  # what a simulation may take: 10,000 samples of a 500-initiative plan took 1.8 s here (docs/benchmarks.md)


def warm_up() -> None:
    """Import the solvers before the first job, so a job's time is spent solving."""
    import solver.cpsat
    import solver.explain  # noqa: F401


# --- in the service: payloads ----------------------------------------------------------------------------


def solver_time(kind: str, request: dict[str, Any], plan_time_limit: float | None = None) -> tuple[float, str]:
    """The most solver time a job may take (before `GRACE_SECONDS`) and how it adds up, in words: the runner
    stops the job after it, and the service refuses a job asking for more than its `max_job_seconds`.
    `request` is the job's request as stored; a counterfactual without a `time_limit` takes its plan's. A time
    limit covers a solve's search and its reasons together, as `planner solve --time-limit` does."""
    if kind in ("solve", "counterfactual"):
        limit = request.get("time_limit") or plan_time_limit or SolveSettings().time_limit
    else:
        limit = SolveSettings.model_validate(request.get("settings") or {}).time_limit
    if kind == "solve":
        return limit, f"{limit:g} s, the search and its reasons together"
    if kind == "counterfactual":
        if request.get("initiative"):
            return limit, f"{limit:g} s for its re-solves"
        return limit, f"{limit:g} s, the re-solve and its reasons together"
    if kind == "comparison":
        count = len(request["scenarios"])
        return count * limit, f"{count} scenarios, each solved and explained in {limit:g} s"
    if kind == "sweep":
        return request["steps"] * limit, f"{request['steps']} steps x {limit:g} s"
    if kind == "simulation":
        if request.get("plan"):
            return SIMULATION_SECONDS, f"{SIMULATION_SECONDS:g} s to simulate a plan made already"
        return limit + SIMULATION_SECONDS, f"{limit:g} s to solve, {SIMULATION_SECONDS:g} s to simulate"
    raise ValueError(f"unknown job kind {kind!r}")


def prepare(session: Session, job: JobRecord) -> tuple[dict[str, Any], float]:
    request = job.request
    if job.kind == "solve":
        scenario = _scenario(session, job.workspace_id, job.scenario_id, job.scenario_version)
        settings = SolveSettings.model_validate({k: v for k, v in request.items() if k in SolveSettings.model_fields})
        return {
            "kind": "solve",
            "scenario": scenario,
            "settings": settings.model_dump(mode="json"),
            "reasons": request.get("reasons", True),
            "reasons_time": request.get("reasons_time"),
            "policy_costs": request.get("policy_costs", False),
        }, solver_time("solve", request)[0] + GRACE_SECONDS
    if job.kind == "counterfactual":
        record = store.plan_record(session, job.workspace_id, request["plan_id"])
        planned = store.scenario_of_plan(session, record)
        plan = store.plan_of(record)
        seconds, _ = solver_time("counterfactual", request, plan.settings.time_limit)
        return {
            "kind": "counterfactual",
            "scenario": planned.model_dump(mode="json"),
            "plan": record.body,
            "time_limit": request.get("time_limit") or plan.settings.time_limit,
            **{k: request.get(k) for k in ("initiative", "force_in", "force_out")},
        }, seconds + GRACE_SECONDS
    if job.kind == "comparison":
        settings = SolveSettings.model_validate(request["settings"])
        scenarios = [_scenario(session, job.workspace_id, ref["id"], ref["version"]) for ref in request["scenarios"]]
        seconds, _ = solver_time("comparison", request)
        return {"kind": "comparison", "scenarios": scenarios, "settings": settings.model_dump(mode="json")}, seconds + GRACE_SECONDS
    if job.kind == "sweep":
        scenario = _scenario(session, job.workspace_id, job.scenario_id, job.scenario_version)
        settings = SolveSettings.model_validate(request["settings"])
        return {
            "kind": "sweep",
            "scenario": scenario,
            "knob": request["knob"],
            "team": request.get("team"),
            "points": settings_between(request["low"], request["high"], request["steps"]),
            "settings": settings.model_dump(mode="json"),
        }, solver_time("sweep", request)[0] + GRACE_SECONDS
    if job.kind == "simulation":
        scenario = _scenario(session, job.workspace_id, job.scenario_id, job.scenario_version)
        given = store.plan_of(store.plan_record(session, job.workspace_id, request["plan"])) if request.get("plan") else None
        return {
            "kind": "simulation",
            "scenario": scenario,
            "plan": None if given is None else given.model_dump(mode="json"),
            "samples": request["samples"],
            "seed": request["seed"],
            "settings": SolveSettings.model_validate(request["settings"]).model_dump(mode="json"),
        }, solver_time("simulation", request)[0] + GRACE_SECONDS
    raise ValueError(f"unknown job kind {job.kind!r}")


def _scenario(session: Session, workspace: str, scenario_id: str | None, version: int | None) -> dict[str, Any]:
    # A job keeps the version it was asked for: deleting the scenario after it was queued does not stop it
    # (on the queue a job's parts read the version again, later).
    record = store.scenario_record(session, workspace, scenario_id or "", deleted=True)
    stored = store.version_record(session, record, version)
    return store.load_version(session, workspace, stored).scenario.model_dump(mode="json")


# --- in a solver process ---------------------------------------------------------------------------------


def run(payload: dict[str, Any], progress: Report) -> dict[str, Any]:
    kind = payload["kind"]
    if kind == "solve":
        scenario = Scenario.model_validate(payload["scenario"])
        settings = SolveSettings.model_validate(payload["settings"])
        reasons = payload["reasons"] or payload["policy_costs"]
        split = split_time(settings.time_limit, reasons=reasons, reasons_time=payload.get("reasons_time"))
        return {"plans": [_solved(scenario, settings, split, progress, policy_costs=payload["policy_costs"])]}
    if kind == "counterfactual":
        return _counterfactual(payload, progress)
    if kind == "simulation":
        return _simulated(payload, progress)
    if kind == "block":  # a block of a simulation's samples, on the queue
        played = Plan.model_validate(payload["plan"])
        return {"tally": tally_block(Scenario.model_validate(payload["scenario"]), played, payload["seed"], payload["block"], payload["size"]).as_json()}
    if kind == "comparison":
        plans = []
        for n, data in enumerate(payload["scenarios"]):
            progress({"stage": "solving", "done": n, "total": len(payload["scenarios"])}, force=True)
            plans.append(run({"kind": "scenario", "scenario": data, "settings": payload["settings"]}, progress)["plan"])
        return _compared(payload["scenarios"], plans)
    if kind == "search":  # a solve whose reasons are tasks of their own: the plan alone, in the search's share of the time
        scenario, settings = Scenario.model_validate(payload["scenario"]), SolveSettings.model_validate(payload["settings"])
        split = split_time(settings.time_limit, reasons=True, reasons_time=payload.get("reasons_time"))
        return {"plans": [_solved(scenario, settings, split, progress, reasons=False)]}
    if kind == "reasons":  # a part of a plan's explanation: some of its initiatives, and perhaps the prices
        from solver.explain import explain

        explanation = explain(
            Scenario.model_validate(payload["scenario"]),
            Plan.model_validate(payload["plan"]),
            initiatives=payload["initiatives"],
            prices=payload["prices"],
            counterfactuals=False,
            policy_costs=payload["prices"] and payload["policy_costs"],
            time_limit=payload["resolve"],
            budget=payload["budget"],
            on_progress=lambda done, total: progress({"stage": "explaining", "done": done, "total": total}),
        )
        return {"explanation": explanation.model_dump(mode="json")}
    if kind == "scenario":  # one scenario of a comparison, solved and explained within its time limit
        settings = SolveSettings.model_validate(payload["settings"])
        return {"plan": _solved(Scenario.model_validate(payload["scenario"]), settings, split_time(settings.time_limit, reasons=True), progress)}
    if kind in ("sweep", "point"):  # the whole curve, each point warm-started from the one before; or one point of it
        points = _points(payload, lambda done, total: progress({"stage": "sweeping", "done": done, "total": total}, force=True))
        if kind == "point":
            ((setting, plan, problem),) = points
            return {"point": [setting, None if plan is None else plan.model_dump(mode="json"), problem]}
        return {"curve": assemble(Scenario.model_validate(payload["scenario"]), Knob(payload["knob"]), payload["team"], points).model_dump(mode="json")}
    raise ValueError(f"unknown job kind {kind!r}")


def _points(payload: dict[str, Any], on_point: Callable[[int, int], None]) -> list[tuple[float, Plan | None, str | None]]:
    from solver import solve

    scenario = Scenario.model_validate(payload["scenario"])
    knob = Knob(payload["knob"])
    settings = SolveSettings.model_validate(payload["settings"])
    points = solve_points(
        scenario,
        knob,
        payload["team"],
        payload["points"],
        lambda at, previous, setting: solve(at, point_settings(knob, setting, settings), warm_start=previous),
        on_point=on_point,
    )
    for setting, plan, _ in points:
        if plan is not None:
            _verified(plan, point_scenario(scenario, knob, setting, payload["team"]))
    return points


def _compared(scenarios: list[dict[str, Any]], plans: list[dict[str, Any]]) -> dict[str, Any]:
    solved = [(Scenario.model_validate(s), Plan.model_validate(p)) for s, p in zip(scenarios, plans)]
    return {"plans": plans, "comparison": compare(solved[0], solved[1:]).model_dump(mode="json")}


# --- on the queue: a job's independent parts ---------------------------------------------------------------


def parts(payload: dict[str, Any], seconds: float) -> list[tuple[str, dict[str, Any], float]]:
    """(label, payload, seconds) of each independent part of a job, which workers take one at a time: a
    sweep's points, a comparison's scenarios and a stored plan's simulation's blocks of samples. Any other job is one part, itself. A point is solved without
    the warm start from its neighbour that a sweep run in one process has: that is the price of spreading it."""
    kind = payload["kind"]
    if kind == "sweep":
        each = SolveSettings.model_validate(payload["settings"]).time_limit + GRACE_SECONDS
        return [(f"point {label(Knob(payload['knob']), s)}", {**payload, "kind": "point", "points": [s]}, each) for s in payload["points"]]
    if kind == "comparison":
        each = SolveSettings.model_validate(payload["settings"]).time_limit + GRACE_SECONDS
        return [
            (f"scenario {data.get('name', n)}", {"kind": "scenario", "scenario": data, "settings": payload["settings"]}, each)
            for n, data in enumerate(payload["scenarios"])
        ]
    if _spread(payload):
        # A plan's simulation, block by block (`planner.uncertainty.blocks`): the same outlook as in one process.
        return [
            (f"samples {k * BLOCK + 1}-{k * BLOCK + size}", {**payload, "kind": "block", "block": k, "size": size}, SIMULATION_SECONDS + GRACE_SECONDS)
            for k, size in enumerate(blocks(payload["samples"]))
        ]
    if kind == "solve" and (payload["reasons"] or payload["policy_costs"]):
        split = split_time(SolveSettings.model_validate(payload["settings"]).time_limit, reasons=True, reasons_time=payload.get("reasons_time"))
        return [("search", {**payload, "kind": "search"}, split.search + GRACE_SECONDS)]
    return [(kind, payload, seconds)]


def _spread(payload: dict[str, Any]) -> bool:
    """A simulation of a plan made already (with a solution) is spread over its blocks; one that solves first is one task."""
    return payload["kind"] == "simulation" and payload["plan"] is not None and PlanStatus(payload["plan"]["status"]).found


REASONS_PER_TASK = 50  # initiatives a task of reasons explains: 200 initiatives are 4 tasks


def followups(payload: dict[str, Any], results: list[dict[str, Any] | None]) -> list[tuple[str, dict[str, Any], float]]:
    """Parts that can start only when the first ones have ended: a solve's reasons, once its plan is found,
    as tasks of `REASONS_PER_TASK` initiatives each (the first one also prices the guardrails), sharing the
    reasons' time. A plan that was not found gets one task: its diagnosis."""
    if payload["kind"] != "solve" or not (payload["reasons"] or payload["policy_costs"]) or not results or results[0] is None:
        return []
    plan = results[0]["plans"][0]
    split = split_time(SolveSettings.model_validate(payload["settings"]).time_limit, reasons=True, reasons_time=payload.get("reasons_time"))
    ids = [i["id"] for i in payload["scenario"]["initiatives"]]
    chunks: list[list[str] | None] = (
        [ids[n : n + REASONS_PER_TASK] for n in range(0, len(ids), REASONS_PER_TASK)] or [[]] if PlanStatus(plan["status"]).found else [None]
    )
    # The reasons' share of the time limit is shared between the tasks: the job asks for as much solver time
    # in all as it does in one process, and more workers give it back sooner.
    budget = split.reasons / len(chunks)
    common = {
        "kind": "reasons",
        "scenario": payload["scenario"],
        "plan": plan,
        "policy_costs": payload["policy_costs"],
        "resolve": split.resolve,
        "budget": budget,
    }
    return [(f"reasons {n + 1}/{len(chunks)}", {**common, "initiatives": chunk, "prices": n == 0}, budget + GRACE_SECONDS) for n, chunk in enumerate(chunks)]


def join(payload: dict[str, Any], results: list[dict[str, Any] | None], errors: list[str | None]) -> dict[str, Any]:
    """The job's result from its parts' results, in the parts' order. A sweep's point that failed is a point
    without a plan, saying why; a comparison needs every scenario's plan, so a failed one fails the job."""
    kind = payload["kind"]
    if kind == "sweep":
        solved: list[tuple[float, Plan | None, str | None]] = []
        for setting, result, error in zip(payload["points"], results, errors):
            if result is None:
                solved.append((setting, None, f"its solve failed: {error}"))
            else:
                at, plan, problem = result["point"]
                solved.append((at, None if plan is None else Plan.model_validate(plan), problem))
        return {"curve": assemble(Scenario.model_validate(payload["scenario"]), Knob(payload["knob"]), payload["team"], solved).model_dump(mode="json")}
    if _spread(payload):  # the outlook from each block's tally, in block order
        failed_blocks = [f"{n + 1}: {error}" for n, error in enumerate(errors) if error is not None]
        if failed_blocks:
            raise ValueError("a block of samples failed, " + "; ".join(failed_blocks))
        scenario, plan = Scenario.model_validate(payload["scenario"]), Plan.model_validate(payload["plan"])
        shape = (len(plan.scheduled), len(scenario.teams), len(scenario.periods))
        tallies = [Tally.from_json(r["tally"], *shape) for r in results if r is not None]
        return {"plans": [], "simulation": report(scenario, plan, tallies, payload["seed"]).model_dump(mode="json")}
    if kind == "solve" and len(results) > 1:  # the plan, with its reasons gathered from their tasks
        return {"plans": [_explained(payload, results, errors).model_dump(mode="json")]}
    failed = [f"{n + 1}: {error}" for n, error in enumerate(errors) if error is not None]
    if failed:
        raise ValueError(("a scenario failed, " if kind == "comparison" else "") + "; ".join(failed))
    if kind == "comparison":
        return _compared(payload["scenarios"], [r["plan"] for r in results if r is not None])
    (result,) = results
    assert result is not None
    return result


def _solved(
    scenario: Scenario, settings: SolveSettings, split: TimeSplit, progress: Report, *, policy_costs: bool = False, reasons: bool = True
) -> dict[str, Any]:
    """Solve within the search's share of the time limit, then explain (when the split keeps time for the
    reasons, and `reasons` asks for them here rather than in tasks of their own) within what is left of it."""
    from solver import solve
    from solver.explain import explain

    def solving(objective: float, bound: float, seconds: float) -> None:
        progress({"stage": "solving", "objective": objective, "bound": None if math.isnan(bound) else bound})  # NaN: no bound yet

    began = time.perf_counter()
    plan = solve(scenario, settings, on_progress=solving, search_time=split.search)
    progress({"stage": "checking", "objective": plan.objective, "bound": plan.best_bound}, force=True)
    _verified(plan, scenario)
    if split.reasons and reasons:
        explanation = explain(
            scenario,
            plan,
            counterfactuals=False,
            policy_costs=policy_costs,
            time_limit=split.resolve,
            budget=split.left(began),
            on_progress=lambda done, total: progress({"stage": "explaining", "done": done, "total": total}),
        )
        plan = plan.model_copy(update={"explanation": explanation})
    return plan.model_dump(mode="json")


def _verified(plan: Plan, scenario: Scenario) -> None:
    if not plan.status.found:
        return
    violations = check_plan(scenario, plan)
    if violations:
        raise RuntimeError(f"the solver's plan breaks {len(violations)} rule(s), first: {violations[0]}")


def _simulated(payload: dict[str, Any], progress: Report) -> dict[str, Any]:
    """The plan given, or the one a solve (without reasons) returns, simulated; a solved plan is stored with the job."""
    scenario = Scenario.model_validate(payload["scenario"])
    plans: list[dict[str, Any]] = []
    if payload["plan"] is None:
        settings = SolveSettings.model_validate(payload["settings"])
        plans = [_solved(scenario, settings, split_time(settings.time_limit, reasons=False), progress)]
        plan = Plan.model_validate(plans[0])
    else:
        plan = Plan.model_validate(payload["plan"])
    if not plan.status.found:
        return {"plans": plans, "simulation": None, "message": f"no plan to simulate: {plan.message}"}
    progress({"stage": "simulating", "objective": plan.objective, "bound": plan.best_bound}, force=True)
    result = simulate(scenario, plan, payload["samples"], payload["seed"])
    return {"plans": plans, "simulation": result.model_dump(mode="json")}


def _counterfactual(payload: dict[str, Any], progress: Report) -> dict[str, Any]:
    from solver.explain import explain

    scenario = Scenario.model_validate(payload["scenario"])
    plan = Plan.model_validate(payload["plan"])
    limit = payload["time_limit"]
    if payload.get("initiative"):
        explanation = explain(
            scenario,
            plan,
            initiative=payload["initiative"],
            counterfactuals=True,
            time_limit=split_time(limit, reasons=True, explaining=True).resolve,
            budget=limit,
            on_progress=lambda done, total: progress({"stage": "explaining", "done": done, "total": total}),
        )
        return {"explanation": explanation.model_dump(mode="json")}
    settings = plan.settings.model_copy(update={"force_in": payload["force_in"] or [], "force_out": payload["force_out"] or [], "time_limit": limit})
    new = Plan.model_validate(_solved(scenario, settings, split_time(limit, reasons=True), progress))
    return {"plans": [new.model_dump(mode="json")], "changes": [c.model_dump(mode="json") for c in changes((scenario, plan), (scenario, new))]}


# --- in the service: results -----------------------------------------------------------------------------


def apply(session: Session, job: JobRecord, result: dict[str, Any]) -> None:
    plans = [_store_plan(session, job, Plan.model_validate(body), ref) for body, ref in zip(result.get("plans", []), _plan_sources(job))]
    if plans:
        job.plan_id = plans[-1].id
    if job.kind == "comparison":
        comparison = ComparisonRecord(id=new_id("cmp"), workspace_id=job.workspace_id, plan_ids=[p.id for p in plans], body=result["comparison"])
        session.add(comparison)
        job.result = {"comparison_id": comparison.id, "plans": [p.id for p in plans]}
    elif job.kind == "counterfactual":
        job.result = {k: v for k, v in result.items() if k != "plans"}
    elif job.kind == "sweep":
        job.result = result
    elif job.kind == "simulation":
        job.result = {k: v for k, v in result.items() if k != "plans"} | ({"plan": job.request["plan"]} if job.request.get("plan") else {})


def _plan_sources(job: JobRecord) -> list[tuple[str, int]]:
    if job.kind == "comparison":
        return [(ref["id"], ref["version"]) for ref in job.request["scenarios"]]
    return [(job.scenario_id or "", job.scenario_version or 0)]


def _store_plan(session: Session, job: JobRecord, plan: Plan, source: tuple[str, int]) -> PlanRecord:
    record = PlanRecord(
        id=new_id("plan"),
        workspace_id=job.workspace_id,
        scenario_id=source[0],
        scenario_version=source[1],
        job_id=job.id,
        settings=plan.settings.model_dump(mode="json"),
        planner_version=__version__,
        backend=plan.backend,
        status=plan.status.value,
        objective=plan.objective,
        body=plan.model_dump(mode="json"),
    )
    session.add(record)
    session.flush()
    return record


def _explained(payload: dict[str, Any], results: list[dict[str, Any] | None], errors: list[str | None]) -> Plan:
    """The search's plan with one explanation made of its reasons' tasks: their initiatives in the scenario's
    order, the prices from the first, the re-solves added up. A task that failed leaves its initiatives
    unexplained (and the prices unpriced), as a budget that ran out would."""
    if results[0] is None:
        raise ValueError(f"the search failed: {errors[0]}")
    plan = Plan.model_validate(results[0]["plans"][0])
    pairs = list(zip(followups(payload, results[:1]), results[1:]))
    done = [(part, Explanation.model_validate(r["explanation"])) for (_, part, _), r in pairs if r is not None]
    missed = [i for (_, part, _), r in pairs if r is None for i in (part["initiatives"] or [])]
    position = {i["id"]: n for n, i in enumerate(payload["scenario"]["initiatives"])}
    first = next((e for part, e in done if part["prices"]), None)
    unpriced = [] if first is not None or not payload["policy_costs"] else ["guardrails"]
    explanations = [e for _, e in done]
    explanation = Explanation(
        scenario=plan.scenario,
        status=plan.status,
        objective=plan.objective,
        initiatives=sorted((i for e in explanations for i in e.initiatives), key=lambda i: position[i.id]),
        policy_costs=first.policy_costs if first else [],
        joint_costs=first.joint_costs if first else [],
        diagnosis=next((e.diagnosis for e in explanations if e.diagnosis is not None), None),
        what_ifs=False,
        unexplained=sorted({*(i for e in explanations for i in e.unexplained), *missed}, key=lambda i: position.get(i, 0)),
        unpriced=sorted({*(first.unpriced if first else []), *unpriced}),
        resolves=sum(e.resolves for e in explanations),
        seconds=max((e.seconds for e in explanations), default=0.0),
    )
    return plan.model_copy(update={"explanation": explanation})
