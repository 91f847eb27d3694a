"""Whole-scenario checks: references, cycles, windows and policies.

`find_problems` runs once, from `Scenario`'s own validator, after every field has its type. It reports
every problem it finds (not just the first), each with the field path it is about; the loader adds
file, line and column. `find_warnings` reports what is valid but probably not what the user meant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from planner.errors import Path, PathProblem, Severity, did_you_mean
from planner.periods import period_offset
from planner.quantities import MAX_VALUE
from planner.scenario import AllocationMode, MoSCoW, Objective, Scoring
from planner.scoring import initiative_value

if TYPE_CHECKING:
    from planner.scenario import Initiative, Scenario, Team, Theme


def find_problems(scenario: Scenario) -> list[PathProblem]:
    """Every error in a scenario whose fields are individually valid."""
    return _Checker(scenario).errors()


def find_warnings(scenario: Scenario) -> list[PathProblem]:
    """What is valid but likely a mistake, on a validated scenario."""
    return _Checker(scenario).warnings()


def _quote(ids: list[str]) -> str:
    return ", ".join(ids) if ids else "none"


class _Checker:
    def __init__(self, scenario: Scenario):
        self.s = scenario
        self.problems: list[PathProblem] = []
        try:
            self.labels: list[str] | None = list(scenario.horizon.labels)
        except ValueError as exc:
            self.labels = None  # reported by _horizon; period checks are skipped rather than guessed
            self.horizon_problem = str(exc)
        self.index = {label: k for k, label in enumerate(self.labels or [])}
        self.team_ids = {team.id for team in scenario.teams}
        self.theme_ids = {theme.id for theme in scenario.themes}
        self.initiative_ids = {initiative.id for initiative in scenario.initiatives}
        self.skills = sorted({skill for team in scenario.teams for skill in team.skills})
        self.suggested = 0  # "did you mean" searches run (`suggest`)

    SUGGESTIONS = 50
    """How many unknown names get a "did you mean" search. Each search compares the name with every id of
    its kind; a file with thousands of bad references (written so, or generated wrong) would otherwise
    take time quadratic in its size, and fifty suggestions already show the pattern."""

    def suggest(self, word: object, choices: Iterable[str]) -> str:
        """` (did you mean 'x'?)` for the first `SUGGESTIONS` unknown names, then nothing."""
        self.suggested += 1
        return did_you_mean(word, choices) if self.suggested <= self.SUGGESTIONS else ""

    def error(self, path: Path, message: str) -> None:
        self.problems.append(PathProblem(path=path, message=message))

    def warn(self, path: Path, message: str) -> None:
        self.problems.append(PathProblem(path=path, message=message, severity=Severity.warning))

    def errors(self) -> list[PathProblem]:
        self._horizon()
        self._duplicate_ids()
        self._teams()
        self._initiatives()
        self._dependency_cycles()
        self._mandatory_exclusions()
        self._choices()
        self._synergies()
        self._policies()
        self._previous_plan()
        self._expectations()
        return self.problems

    def warnings(self) -> list[PathProblem]:
        labels = self.labels
        assert labels is not None, "warnings are found on a validated scenario, whose horizon has its labels"
        for n, initiative in enumerate(self.s.initiatives):
            at: Path = ("initiatives", n)
            if not initiative.mandatory and initiative.committed is None and self._value_missing(initiative):
                self.warn(at, f"initiative '{initiative.id}' has no value inputs: it is worth 0 and is scheduled only when required")
            first, last = self._window(initiative)
            if not initiative.mandatory and initiative.committed is None and last - first + 1 < initiative.duration:
                self.warn(
                    ("initiatives", n, "duration"),
                    f"initiative '{initiative.id}' needs {initiative.duration} periods but only {max(last - first + 1, 0)} "
                    f"lie between {labels[first] if first < len(labels) else 'its earliest start'} and "
                    f"{labels[last]}: it can never be scheduled",
                )
        for initiative_id in self.s.previous_plan or {}:
            if initiative_id not in self.initiative_ids:
                self.warn(
                    ("previous_plan", initiative_id),
                    f"the previous plan scheduled '{initiative_id}', which is not an initiative of this scenario: "
                    "it is ignored" + self.suggest(initiative_id, self.initiative_ids),
                )
        return self.problems

    # --- horizon and ids -----------------------------------------------------------------------------

    def _horizon(self) -> None:
        if self.labels is None:
            self.error(("horizon", "start"), self.horizon_problem)

    def _duplicate_ids(self) -> None:
        lists: tuple[tuple[str, Sequence[Team | Theme | Initiative]], ...] = (
            ("teams", self.s.teams),
            ("themes", self.s.themes),
            ("initiatives", self.s.initiatives),
        )
        for field, items in lists:
            first_at: dict[str, int] = {}
            for n, item in enumerate(items):
                if item.id in first_at:
                    self.error((field, n, "id"), f"duplicate id '{item.id}': {field}[{first_at[item.id]}] has it already")
                else:
                    first_at[item.id] = n

    def _period(self, path: Path, label: str | None) -> int | None:
        """The index of a period label, reporting it when it is not in the horizon."""
        if label is None or self.labels is None:
            return None
        if label not in self.index:
            self.error(
                path,
                f"'{label}' is not a period of the horizon ({self.labels[0]} .. {self.labels[-1]})" + self.suggest(label, self.labels),
            )
            return None
        return self.index[label]

    # --- teams -----------------------------------------------------------------------------------------

    def _teams(self) -> None:
        if self.labels is None:
            return
        for n, team in enumerate(self.s.teams):
            capacity = team.capacity
            at: Path = ("teams", n, "capacity")
            if isinstance(capacity, list) and len(capacity) != len(self.labels):
                self.error(
                    at,
                    f"team '{team.id}' lists {len(capacity)} capacities but the horizon has {len(self.labels)} periods ({self.labels[0]} .. {self.labels[-1]})",
                )
            elif isinstance(capacity, dict):
                for key in capacity:
                    if key != "default":
                        self._period(at + (key,), key)
                missing = [label for label in self.labels if label not in capacity]
                if "default" not in capacity and missing:
                    self.error(at, f"team '{team.id}' has no capacity for {_quote(missing)}: add `default: n` or those periods")

    # --- initiatives -----------------------------------------------------------------------------------

    def _initiatives(self) -> None:
        for n, initiative in enumerate(self.s.initiatives):
            at: Path = ("initiatives", n)
            if initiative.theme is not None and initiative.theme not in self.theme_ids:
                self.error(at + ("theme",), self._unknown_theme(initiative.theme))
            self._needs(at, initiative)
            self._references(at, initiative)
            self._value_inputs(at, initiative)
            self._windows(at, initiative)
            self._moscow(at, initiative)
            self._in_progress(at, initiative)

    def _in_progress(self, at: Path, initiative: Initiative) -> None:
        under_way = initiative.in_progress
        if under_way is None:
            return
        for team in under_way.remaining:
            if team not in self.team_ids:
                self.error(at + ("in_progress", "remaining", team), f"unknown team '{team}'" + self.suggest(team, self.team_ids))
        for field in ("earliest_start", "committed"):
            if getattr(initiative, field) is not None:
                self.error(at + (field,), f"'{initiative.id}' is under way (in_progress): it continues from the first period, so it has no {field}")
        if not under_way.may_stop and not initiative.mandatory:
            self.error(at + ("mandatory",), f"'{initiative.id}' is under way and continues unless `in_progress.may_stop: true`: leave out `mandatory: false`")
        for field in ("depends_on", "depends_on_any"):
            if getattr(initiative, field):
                self.error(at + (field,), f"'{initiative.id}' is under way (in_progress): nothing can finish before it continues, so it has no {field}")
        if initiative.duration != under_way.periods:
            self.error(at + ("duration",), f"'{initiative.id}' is under way for in_progress.periods {under_way.periods}, not duration {initiative.duration}")

    def _moscow(self, at: Path, initiative: Initiative) -> None:
        if initiative.moscow is MoSCoW.must and not initiative.mandatory:
            self.error(at + ("mandatory",), f"initiative '{initiative.id}' is a must (moscow: must), which is mandatory: leave out `mandatory: false`")
        if initiative.wont:
            for field in ("mandatory", "committed"):
                if getattr(initiative, field):
                    self.error(at + (field,), f"initiative '{initiative.id}' is a won't have (moscow: wont), which is never scheduled, but it is {field}")
        elif initiative.mandatory or initiative.committed is not None:
            by_id = self.s.initiative_by_id
            for k, other in enumerate(initiative.depends_on):
                if other in by_id and by_id[other].wont:
                    self.error(at + ("depends_on", k), f"'{initiative.id}' must be scheduled, but it depends on '{other}', a won't have (moscow: wont)")
            alternatives = [by_id[a] for a in initiative.depends_on_any if a in by_id]
            if alternatives and all(a.wont for a in alternatives):
                self.error(at + ("depends_on_any",), f"'{initiative.id}' must be scheduled, but every one of its alternative prerequisites is a won't have")

    def _unknown_theme(self, theme: str) -> str:
        if not self.theme_ids:
            return f"unknown theme '{theme}': the scenario declares no themes (add it under `themes:`)"
        return f"unknown theme '{theme}'" + self.suggest(theme, self.theme_ids)

    def _needs(self, at: Path, initiative: Initiative) -> None:
        for team in initiative.effort:
            if team not in self.team_ids:
                self.error(at + ("effort", team), f"unknown team '{team}'" + self.suggest(team, self.team_ids))
        for k, need in enumerate(initiative.needs):
            if need.team is not None and need.team not in self.team_ids:
                self.error(at + ("needs", k, "team"), f"unknown team '{need.team}'" + self.suggest(need.team, self.team_ids))
            if need.skill is not None and need.skill not in self.skills:
                self.error(
                    at + ("needs", k, "skill"),
                    f"no team has skill '{need.skill}'" + self.suggest(need.skill, self.skills) + f"; the teams' skills are {_quote(self.skills)}",
                )
        if initiative.total_effort <= 0:
            self.error(at, f"initiative '{initiative.id}' has no effort: give `effort: {{team: amount}}` or `needs`")

    def _references(self, at: Path, initiative: Initiative) -> None:
        for field in ("depends_on", "depends_on_any", "excludes"):
            for k, other in enumerate(getattr(initiative, field)):
                if other == initiative.id:
                    self.error(at + (field, k), f"initiative '{other}' cannot name itself in {field}")
                elif other not in self.initiative_ids:
                    self.error(at + (field, k), f"unknown initiative '{other}'" + self.suggest(other, self.initiative_ids))

    def _value_missing(self, initiative: Initiative) -> bool:
        framework = self.s.policies.scoring
        return initiative.value is None and (framework is Scoring.value or getattr(initiative, framework.value) is None)

    def _value_inputs(self, at: Path, initiative: Initiative) -> None:
        framework = self.s.policies.scoring
        for other in (Scoring.rice, Scoring.ice, Scoring.wsjf, Scoring.weighted):
            if other is not framework and getattr(initiative, other.value) is not None:
                self.error(
                    at + (other.value,),
                    f"initiative '{initiative.id}' gives {other.value} inputs but policies.scoring is "
                    f"'{framework.value}': give {framework.value} inputs or an explicit `value`",
                )
        scored = initiative.value is None and framework is not Scoring.value and getattr(initiative, framework.value) is not None
        if scored and (value := initiative_value(initiative, self.s.policies)) > MAX_VALUE:
            self.error(
                at + (framework.value,),
                f"initiative '{initiative.id}' scores {value:.4g} by {framework.value}, more than the planner counts exactly "
                f"(at most {MAX_VALUE:,}); scale the inputs down",
            )
        if framework is Scoring.weighted and initiative.weighted:
            for criterion in initiative.weighted:
                if criterion not in self.s.policies.weights:
                    self.error(
                        at + ("weighted", criterion),
                        f"criterion '{criterion}' has no weight in policies.weights" + self.suggest(criterion, self.s.policies.weights),
                    )

    def _window(self, initiative: Initiative) -> tuple[int, int]:
        """First possible start and last possible finish period index (assumes labels are valid)."""
        first = self.index.get(initiative.earliest_start, 0) if initiative.earliest_start else 0
        last = self.index.get(initiative.deadline, len(self.index) - 1) if initiative.deadline else len(self.index) - 1
        return first, last

    def _windows(self, at: Path, initiative: Initiative) -> None:
        if self.labels is None:
            return
        earliest = self._period(at + ("earliest_start",), initiative.earliest_start)
        deadline = self._period(at + ("deadline",), initiative.deadline)
        if initiative.due is not None:
            self._period(at + ("due", "period"), initiative.due.period)
        committed = self._period(at + ("committed",), initiative.committed)
        horizon = len(self.labels)
        if initiative.duration > horizon:
            self.error(
                at + ("duration",),
                f"duration {initiative.duration} does not fit in the horizon of {horizon} {self.s.horizon.granularity.value}s",
            )
            return
        if earliest is not None and deadline is not None and deadline < earliest:
            self.error(
                at + ("deadline",),
                f"deadline {initiative.deadline} is before earliest_start {initiative.earliest_start}",
            )
            return
        first = earliest or 0
        last = horizon - 1 if deadline is None else deadline
        end_name = f"its deadline {initiative.deadline}" if deadline is not None else f"the horizon's end {self.labels[-1]}"
        if committed is not None:
            if committed < first:
                self.error(at + ("committed",), f"committed start {initiative.committed} is before earliest_start {initiative.earliest_start}")
            elif committed + initiative.duration - 1 > last:
                self.error(
                    at + ("committed",),
                    f"committed to start in {initiative.committed}, its {initiative.duration} periods run past {end_name}",
                )
        elif initiative.mandatory and last - first + 1 < initiative.duration:
            self.error(
                at + ("duration",),
                f"mandatory initiative '{initiative.id}' needs {initiative.duration} periods but only "
                f"{last - first + 1} lie between {self.labels[first]} and {end_name}",
            )

    # --- across initiatives ----------------------------------------------------------------------------

    def _dependency_cycles(self) -> None:
        position = {initiative.id: n for n, initiative in enumerate(self.s.initiatives)}
        # One alternative prerequisite is a prerequisite: it takes part in a cycle like one (`_prerequisites`).
        graph = {initiative.id: [d for d in self._prerequisites(initiative) if d in position and d != initiative.id] for initiative in self.s.initiatives}
        state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
        reported: set[frozenset[str]] = set()
        for root in graph:
            if root in state:
                continue
            path: list[str] = [root]
            state[root] = 1
            stack = [iter(graph[root])]
            while stack:
                nxt = next(stack[-1], None)
                if nxt is None:
                    state[path.pop()] = 2
                    stack.pop()
                elif state.get(nxt) == 1:
                    cycle = path[path.index(nxt) :] + [nxt]
                    if frozenset(cycle) not in reported:
                        reported.add(frozenset(cycle))
                        last = self.s.initiatives[position[cycle[-2]]]
                        field = "depends_on" if nxt in last.depends_on else "depends_on_any"
                        at = ("initiatives", position[last.id], field, getattr(last, field).index(nxt))
                        self.error(at, "dependency cycle: " + " -> ".join(cycle))
                elif nxt not in state:
                    state[nxt] = 1
                    path.append(nxt)
                    stack.append(iter(graph[nxt]))

    def _choices(self) -> None:
        first_at: dict[str, int] = {}
        by_id = self.s.initiative_by_id
        for n, choice in enumerate(self.s.choices):
            at: Path = ("choices", n)
            if choice.id in first_at:
                self.error(at + ("id",), f"duplicate id '{choice.id}': choices[{first_at[choice.id]}] has it already")
            first_at.setdefault(choice.id, n)
            seen: set[str] = set()
            for k, option in enumerate(choice.of):
                if option not in self.initiative_ids:
                    self.error(at + ("of", k), f"unknown initiative '{option}'" + self.suggest(option, self.initiative_ids))
                elif option in seen:
                    self.error(at + ("of", k), f"'{option}' is listed twice in choice '{choice.id}'")
                seen.add(option)
            if "min" not in choice.model_fields_set and "max" not in choice.model_fields_set:
                self.error(at, f"choice '{choice.id}' says how many of its options to schedule: give `min`, `max` or both (`min: 1, max: 1`: exactly one)")
                continue
            if choice.min > len(seen):
                self.error(at + ("min",), f"choice '{choice.id}' asks for at least {choice.min} of its {len(seen)} options")
            if choice.max is not None and choice.max < choice.min:
                self.error(at + ("max",), f"max {choice.max} is below min {choice.min}")
            known = [by_id[o] for o in seen if o in by_id]
            required = sorted(i.id for i in known if i.mandatory or i.committed is not None)
            if choice.max is not None and len(required) > choice.max:
                self.error(at + ("max",), f"choice '{choice.id}' allows at most {choice.max} of its options, but {_quote(required)} must be scheduled")
            possible = [i for i in known if not i.wont]
            if len(possible) < choice.min <= len(seen) == len(known):  # an unknown option is reported on its own
                wont = sorted(i.id for i in known if i.wont)
                self.error(at + ("min",), f"choice '{choice.id}' asks for at least {choice.min}, but {_quote(wont)} are won't haves (moscow: wont)")

    def _synergies(self) -> None:
        first_at: dict[str, int] = {}
        for n, synergy in enumerate(self.s.synergies):
            at: Path = ("synergies", n)
            if synergy.name in first_at:
                self.error(at, f"synergies[{first_at[synergy.name]}] is named '{synergy.name}' too: give one of them an `id`")
            first_at.setdefault(synergy.name, n)
            for k, initiative in enumerate(synergy.ids):
                if initiative not in self.initiative_ids:
                    self.error(at + ("ids", k), f"unknown initiative '{initiative}'" + self.suggest(initiative, self.initiative_ids))
                elif synergy.ids.index(initiative) != k:
                    self.error(at + ("ids", k), f"'{initiative}' is listed twice in the synergy")

    @staticmethod
    def _prerequisites(initiative: Initiative) -> list[str]:
        return list(initiative.depends_on) + (list(initiative.depends_on_any) if len(initiative.depends_on_any) == 1 else [])

    def _mandatory_exclusions(self) -> None:
        required = {i.id for i in self.s.initiatives if i.mandatory or i.committed is not None}
        for n, initiative in enumerate(self.s.initiatives):
            if initiative.id not in required:
                continue
            for k, other in enumerate(initiative.excludes):
                if other in required and other != initiative.id:
                    self.error(
                        ("initiatives", n, "excludes", k),
                        f"'{initiative.id}' and '{other}' are both required (mandatory or committed) but exclude each other",
                    )

    # --- policies --------------------------------------------------------------------------------------

    def _policies(self) -> None:
        policies = self.s.policies
        invisible = policies.invisible_work
        at: Path = ("policies", "invisible_work")
        if invisible.max_share is not None and invisible.max_share < invisible.min_share:
            self.error(at + ("max_share",), f"max_share {invisible.max_share} is below min_share {invisible.min_share}")
        for team in invisible.team_min_share:
            if team not in self.team_ids:
                self.error(at + ("team_min_share", team), f"unknown team '{team}'" + self.suggest(team, self.team_ids))
        for kind, count in Counter(invisible.kinds).items():
            if count > 1:
                self.error(at + ("kinds",), f"kind '{kind}' is listed {count} times")
        for theme, bounds in policies.themes.items():
            where: Path = ("policies", "themes", theme)
            if theme not in self.theme_ids:
                self.error(where, self._unknown_theme(theme))
            if bounds.min_share is not None and bounds.max_share is not None and bounds.max_share < bounds.min_share:
                self.error(where + ("max_share",), f"max_share {bounds.max_share} is below min_share {bounds.min_share}")
        floors = {theme: bounds.min_share for theme, bounds in policies.themes.items() if bounds.min_share}
        if sum(floors.values()) > 1:
            listed = ", ".join(f"{theme} {share}" for theme, share in floors.items())
            self.error(
                ("policies", "themes"),
                f"the themes' min_share add up to {sum(floors.values())} ({listed}): more than all of the scheduled effort, "
                "so only a plan with nothing in it would keep them",
            )
        self._allocations()
        kpis = {kpi for i in self.s.initiatives for kpi in i.outcomes}
        for kpi in policies.targets:
            if kpi not in kpis:
                self.error(("policies", "targets", kpi), f"no initiative has an outcome for KPI '{kpi}'" + self.suggest(kpi, kpis))
        if policies.scoring is Scoring.weighted and not policies.weights:
            self.error(("policies", "weights"), "scoring 'weighted' needs policies.weights: a weight per criterion")

    MAX_RESERVES = 6
    """Reserves on one team: a plan's loads fit them by one row per subset of them (`planner.allocations`)."""

    def _allocations(self) -> None:
        allocations = self.s.policies.allocations
        first_at: dict[tuple[str, str], int] = {}
        shares: dict[tuple[str, str], Decimal] = {}  # (team, period) -> the reserves' shares
        counts: dict[tuple[str, str], int] = {}
        kinds_reserved: dict[tuple[str, str], int] = {}  # (team, kind) -> the reserve holding it
        for n, allocation in enumerate(allocations):
            at: Path = ("policies", "allocations", n)
            key = (allocation.mode.value, allocation.name)
            if key in first_at:
                self.error(at, f"allocations[{first_at[key]}] is a {key[0]} named '{key[1]}' too: give one of them an `id`")
            first_at.setdefault(key, n)
            for k, team in enumerate(allocation.teams or []):
                if team not in self.team_ids:
                    self.error(at + ("teams", k), f"unknown team '{team}'" + self.suggest(team, self.team_ids))
                elif (allocation.teams or []).index(team) != k:
                    self.error(at + ("teams", k), f"team '{team}' is listed twice")
            for kind, count in Counter(allocation.kinds).items():
                if count > 1:
                    self.error(at + ("kinds",), f"kind '{kind}' is listed {count} times")
            if allocation.mode is not AllocationMode.reserve and allocation.periods is not None:
                self.error(at + ("periods",), "a floor holds in every period (`over: period`) or over the horizon: `periods` is for reserves")
            if allocation.mode is AllocationMode.reserve:
                if allocation.over == "horizon":
                    self.error(at + ("over",), "a reserve is kept in every period: `over: horizon` is for floors")
                if allocation.soft is not None:
                    self.error(at + ("soft",), "a reserve is never infeasible on its own: `soft` is for floors")
                listed = allocation.periods or []
                for k, label in enumerate(listed):
                    if self._period(at + ("periods", k), label) is not None and listed.index(label) != k:
                        self.error(at + ("periods", k), f"period '{label}' is listed twice")
                for team in dict.fromkeys(allocation.teams) if allocation.teams is not None else sorted(self.team_ids):
                    for label in self.labels or ():
                        share = allocation.share_in(label)
                        shares[team, label] = shares.get((team, label), Decimal(0)) + share
                        counts[team, label] = counts.get((team, label), 0) + (share > 0)
                    for kind in allocation.kinds:
                        if (team, kind) in kinds_reserved and kinds_reserved[team, kind] != n:
                            self.error(at + ("kinds",), f"kind '{kind}' is reserved for team '{team}' by allocations[{kinds_reserved[team, kind]}] already")
                        kinds_reserved.setdefault((team, kind), n)
        for team in dict.fromkeys(team for team, _ in shares):
            over = {label: total for (t, label), total in shares.items() if t == team and total > 1}
            if over:
                self.error(
                    ("policies", "allocations"),
                    f"the reserves of team '{team}' add up to {max(over.values())} of its capacity{self._when(over)}, more than all of it",
                )
            many = {label: n for (t, label), n in counts.items() if t == team and n > self.MAX_RESERVES}
            if many:
                self.error(
                    ("policies", "allocations"),
                    f"team '{team}' has {max(many.values())} reserves{self._when(many)}; at most {self.MAX_RESERVES}: combine some kinds",
                )

    def _when(self, periods: dict[str, Any]) -> str:
        """` in 2027-Q1, 2027-Q2` when a team's reserves break a limit in some periods only (nothing when in all, alike)."""
        if len(periods) == len(self.labels or ()) and len(set(periods.values())) == 1:
            return ""
        return " in " + ", ".join(periods)

    # --- previous plan ---------------------------------------------------------------------------------

    def _previous_plan(self) -> None:
        if self.s.previous_plan is None or self.labels is None:
            return
        if self.s.policies.objective is not Objective.value:
            self.error(("previous_plan",), "re-planning against a previous plan needs `policies.objective: value`; makespan has no value to charge")
            return
        horizon = self.s.horizon
        for initiative_id, label in self.s.previous_plan.items():
            try:
                # Outside the horizon is fine (a plan made a quarter ago started earlier); a malformed label is not.
                period_offset(horizon.start, label, horizon.granularity)
            except ValueError as exc:
                self.error(("previous_plan", initiative_id), str(exc))

    # --- expectations ----------------------------------------------------------------------------------

    def _expectations(self) -> None:
        expect = self.s.expect
        if expect is None:
            return
        at: Path = ("expect",)
        for field in ("scheduled", "not_scheduled"):
            for k, initiative_id in enumerate(getattr(expect, field)):
                if initiative_id not in self.initiative_ids:
                    self.error(at + (field, k), f"unknown initiative '{initiative_id}'" + self.suggest(initiative_id, self.initiative_ids))
        for k, initiative_id in enumerate(expect.not_scheduled):
            if initiative_id in expect.scheduled:
                self.error(at + ("not_scheduled", k), f"'{initiative_id}' is expected both scheduled and not scheduled")
        if expect.min_value is not None and self.s.policies.objective is not Objective.value:
            self.error(at + ("min_value",), "min_value needs `policies.objective: value`; a makespan plan has no value")
