"""The decision-variable container of the formulation (`solver.formulation`), and the windows it is built on.

`Variables` gives the formulation's variables, which are plain indices, a small vocabulary
(`v.starts(i)`, `v.selected(i)`, `v.load_terms(team, p)`) and one way to read a solution back
(`placements`). The value objective and the tie-break weights are read from it, so every backend
optimises the same integers.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

from planner.plan import Placement, Plan, PlanStatus, SolveSettings, build_plan, is_required
from planner.scenario import Initiative, Objective, Scenario
from planner.scoring import finish_value, stability_cost
from planner.settings import Backend

Var = int
"""A variable of the formulation: its index. Each backend makes one solver variable per index."""


class Variables:
    """Every decision variable: start[i, p], chosen[i], serve[i, need, team, p], and the load they put on teams."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._start: dict[str, list[tuple[int, Var]]] = defaultdict(list)
        self._serve: dict[tuple[str, int, int], list[tuple[str, Var]]] = defaultdict(list)
        self._chosen: dict[str, Var] = {}
        # (team, period) -> [(hundredths, variable, initiative id)]
        self._load: dict[tuple[str, int], list[tuple[int, Var, str]]] = defaultdict(list)

    # --- building ---

    def add_chosen(self, initiative_id: str, variable: Var) -> None:
        self._chosen[initiative_id] = variable

    def add_start(self, initiative_id: str, period: int, variable: Var) -> None:
        self._start[initiative_id].append((period, variable))

    def add_serve(self, initiative_id: str, need: int, period: int, team: str, variable: Var) -> None:
        self._serve[initiative_id, need, period].append((team, variable))

    def add_load(self, team: str, period: int, amount: int, variable: Var, initiative_id: str) -> None:
        self._load[team, period].append((amount, variable, initiative_id))

    # --- reading ---

    def starts(self, initiative_id: str) -> list[tuple[int, Var]]:
        """(period index, variable) for every start the initiative's window allows."""
        return self._start.get(initiative_id, [])

    def all_starts(self) -> list[tuple[str, int, Var]]:
        return [(i, p, variable) for i, starts in self._start.items() for p, variable in starts]

    def serving(self, initiative_id: str, need: int, period: int) -> list[tuple[str, Var]]:
        """(team, variable) for each qualified team that may carry a skill need when started in `period`."""
        return self._serve.get((initiative_id, need, period), [])

    def selected(self, initiative_id: str) -> Var | None:
        """Its `chosen` variable, or None when no start is allowed (it cannot be scheduled)."""
        return self._chosen.get(initiative_id)

    def load_terms(
        self, team: str, period: int, *, invisible_only: bool = False, kinds: set[str] | None = None, other_than: set[str] | None = None
    ) -> list[tuple[int, Var]]:
        """(hundredths, variable) pairs whose sum is the team's load in the period: of invisible work only, of
        work of `kinds` only, or of work of kinds other than `other_than`."""
        terms = self._load.get((team, period), [])
        by_id = self.scenario.initiative_by_id
        if invisible_only:
            terms = [t for t in terms if self.scenario.is_invisible(by_id[t[2]])]
        if kinds is not None:
            terms = [t for t in terms if by_id[t[2]].kind in kinds]
        if other_than is not None:
            terms = [t for t in terms if by_id[t[2]].kind not in other_than]
        return [(amount, variable) for amount, variable, _ in terms]

    def can_load(self, team: str, period: int) -> bool:
        return bool(self._load.get((team, period)))

    def placements(self, is_set: Callable[[Var], bool]) -> dict[str, Placement]:
        """The decisions read back from a solution (`is_set(variable)` says whether a binary is 1)."""
        out: dict[str, Placement] = {}
        for initiative in self.scenario.initiatives:
            start = next((p for p, variable in self.starts(initiative.id) if is_set(variable)), None)
            if start is None:
                continue
            teams = [
                need.team if need.team is not None else next(t for t, var in self.serving(initiative.id, n, start) if is_set(var))
                for n, need in enumerate(initiative.all_needs)
            ]
            out[initiative.id] = Placement(start=start, teams=tuple(teams))
        return out

    def decision_values(self, placements: dict[str, Placement]) -> dict[Var, int]:
        """The decision variables' values in a known plan (chosen, start, serve): what a backend is given to
        start its search from. The other variables (shortfalls, synergies, periods used) are left to it."""
        values: dict[Var, int] = {}
        for initiative in self.scenario.initiatives:
            chosen = self.selected(initiative.id)
            if chosen is None:
                continue
            placed = placements.get(initiative.id)
            values[chosen] = int(placed is not None)
            for p, start in self.starts(initiative.id):
                started = placed is not None and placed.start == p
                values[start] = int(started)
                for n in range(len(initiative.all_needs)):
                    for team, serve in self.serving(initiative.id, n, p):
                        values[serve] = int(started and placed is not None and placed.teams[n] == team)
        return values

    def value_terms(self) -> tuple[list[tuple[int, Var]], int]:
        """The value objective as (thousandths, variable) terms plus a constant, both backends' alike.

        A start earns the initiative's decayed value for finishing when it would, less the cost of moving
        it from where the previous plan started it. Dropping an initiative of the previous plan costs
        `drop_cost`: written as the constant `-drop_cost` earned back by `chosen`, it needs no variable.
        """
        s = self.scenario
        by_id = s.initiative_by_id
        previous = s.previous_start
        terms = [
            (finish_value(s, by_id[i], p + by_id[i].duration - 1) - stability_cost(s.policies, previous.get(i), p), variable)
            for i, p, variable in self.all_starts()
        ]
        constant = 0
        for i, before in previous.items():
            drop = stability_cost(s.policies, before, None)
            constant -= drop
            chosen = self.selected(i)
            if chosen is not None and drop:
                terms.append((drop, chosen))
        return terms, constant

    def tie_break_weights(self) -> list[tuple[int, Var]]:
        """Second-phase weights that keep the objective: start work early, earlier-listed initiatives
        first (a start at p costs p x (2n - position)), and leave out work that adds nothing (+1)."""
        n = len(self.scenario.initiatives)
        position = {i.id: k for k, i in enumerate(self.scenario.initiatives)}
        return [(p * (2 * n - position[i]) + 1, variable) for i, p, variable in self.all_starts()]


