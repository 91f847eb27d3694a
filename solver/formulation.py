"""The constraint model, written once: a solver-neutral description that every backend compiles.

Formulation: time-indexed starts. `start[i, p]` is true when initiative i starts in period p; only the
periods its window allows get a variable, so earliest starts, deadlines and committed starts are
domain restrictions rather than rows. A skill need gets one `serve[i, skill, team, p]` per qualified
team and start. Why time-indexed: planning horizons are short (4 quarters to ~100 weeks), loads are
per period and uneven (effort spread with the remainder on the earliest periods), and this form gives
the LP relaxation (CP-SAT's, HiGHS's, CBC's) the tightest capacity and precedence rows: a dependent
may start at p only if a prerequisite started early enough, one row per start rather than one big-M
row per pair.

The model is data. Variables are indices (`solver.variables.Var`); each row is linear, in integers
(hundredths of the unit, `SHARE_SCALE` ten-thousandths of a share, thousandths of value), and may
also say it is one of the typed forms a solver can use natively:

- `exactly_one` of some literals   (a literal is a variable or its negation)
- `at_most_one` of some literals
- `clause`: at least one literal true; an implication `a -> (b or c)` is the clause `(not a, b, c)`

A typed row's linear meaning is derived from its literals (`Row.linear`), so it cannot drift from them.
Each row is named from domain ids in the vocabulary of `planner.rules` (`capacity[web, 2027-Q1]`),
and carries the business rule a diagnosis may drop (`Row.rule`). The constraint families are listed
in `FAMILIES`, in the order the scenario file reads; each is one function with a docstring saying
what it holds. The objective and the tie-break are part of the description too.

Backends: `solver.cpsat` (CP-SAT), `solver.milp` (PuLP with HiGHS or CBC). A backend may add
strengthening of its own only if it is redundant: it must not change which plans are feasible.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from itertools import combinations
from typing import Literal

from planner.allocations import floor_amount, floors, penalty, reserved, reserves_of, teams_of
from planner.plan import SolveSettings, is_required, need_loads, window
from planner.quantities import SHARE_SCALE, hundredths, plain_number
from planner.rules import Rule, RuleKind, need_name, pair, rule_name
from planner.scenario import Initiative, Objective, Scenario
from planner.scoring import thousandths
from solver.variables import Var, Variables, tightened

Sense = Literal["<=", ">=", "=="]


class Form(str, Enum):
    linear = "linear"
    exactly_one = "exactly_one"
    at_most_one = "at_most_one"
    clause = "clause"


_TYPED_SENSE: dict[Form, Sense] = {Form.exactly_one: "==", Form.at_most_one: "<=", Form.clause: ">="}


@dataclass(frozen=True, slots=True)
class Row:
    """One constraint, named from domain ids: `sum(coefficient x variable) (sense) rhs`, or a typed form over
    literals (the variables in `positive`, and the negations of those in `negative`)."""

    kind: str
    ids: tuple[str, ...]
    form: Form
    terms: list[tuple[int, Var]] = field(default_factory=list)
    sense: Sense = "<="
    rhs: int = 0
    positive: list[Var] = field(default_factory=list)
    negative: list[Var] = field(default_factory=list)
    rule: Rule | None = None
    enforced_by: Var | None = None  # a linear row that holds only when this binary is 1

    @property
    def name(self) -> str:
        return rule_name(self.kind, *self.ids)

    def linear(self, upper: list[int]) -> tuple[list[tuple[int, Var]], Sense, int]:
        """The row as `terms (sense) rhs`, given each variable's upper bound (every lower bound is 0).

        A typed row's is derived from its literals, `not x` counting as `1 - x`: exactly one is `== 1`, at
        most one `<= 1`, a clause `>= 1`, less one on the right for each negation. A row enforced by a
        binary x relaxes by the least M the bounds allow: `terms >= rhs` becomes `terms - M x >= rhs - M`,
        M = rhs - min(terms), so that with x = 0 it says nothing the bounds do not."""
        if self.form is not Form.linear:
            terms = [(1, var) for var in self.positive] + [(-1, var) for var in self.negative]
            return terms, _TYPED_SENSE[self.form], 1 - len(self.negative)
        if self.enforced_by is None:
            return self.terms, self.sense, self.rhs
        if self.sense == ">=":
            big_m = self.rhs - sum(a * upper[var] for a, var in self.terms if a < 0)
            return self.terms + [(-big_m, self.enforced_by)], ">=", self.rhs - big_m
        if self.sense == "<=":
            big_m = sum(a * upper[var] for a, var in self.terms if a > 0) - self.rhs
            return self.terms + [(big_m, self.enforced_by)], "<=", self.rhs + big_m
        raise ValueError(f"{self.name}: an enforced equality has no single linear row")


@dataclass
class Goal:
    """`sense` the weighted sum of `terms` plus `constant`."""

    sense: Literal["maximize", "minimize"]
    terms: list[tuple[int, Var]]
    constant: int = 0


class Formulation:
    """A scenario's model as data: variables, named rows, the objective and the tie-break."""

    def __init__(self, scenario: Scenario, settings: SolveSettings, *, finish_by: int | None = None, diagnosing: bool = False) -> None:
        """`finish_by`: in makespan mode, the periods a known plan uses; no start that ends later is created.

        With `diagnosing`, deadlines and committed starts are not domain restrictions but rows of their
        own (`deadline[i, p]`, `committed[i, p]`: start p is off limits), so that a diagnosis may drop them
        like any other business rule; and there is no objective, since a diagnosis only asks what can hold."""
        self.scenario = scenario
        self.settings = settings
        self.finish_by = finish_by
        self.diagnosing = diagnosing
        self._families: list[str] = []
        self._ids: list[tuple[str, ...]] = []
        self.upper: list[int] = []  # each variable's upper bound; 1 for a binary, all lower bounds are 0
        self.rows: list[Row] = []
        self.periods_used: Var | None = None  # makespan mode: the objective's variable
        self.extra_terms: list[tuple[int, Var]] = []  # objective terms beside the initiatives': soft floors' shortfalls, synergies
        self.v = Variables(scenario)
        _add_decisions(self)
        for family in FAMILIES:
            family(self)
        if diagnosing:
            _add_windows(self)
        self.objective = Goal("minimize", []) if diagnosing else _objective(self)
        self.tie_break: list[tuple[int, Var]] = self.v.tie_break_weights()

    # --- building ---

    def variable(self, family: str, *ids: str, upper: int = 1) -> Var:
        """A new variable (binary unless `upper` says otherwise), named like a row: `start[api, 2027-Q1]`."""
        self._families.append(family)
        self._ids.append(ids)
        self.upper.append(upper)
        return len(self.upper) - 1

    def name(self, var: Var) -> str:
        return rule_name(self._families[var], *self._ids[var])

    @property
    def names(self) -> list[str]:
        return [self.name(var) for var in range(len(self.upper))]

    def take_rows(self) -> list[Row]:
        """The rows, handed to the backend that compiles them; the formulation lets go of them, so that a large
        model's rows are not held beside the compiled model while the solver searches (measured: about 50 MB
        of 2,000 initiatives over 26 sprints). A formulation is compiled once."""
        rows, self.rows = self.rows, []
        return rows

    def parts(self, var: Var) -> tuple[str, tuple[str, ...]]:
        """A variable's family and ids, for a backend that spells names its own way."""
        return self._families[var], self._ids[var]

    def linear(
        self,
        kind: str,
        ids: tuple[str, ...],
        terms: list[tuple[int, Var]],
        sense: Sense,
        rhs: int,
        rule: Rule | None = None,
        enforced_by: Var | None = None,
    ) -> None:
        self.rows.append(Row(kind, ids, Form.linear, terms=terms, sense=sense, rhs=rhs, rule=rule, enforced_by=enforced_by))

    def typed(self, form: Form, kind: str, ids: tuple[str, ...], positive: list[Var], negative: list[Var] | None = None, rule: Rule | None = None) -> None:
        self.rows.append(Row(kind, ids, form, positive=positive, negative=negative or [], rule=rule))

    def window(self, initiative: Initiative) -> range:
        """Starts to create variables for: the window, or while diagnosing, all but the deadline and commitment."""
        if not self.diagnosing or initiative.id in self.settings.force_out or initiative.wont or initiative.in_progress is not None:
            return window(self.scenario, initiative, self.settings)
        first = self.scenario.period_index[initiative.earliest_start] if initiative.earliest_start else 0
        return range(first, len(self.scenario.periods) - initiative.duration + 1)