def tightened(
    scenario: Scenario,
    settings: SolveSettings,
    window_of: Callable[[Initiative], range],
    *,
    finish_by: int | None = None,
    tails: bool = True,
) -> Callable[[Initiative], range]:
    """Each initiative's starts (`window_of`) without those no plan can use: fewer variables, same optimum.

    Heads: an initiative cannot start before each prerequisite could finish (its earliest start plus its
    duration, down the whole chain). Tails, with `tails`: a prerequisite of a required initiative (one
    every plan schedules) must finish before that initiative's latest start. `finish_by`: every plan worth
    finding finishes within that many periods (makespan mode, given a plan that does). Why: dependency
    rows grow with the product of two windows, and long horizons of short periods (a project scheduled by
    the day) leave most starts unusable; cutting them is what lets those models solve in seconds.
    """
    by_id = scenario.initiative_by_id
    order: list[str] = []
    seen: set[str] = set()

    def visit(initiative_id: str) -> None:  # prerequisites first; the scenario has no cycles
        if initiative_id not in seen:
            seen.add(initiative_id)
            for prerequisite in by_id[initiative_id].depends_on:
                visit(prerequisite)
            order.append(initiative_id)

    for initiative in scenario.initiatives:
        visit(initiative.id)
    first: dict[str, int] = {}
    last: dict[str, int] = {}  # the latest start, inclusive
    for i in order:
        allowed = window_of(by_id[i])
        first[i] = max([allowed.start] + [first[p] + by_id[p].duration for p in by_id[i].depends_on])
        last[i] = allowed.stop - 1
        if finish_by is not None:
            last[i] = min(last[i], finish_by - by_id[i].duration)
        if any(first[p] > last[p] for p in by_id[i].depends_on):
            last[i] = -1  # a prerequisite cannot be scheduled, so neither can this
    if tails:
        for i in reversed(order):
            if last[i] < first[i] or not (is_required(by_id[i], scenario) or i in settings.force_in):
                continue
            for p in by_id[i].depends_on:
                last[p] = min(last[p], last[i] - by_id[p].duration)
    windows = {i: range(first[i], max(first[i], last[i] + 1)) for i in order}
    return lambda initiative: windows[initiative.id]


def periods_used(scenario: Scenario, plan: dict[str, Placement] | None) -> int | None:
    """In makespan mode, the periods a known plan uses: no better plan needs more (`tightened`'s `finish_by`)."""
    if not plan or scenario.policies.objective is not Objective.makespan:
        return None
    return max(placed.start + scenario.initiative_by_id[i].duration for i, placed in plan.items())


def time_left(settings: SolveSettings, began: float) -> float:
    """What is left of the settings' time limit, counted from `began` (a `time.perf_counter()` instant): the
    limit covers building the model as well as the search. Never quite nothing: a solver given no time at
    all still answers with the first solution it holds."""
    return max(0.01, settings.time_limit - (time.perf_counter() - began))


def backend_plan(
    scenario: Scenario,
    settings: SolveSettings,
    placements: dict[str, Placement],
    status: PlanStatus,
    best_bound: float | None,
    *,
    began: float,
    backend: Backend,
    solver_name: str | None = None,
    found_by: str | None = None,
    bound_by: str | None = None,
) -> Plan:
    """What a backend returns: the plan built from its decisions (`build_plan`: the objective is recomputed,
    never read off the solver), timed from `began`, its status in words (led by the solver's name), with the
    searches that found it and proved its bound (by default the solver named)."""
    message = status_message(status, settings)
    if found_by and bound_by and found_by != bound_by and status is not PlanStatus.infeasible:
        message += f" ({found_by}'s plan, {bound_by}'s bound)"
    plan = build_plan(
        scenario,
        placements,
        status=status,
        best_bound=best_bound,
        solve_seconds=time.perf_counter() - began,
        backend=backend,
        settings=settings,
        message=f"{solver_name}: {message}" if solver_name else message,
    )
    found_by = (found_by or solver_name) if plan.objective is not None else None
    bound_by = (bound_by or solver_name) if plan.best_bound is not None or status is PlanStatus.infeasible else None
    return plan.model_copy(update={"found_by": found_by, "bound_by": bound_by})


def status_message(status: PlanStatus, settings: SolveSettings) -> str:
    return {
        PlanStatus.optimal: "proven optimal",
        PlanStatus.feasible: f"the {settings.time_limit:g} s search limit came before a proof of optimality",
        PlanStatus.infeasible: "no plan meets every hard constraint",
        PlanStatus.unknown: f"no plan found within the {settings.time_limit:g} s search limit",
    }[status]