# --- decisions --------------------------------------------------------------------------------------


def _add_decisions(f: Formulation) -> None:
    """start[i, p] for each start the (tightened) window allows; chosen[i], true when one start is; for a
    skill need, serve[i, skill, team, p] per qualified team, exactly one of them when started at p. Each
    carrier of a need (the start itself, or a serve) puts the need's load on its team."""
    s, v = f.scenario, f.v
    # While diagnosing, deadlines and commitments are rules that may be dropped: no tails from them.
    window_of = tightened(s, f.settings, f.window, finish_by=f.finish_by, tails=not f.diagnosing)
    for initiative in s.initiatives:
        starts = list(window_of(initiative))
        if not starts:
            continue
        chosen = f.variable("chosen", initiative.id)
        v.add_chosen(initiative.id, chosen)
        for p in starts:
            v.add_start(initiative.id, p, f.variable("start", initiative.id, s.periods[p]))
        # chosen = the sum of the starts: exactly one of (the starts, not chosen).
        f.typed(Form.exactly_one, RuleKind.one_start, (initiative.id,), [var for _, var in v.starts(initiative.id)], [chosen])
        for n, need in enumerate(initiative.all_needs):
            loads = need_loads(need, initiative.duration)
            qualified = [t.id for t in s.teams if need.skill in t.skills]
            label = need_name(initiative, n)
            for p, started in v.starts(initiative.id):
                if need.team is not None:
                    carriers = [(need.team, started)]
                else:
                    for team in qualified:
                        v.add_serve(initiative.id, n, p, team, f.variable("serve", initiative.id, label, team, s.periods[p]))
                    carriers = v.serving(initiative.id, n, p)
                    # Started at p: exactly one qualified team carries the need.
                    f.typed(Form.exactly_one, RuleKind.needs, (initiative.id, label, s.periods[p]), [var for _, var in carriers], [started])
                for team, variable in carriers:
                    for offset, amount in enumerate(loads):
                        if amount:
                            v.add_load(team, p + offset, amount, variable, initiative.id)


# --- constraint families, in the order the scenario file reads ---------------------------------------


def add_capacity(f: Formulation) -> None:
    """Hard: each team's load in each period stays within its capacity (in exact hundredths)."""
    for team in f.scenario.teams:
        for k, label in enumerate(f.scenario.periods):
            if f.v.can_load(team.id, k):
                capacity = f.scenario.capacity(team.id)[k]
                rule = Rule(kind=RuleKind.capacity, team=team.id, period=label, limit=str(plain_number(capacity)))
                f.linear(RuleKind.capacity, (team.id, label), f.v.load_terms(team.id, k), "<=", hundredths(capacity), rule)


def add_required(f: Formulation) -> None:
    """Hard: mandatory and committed initiatives (every initiative in makespan mode, and forced-in ones) are scheduled.

    An initiative with no allowed start at all (forced out, or no room in its window) leaves an empty
    clause: the model is infeasible, as it should be."""
    makespan = f.scenario.policies.objective is Objective.makespan
    for initiative in f.scenario.initiatives:
        forced = initiative.id in f.settings.force_in
        if not (is_required(initiative, f.scenario) or forced):
            continue
        kind, rule = RuleKind.required, None
        ids: tuple[str, ...] = (initiative.id,)
        if forced:
            kind = RuleKind.force_in
        elif initiative.mandatory:
            kind = RuleKind.mandatory
            # In makespan mode every initiative is required anyway: dropping the flag would change nothing.
            rule = None if makespan else Rule(kind=RuleKind.mandatory, initiative=initiative.id)
        elif initiative.committed:
            kind, ids = RuleKind.committed, (initiative.id, initiative.committed)
            rule = None if makespan else Rule(kind=RuleKind.committed, initiative=initiative.id, period=initiative.committed)
        f.typed(Form.clause, kind, ids, [var for _, var in f.v.starts(initiative.id)], rule=rule)


def add_dependencies(f: Formulation) -> None:
    """Hard: a dependent starts at p only if each prerequisite started early enough to finish before p:
    start[i, p] -> one of start[prerequisite, q] with q + duration <= p; and with `depends_on_any`, only if
    one of the alternatives did: start[i, p] -> one of their starts that finish before p."""
    by_id = f.scenario.initiative_by_id
    for initiative in f.scenario.initiatives:
        for prerequisite in initiative.depends_on:
            duration = by_id[prerequisite].duration
            # Starts are listed in period order, so the starts in time for p are a prefix of the list.
            periods = [q for q, _ in f.v.starts(prerequisite)]
            before = [var for _, var in f.v.starts(prerequisite)]
            for p, started in f.v.starts(initiative.id):
                in_time = before[: bisect_right(periods, p - duration)]
                f.typed(Form.clause, RuleKind.depends_on, (initiative.id, prerequisite, f.scenario.periods[p]), in_time, [started])
        if initiative.depends_on_any:
            # start[i, p] -> one of the alternatives' starts that finish before p.
            alternatives = [(q + by_id[a].duration, var) for a in initiative.depends_on_any for q, var in f.v.starts(a)]
            for p, started in f.v.starts(initiative.id):
                in_time = [var for done, var in alternatives if done <= p]
                f.typed(Form.clause, RuleKind.depends_on_any, (initiative.id, f.scenario.periods[p]), in_time, [started])


def add_exclusions(f: Formulation) -> None:
    """Hard: of two initiatives that exclude each other, at most one is scheduled."""
    seen: set[tuple[str, str]] = set()
    for initiative in f.scenario.initiatives:
        for other in initiative.excludes:
            ids = pair(initiative.id, other)
            this, that = f.v.selected(initiative.id), f.v.selected(other)
            if ids in seen or this is None or that is None:
                continue
            seen.add(ids)
            # Of two, at most one is the clause "not this or not that": the form CP-SAT's presolve starts from.
            f.typed(Form.clause, RuleKind.excludes, ids, [], [this, that])


def add_choices(f: Formulation) -> None:
    """Hard: of each choice's options, at least `min` and at most `max` are scheduled (`min: 1, max: 1`:
    exactly one). An option that cannot be scheduled counts as not chosen."""
    for choice in f.scenario.choices:
        chosen = [var for option in choice.of if (var := f.v.selected(option)) is not None]
        if choice.min:
            rule = Rule(kind=RuleKind.choice_min, group=choice.id, limit=str(choice.min))
            if choice.min == 1:
                f.typed(Form.clause, RuleKind.choice_min, (choice.id,), chosen, rule=rule)
            else:
                f.linear(RuleKind.choice_min, (choice.id,), [(1, var) for var in chosen], ">=", choice.min, rule)
        if choice.max is not None and choice.max < len(chosen):
            rule = Rule(kind=RuleKind.choice_max, group=choice.id, limit=str(choice.max))
            if choice.max == 1:
                f.typed(Form.at_most_one, RuleKind.choice_max, (choice.id,), chosen, rule=rule)
            else:
                f.linear(RuleKind.choice_max, (choice.id,), [(1, var) for var in chosen], "<=", choice.max, rule)


def add_invisible_work_floor(f: Formulation) -> None:
    """Hard: in every period, invisible work is at least `min_share` of the organisation's capacity,
    at least `team_min_share` of each named team's capacity, and at most `max_share`.

    share >= floor is written `invisible x SHARE_SCALE >= floor x capacity`: exact in integers."""
    s = f.scenario
    policy = s.policies.invisible_work
    floor = int(policy.min_share * SHARE_SCALE)
    for k, label in enumerate(s.periods):
        org_capacity = sum(hundredths(s.capacity(t.id)[k]) for t in s.teams)
        invisible = [(a * SHARE_SCALE, var) for t in s.teams for a, var in f.v.load_terms(t.id, k, invisible_only=True)]
        if floor:
            rule = Rule(kind=RuleKind.invisible_floor, limit=str(policy.min_share))
            f.linear(RuleKind.invisible_floor, (label,), invisible, ">=", floor * org_capacity, rule)
        if policy.max_share is not None:
            rule = Rule(kind=RuleKind.invisible_cap, limit=str(policy.max_share))
            f.linear(RuleKind.invisible_cap, (label,), invisible, "<=", int(policy.max_share * SHARE_SCALE) * org_capacity, rule)
        for team, share in policy.team_min_share.items():
            capacity = hundredths(s.capacity(team)[k])
            if share and capacity:
                terms = [(a * SHARE_SCALE, var) for a, var in f.v.load_terms(team, k, invisible_only=True)]
                rule = Rule(kind=RuleKind.team_invisible_floor, team=team, limit=str(share))
                f.linear(RuleKind.team_invisible_floor, (team, label), terms, ">=", int(share * SHARE_SCALE) * capacity, rule)


def add_theme_shares(f: Formulation) -> None:
    """Hard: each bounded theme's share of all effort scheduled over the horizon stays within its bounds.

    share >= min  <=>  sum_i chosen_i x effort_i x (SCALE x [i in theme] - min) >= 0, exact in integers;
    a maximum is the same row with the signs turned."""
    s = f.scenario
    chosen = [(i, hundredths(i.total_effort), selected) for i in s.initiatives if (selected := f.v.selected(i.id)) is not None]
    for theme, bounds in s.policies.themes.items():
        for bound, sense, kind in ((bounds.min_share, 1, RuleKind.theme_min_share), (bounds.max_share, -1, RuleKind.theme_max_share)):
            if bound is None:
                continue
            share = int(bound * SHARE_SCALE)
            terms = [(sense * effort * (SHARE_SCALE * (i.theme == theme) - share), selected) for i, effort, selected in chosen]
            f.linear(kind, (theme,), terms, ">=", 0, Rule(kind=kind, theme=theme, limit=str(bound)))


def add_allocations(f: Formulation) -> None:
    """Reserves: on each team in each period, for every set T of the team's reserves, the load of work of
    kinds outside T stays within the capacity less T's reserves (T alone is the whole team's capacity row;
    together the rows say each reserve's kinds use it first and share what no reserve holds, and no
    other work touches it). Floors: listed work of the kinds takes at least `share` of the listed teams'
    capacity, per period or over the horizon (rounded up to a hundredth); a soft floor may fall short by
    `short[...]` hundredths, each costing its penalty in the objective."""
    s = f.scenario
    for team in s.teams:
        for k, label in enumerate(s.periods):
            reserves = reserves_of(s, team.id, label)  # a reserve that keeps nothing in the period only repeats a row without it
            capacity = hundredths(s.capacity(team.id)[k])
            for size in range(1, len(reserves) + 1):
                for held in combinations(reserves, size):
                    terms = f.v.load_terms(team.id, k, other_than={kind for a in held for kind in a.kinds})
                    if terms:
                        group = "+".join(a.name for a in held)
                        # A diagnosis drops (or lowers) one reserve at a time: a row of several goes with its first, so that
                        # dropping that reserve relaxes every row it is in (dropping another relaxes its own rows only).
                        first = held[0]
                        rule = Rule(kind=RuleKind.reserve, group=first.name, team=team.id, period=label, limit=str(first.share))
                        rhs = capacity - sum(reserved(a, capacity, label) for a in held)
                        f.linear(RuleKind.reserve, (team.id, group, label), terms, "<=", rhs, rule)
    for allocation in floors(s):
        if allocation.soft is not None and f.diagnosing:
            continue  # never what makes a scenario infeasible
        teams, kinds = teams_of(s, allocation), set(allocation.kinds)
        spans = [[k] for k in range(len(s.periods))] if allocation.over == "period" else [list(range(len(s.periods)))]
        for span in spans:
            when = s.periods[span[0]] if allocation.over == "period" else None
            capacity = sum(hundredths(s.capacity(t)[k]) for t in teams for k in span)
            terms = [term for t in teams for k in span for term in f.v.load_terms(t, k, kinds=kinds)]
            ids = (allocation.name, when) if when else (allocation.name,)
            rule = Rule(kind=RuleKind.allocation_floor, group=allocation.name, period=when, limit=str(allocation.share))
            if allocation.soft is not None:
                short = f.variable("short", *ids, upper=floor_amount(allocation, capacity))
                f.extra_terms.append((-penalty(allocation, 1), short))
                terms = [*terms, (1, short)]
            f.linear(RuleKind.allocation_floor, ids, terms, ">=", floor_amount(allocation, capacity), rule)


def add_targets(f: Formulation) -> None:
    """Hard: each KPI target is met: the outcomes of the scheduled initiatives add up to at least it (thousandths)."""
    for kpi, target in f.scenario.policies.targets.items():
        terms = [(thousandths(i.outcomes[kpi]), var) for i in f.scenario.initiatives if kpi in i.outcomes and (var := f.v.selected(i.id)) is not None]
        rule = Rule(kind=RuleKind.target, group=kpi, limit=str(target))
        f.linear(RuleKind.target, (kpi,), [t for t in terms if t[0]], ">=", thousandths(target), rule)


def add_synergies(f: Formulation) -> None:
    """Objective only: `together[s]` is true exactly when it can matter that every initiative of synergy s
    is scheduled. Worth value: it implies each one's `chosen` (so it is earned only with all of them).
    A cost: all of them imply it (so it is paid whenever they are all in). None without an objective."""
    if f.diagnosing or f.scenario.policies.objective is not Objective.value:
        return
    for synergy in f.scenario.synergies:
        chosen = [f.v.selected(i) for i in synergy.ids]
        amount = thousandths(synergy.value)
        if not amount or any(var is None for var in chosen):
            continue  # worth nothing, or one of them can never be scheduled
        members = [var for var in chosen if var is not None]
        together = f.variable("together", synergy.name)
        f.extra_terms.append((amount, together))
        if amount > 0:
            for initiative, var in zip(synergy.ids, members):
                f.typed(Form.clause, RuleKind.synergy, (synergy.name, initiative), [var], [together])
        else:
            f.typed(Form.clause, RuleKind.synergy, (synergy.name,), [together], members)


FAMILIES: list[Callable[[Formulation], None]] = [
    add_capacity,
    add_required,
    add_dependencies,
    add_exclusions,
    add_choices,
    add_invisible_work_floor,
    add_theme_shares,
    add_allocations,
    add_targets,
    add_synergies,
]


def _add_windows(f: Formulation) -> None:
    """While diagnosing: deadlines and committed starts as rules over the widened windows."""
    s = f.scenario
    for initiative in s.initiatives:
        allowed = window(s, initiative, f.settings)
        for p, started in f.v.starts(initiative.id):
            if p in allowed:
                continue
            if initiative.committed:
                rule = Rule(kind=RuleKind.committed, initiative=initiative.id, period=initiative.committed)
            else:
                rule = Rule(kind=RuleKind.deadline, initiative=initiative.id, period=initiative.deadline)
            # Named by the rule, then the start it forbids: deadline[i, 2027-Q2, 2027-Q3].
            f.linear(rule.kind, (initiative.id, rule.period or "", s.periods[p]), [(1, started)], "==", 0, rule)


def _objective(f: Formulation) -> Goal:
    """value: maximise total decayed value less the cost of changing the previous plan (thousandths).
    makespan: minimise the periods used: `periods_used >= p + duration` whenever `start[i, p]`.

    The tie-break (`Variables.tie_break_weights`) is a second phase that keeps the objective: start work
    early, earlier-listed initiatives first, and leave out work that adds nothing."""
    s, v = f.scenario, f.v
    if s.policies.objective is Objective.makespan:
        periods = f.periods_used = f.variable("periods_used", upper=len(s.periods))
        # One enforced row per start: CP-SAT propagates it as soon as the start is fixed, and on hard
        # PSPLIB instances searched better with it than with one summed row per initiative (which a MILP
        # solver adds as its own, LP-stronger, redundant row: `solver.milp`).
        for i, p, started in v.all_starts():
            f.linear("periods_used", (i, s.periods[p]), [(1, periods)], ">=", p + s.initiative_by_id[i].duration, enforced_by=started)
        return Goal("minimize", [(1, periods)])
    terms, constant = v.value_terms()
    return Goal("maximize", terms + f.extra_terms, constant)
