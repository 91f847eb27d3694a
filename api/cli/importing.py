"""Initiatives from a CSV export (a Jira issue export, say), mapped by a small mapping file, as an overlay.

The result is an overlay of the scenario that holds the teams and the horizon: `extends: BASE` and the
imported initiatives, matched by id, so importing again updates them. Reading the file itself (encoding,
delimiter, repeated columns, dates and numbers) is `api.cli.csvfile`'s; here rows become initiatives, in
the order a reader of the mapping file expects: rows are filtered (`include`, `exclude`), children are
rolled into their epic (`columns.parent`), each field is read from its cell or its default (`defaults`,
`blanks`), and "Blocks" links become `depends_on` between what was imported. Every problem with a row is
reported at once, located at the CSV line and column it comes from; nothing is written unless the import
is clean and the overlay loads. What was left out, and why, is reported as data (`Imported`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import graphlib
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from api.cli.csvfile import DateCell, Dates, Record, Table, number
from planner.errors import Location, Problem, ScenarioError
from planner.loader import read_document
from planner.periods import Granularity
from planner.quantities import plain_number
from planner.scenario import InitiativeId, MoSCoW, Scenario
from planner.source import SourceNode

_Mapped = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)  # a version 2027.2 or a sprint 14 is a name


class Columns(BaseModel):
    """Which CSV column holds each field; the defaults are a Jira issue export's names (Cloud's and Server's alike)."""

    model_config = _Mapped

    id: str = Field(default="Issue key", description="The initiative's id.")
    title: str = Field(default="Summary", description="Its title.")
    team: str = Field(default="Team", description="The team doing the work (mapped by `teams`).")
    effort: str = Field(default="Story Points", description="Its effort, e.g. Story Points or Original Estimate (seconds).")
    deadline: str | None = Field(default="Due date", description="A date; the period holding it becomes the deadline.")
    labels: str | None = Field(default="Labels", description="Labels (Jira repeats the column, one label each); mapped by `kinds` and `themes`.")
    value: str | None = Field(default=None, description="An explicit value, when the export has one.")
    parent: str | None = Field(
        default=None,
        description="The issue's epic or parent, by key or by `issue_id` (Jira Cloud: Parent; Server: Custom field (Epic Link)); "
        "children are rolled up into it.",
    )
    issue_id: str | None = Field(default="Issue id", description="Jira's numeric issue id, which Cloud's Parent column names; read when present.")
    blocks: str | None = Field(default="Outward issue link (Blocks)", description="Issues this one blocks: they depend on it.")
    blocked_by: str | None = Field(default="Inward issue link (Blocks)", description="Issues blocking this one: it depends on them.")


class ValueMap(BaseModel):
    """A value read from a named column: Priority, or a MoSCoW field read as a number."""

    model_config = _Mapped

    column: str = Field(description="The column, e.g. Priority.")
    map: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(description="The column's value -> the initiative's value.")


class PeriodMap(BaseModel):
    """A period read from a named column: Sprint or Fix versions."""

    model_config = _Mapped

    column: str = Field(description="The column, e.g. Sprint or Fix versions (repeated columns are all read).")
    map: dict[str, str | None] = Field(description="The column's value -> a period of the base scenario; null: says nothing.")


# MoSCoW as people write it; a cell is compared case, spacing, hyphens and apostrophes aside, so these also
# read `MUST-HAVE`, `won’t` and `Wont have`.
USUAL_MOSCOW: dict[str, MoSCoW | None] = {
    spelling: label
    for label, spellings in {
        MoSCoW.must: ("Must", "Must have", "M"),
        MoSCoW.should: ("Should", "Should have", "S"),
        MoSCoW.could: ("Could", "Could have", "C"),
        MoSCoW.wont: ("Won't", "Won't have", "Won't have (this time)", "W"),
    }.items()
    for spelling in spellings
}


class MoscowMap(BaseModel):
    """A MoSCoW label read from a named column."""

    model_config = _Mapped

    column: str = Field(description="The column, e.g. MoSCoW (Jira: Custom field (MoSCoW)).")
    map: dict[str, MoSCoW | None] = Field(
        default_factory=dict,
        description="The column's value -> must | should | could | wont (null: says nothing), beside the usual spellings "
        "(Must, Must have, M, ..., Won't, W), which an entry here overrides.",
    )

    def labels(self) -> dict[str, MoSCoW | None]:
        """Every word the column may hold -> its label: the usual spellings, then the mapping's own (which win)."""
        return USUAL_MOSCOW | self.map


Field_ = Literal["team", "effort", "value", "moscow"]


class Mapping(BaseModel):
    """How a CSV export becomes initiatives."""

    model_config = _Mapped

    columns: Columns = Field(default_factory=Columns)
    effort_per_unit: float = Field(
        default=1,
        gt=0,
        allow_inf_nan=False,
        description="How many of the effort column's units make one unit of the scenario (2 story points per "
        "engineer-week: 2; Original Estimate in seconds per 40-hour week: 144000).",
    )
    teams: dict[str, str] = Field(default_factory=dict, description="Team column value -> team id; a team id may also be used as is.")
    kinds: dict[str, str] = Field(default_factory=dict, description="Label -> initiative kind (the first label that maps wins; else feature).")
    themes: dict[str, str] = Field(default_factory=dict, description="Label -> theme id (the first label that maps wins).")
    date_format: str | None = Field(default=None, description="strftime format of the deadline column, e.g. %d/%b/%y %I:%M %p; inferred when omitted.")
    defaults: dict[Field_, str] = Field(default_factory=dict, description="Field -> what a blank cell of it reads as (a cell's text: team name, story points).")
    blanks: Literal["fail", "skip"] = Field(default="fail", description="A row with a blank team or effort and no default: an error (fail) or left out (skip).")
    include: dict[str, list[str]] = Field(default_factory=dict, description="Column -> values: only rows holding one of them are imported.")
    exclude: dict[str, list[str]] = Field(default_factory=dict, description="Column -> values: rows holding one of them are not imported.")
    value: ValueMap | None = Field(default=None, description="The value from a named column's words (Priority: High -> 30).")
    moscow: MoscowMap | None = Field(default=None, description="The MoSCoW label from a named column's words (Must have -> must).")
    earliest_start: PeriodMap | None = Field(default=None, description="The earliest start from a named column (Sprint): the latest period it names.")
    deadline: PeriodMap | None = Field(default=None, description="A deadline from a named column (Fix versions): the earliest period it names.")

    @field_validator("include", "exclude", mode="before")
    @classmethod
    def _one_value_is_a_list(cls, rules: Any) -> Any:
        return {k: [v] if isinstance(v, str | int | float) else v for k, v in rules.items()} if isinstance(rules, dict) else rules

    @model_validator(mode="after")
    def _each_field_has_one_source(self) -> Mapping:
        if self.value is not None and self.columns.value is not None:
            raise ValueError("give the value as columns.value (a number) or as value: {column, map}, not both")
        if "moscow" in self.defaults and self.moscow is None:
            raise ValueError("defaults.moscow is read like a cell of the MoSCoW column: give moscow: {column: ...} too")
        return self


def word(text: str) -> str:
    """A cell's text as a map compares it: case, spacing, hyphens and apostrophes aside (`Won’t-have` is `wont have`)."""
    return " ".join(re.sub(r"['’]", "", text.casefold()).replace("-", " ").split())


@dataclass(frozen=True)
class MappingFile:
    """A mapping and where its keys stand in the file, so a problem with one can be pointed at."""

    mapping: Mapping = field(default_factory=Mapping)
    source: SourceNode | None = None

    def where(self, *path: str) -> Location | None:
        return self.source.locate(path) if self.source else None


def read_mapping(path: str) -> MappingFile:
    document = read_document(path, shape="a mapping file has keys like `columns:`, `teams:` and `effort_per_unit:`")
    try:
        return MappingFile(Mapping.model_validate(document.data or {}), document.source)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            location = document.source.locate(tuple(error["loc"]))
            problems.append(Problem(message=error["msg"], location=location))
        raise ScenarioError(problems) from None


@dataclass(frozen=True)
class Imported:
    """What an import made, and what it left out and why, each located."""

    initiatives: list[dict[str, Any]]
    table: Table
    excluded: dict[str, int]  # reason -> rows
    rolled_up: dict[str, list[str]]  # epic -> the children whose work it now holds
    skipped: list[Problem]
    dropped: list[Problem]

    def report(self, into: str, invisible: int) -> list[str]:
        """The summary printed after an import: imported, excluded, rolled up, skipped, dropped."""
        t = self.table
        delimiter = "tab" if t.delimiter == "\t" else f"'{t.delimiter}'"
        lines = [
            f"imported {len(self.initiatives)} initiatives from {t.file} ({invisible} invisible work) into {into}",
            f"read {len(t.records)} rows of {len(t.header)} columns ({t.encoding}, delimiter {delimiter})",
        ]
        if self.excluded:
            reasons = ", ".join(f"{n} {reason}" for reason, n in self.excluded.items())
            lines.append(f"excluded {sum(self.excluded.values())} rows: {reasons}")
        if self.rolled_up:
            epics = ", ".join(f"{epic} ({len(children)})" for epic, children in self.rolled_up.items())
            lines.append(f"rolled {sum(map(len, self.rolled_up.values()))} child issues into {len(self.rolled_up)} parents: {epics}")
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} rows with a blank and no default (blanks: skip):")
            lines += [f"  {problem}" for problem in self.skipped]
        if self.dropped:
            lines.append(f"dropped {len(self.dropped)} Blocks links to issues that are not imported:")
            lines += [f"  {problem}" for problem in self.dropped]
        return lines


def import_csv(table: Table, mapping_file: MappingFile, base: Scenario, *, dayfirst: bool | None = None) -> Imported:
    """The initiatives of the table as scenario data; raises ScenarioError with every problem, located."""
    return _Import(table, mapping_file, base, dayfirst).run()


@dataclass
class _Row:
    """One imported row's fields, read from its cells; the children of an epic are rows too."""

    record: Record
    id: str
    title: str
    team: str | None = None
    effort: Decimal | None = None
    value: float | None = None
    deadline: str | None = None
    earliest_start: str | None = None
    kind: str | None = None
    theme: str | None = None
    moscow: MoSCoW | None = None
    blank: list[tuple[str, str]] = field(default_factory=list)  # (field, column) of each required cell left blank, with no default


_initiative_id: TypeAdapter[str] = TypeAdapter(InitiativeId)
_T = TypeVar("_T")
_REQUIRED = ("id", "title", "team", "effort")


class _Import:
    def __init__(self, table: Table, mapping_file: MappingFile, base: Scenario, dayfirst: bool | None) -> None:
        self.table, self.file, self.mapping, self.base = table, mapping_file, mapping_file.mapping, base
        self.dayfirst = dayfirst
        self.problems: list[Problem] = []
        self.col: dict[str, str | None] = {}  # field -> the header's name of its column
        self.named: dict[str, str | None] = {}  # a column the mapping names by itself (value, include, ...) -> the header's name
        self.excluded: dict[str, str] = {}  # id -> why its row is not imported
        self.exclusions: Counter[str] = Counter()
        self.skipped: list[Problem] = []
        self.skipped_ids: set[str] = set()

    # --- where things are ---------------------------------------------------------------------------

    def fail(self, record: Record, column: str, message: str) -> None:
        self.problems.append(Problem(message=message, location=self.table.where(record.line, column)))

    def cell(self, record: Record, column: str | None) -> str:
        return record.cells[self.table.header.index(column)].strip() if column else ""

    def cells(self, record: Record, column: str | None) -> list[str]:
        """Every value of a column in the row, the repeats of a repeated column included."""
        return [v for n in self.table.positions(column) if (v := record.cells[n].strip())] if column else []

    def column(self, wanted: str, *, named_at: tuple[str, ...] | None, what: str) -> str | None:
        """The header's name of a column the mapping needs; a missing one is an error where the mapping names
        it (or at the CSV's header when it is a default), with the nearest column the CSV has."""
        found = self.table.resolve(wanted)
        if found is None:
            where = self.file.where(*named_at) if named_at else None
            hint = self.table.suggestion(wanted)
            if where is not None and where.line is not None:
                self.problems.append(Problem(message=f"{self.table.file} has no column '{wanted}'{hint}", location=where))
            else:
                self.problems.append(
                    Problem(
                        message=f"no column '{wanted}' for {what}{hint}; set {'.'.join(named_at or ('columns', what))} in the mapping",
                        location=self.table.where(self.table.header_line),
                    )
                )
        return found

    # --- the import, top to bottom ------------------------------------------------------------------

    def run(self) -> Imported:
        self.resolve_columns()
        self.check_periods()
        if self.problems:
            raise ScenarioError(self.problems)
        kept = self.filter()
        top = self.parents(kept)
        rows = {key: self.read(record) for key, record in kept.items()}
        self.read_dates(rows)
        initiatives, rolled = self.roll_up(rows, top)
        dropped = self.links(rows, top, initiatives)
        if self.problems:
            raise ScenarioError(self.problems)
        return Imported(
            initiatives=list(initiatives.values()),
            table=self.table,
            excluded=dict(self.exclusions.most_common()),
            rolled_up=rolled,
            skipped=self.skipped,
            dropped=dropped,
        )

    def resolve_columns(self) -> None:
        """Every column the mapping reads, as the header names it."""
        m, c = self.mapping, self.mapping.columns
        for name in Columns.model_fields:
            wanted = getattr(c, name)
            explicit = name in c.model_fields_set
            # The four a row cannot do without (unless a default stands in), and any other the mapping names on purpose.
            needed = explicit or (name in _REQUIRED and name not in m.defaults)
            found = self.table.resolve(wanted) if wanted else None
            if wanted and needed and found is None:
                found = self.column(wanted, named_at=("columns", name) if explicit else None, what=name)
            self.col[name] = found
        for key in ("value", "moscow", "earliest_start", "deadline"):
            source = getattr(m, key)
            if source is not None:
                self.named[key] = self.column(source.column, named_at=(key, "column"), what=key)
        for rule in ("include", "exclude"):
            for wanted in getattr(m, rule):
                self.named[f"{rule}:{wanted}"] = self.column(wanted, named_at=(rule, wanted), what=rule)

    def check_periods(self) -> None:
        for key in ("earliest_start", "deadline"):
            source: PeriodMap | None = getattr(self.mapping, key)
            for name, label in (source.map if source else {}).items():
                if label is not None and label not in self.base.period_index:
                    self.problems.append(
                        Problem(
                            message=f"'{label}' is not a period of {self.base.name} ({self.base.periods[0]}..{self.base.periods[-1]})",
                            location=self.file.where(key, "map", name) or Location(path=f"{key}.map.{name}"),
                        )
                    )

    def filter(self) -> dict[str, Record]:
        """The rows to import, by id; the others are remembered with the reason (a link to one is dropped and said why)."""
        seen: dict[str, int] = {}
        kept: dict[str, Record] = {}
        for record in self.table.records:
            key = self.cell(record, self.col["id"])
            if key in seen:
                self.fail(record, self.col["id"] or "", f"id '{key}' is on line {seen[key]} already")
                self.read(record)  # its other cells' problems are said too
                continue
            if key:
                seen[key] = record.line
            reason = self.reason_to_leave_out(record)
            if reason:
                self.exclusions[reason] += 1
                if key:
                    self.excluded[key] = reason
            elif not key:
                self.blank_row(record, "id", self.col["id"] or "", "the row")
            else:
                try:
                    _initiative_id.validate_python(key)
                except ValidationError:
                    self.fail(record, self.col["id"] or "", f"'{key}' cannot be an id: letters, digits, '_', '.', ':' and '-', starting with a letter or digit")
                kept[key] = record
        return kept

    def reason_to_leave_out(self, record: Record) -> str | None:
        for wanted, values in self.mapping.exclude.items():
            wanted_values = {v.casefold() for v in values}
            hit = next((v for v in self.cells(record, self.named[f"exclude:{wanted}"]) if v.casefold() in wanted_values), None)
            if hit is not None:
                return f"{wanted} is {hit}"
        for wanted, values in self.mapping.include.items():
            have = self.cells(record, self.named[f"include:{wanted}"])
            if not any(v.casefold() in {w.casefold() for w in values} for v in have):
                return f"{wanted} is {have[0] if have else 'blank'}, not {' or '.join(values)}"
        return None

    def blank_row(self, record: Record, name: str, column: str, who: str) -> None:
        """A row that lacks what it cannot do without: an error, or with `blanks: skip` a row left out."""
        if self.mapping.blanks == "skip":
            self.skipped.append(Problem(message=f"{who} is skipped: no {name} (a blank, and no default)", location=self.table.where(record.line, column)))
        elif name == "id":
            self.fail(record, column, "the row has no id; blanks: skip leaves such rows out")
        else:
            self.fail(record, column, f"{who} has no {name}: the cell is blank; give defaults: {{{name}: ...}}, or blanks: skip to leave such rows out")

    def parents(self, kept: dict[str, Record]) -> dict[str, str]:
        """Each kept row's topmost kept ancestor (itself when it has none): a sub-task rolls into its story's epic."""
        column = self.col["parent"]
        if column is None:
            return {key: key for key in kept}
        by_issue_id = {self.cell(r, self.col["issue_id"]): self.cell(r, self.col["id"]) for r in self.table.records if self.col["issue_id"]}
        by_issue_id.pop("", None)
        parent = {key: by_issue_id.get(p, p) for key, record in kept.items() if (p := self.cell(record, column))}
        top: dict[str, str] = {}
        for key in kept:
            chain = [key]
            while chain[-1] in parent and parent[chain[-1]] in kept and parent[chain[-1]] not in chain:
                chain.append(parent[chain[-1]])
            if chain[-1] in parent and parent[chain[-1]] in chain:
                self.fail(kept[key], column, f"{key}'s parents go round in a circle ({' -> '.join([*chain, parent[chain[-1]]])})")
            top[key] = chain[-1]
        return top

    def read(self, record: Record) -> _Row:
        """A row's fields from its cells (or the defaults); a problem with a cell is located at it."""
        m, col = self.mapping, self.col
        key = self.cell(record, col["id"])
        title = record.cells[self.table.header.index(col["title"])].strip() if col["title"] else ""
        row = _Row(record=record, id=key, title=title or key)

        def given(name: Field_) -> str:
            return self.cell(record, col.get(name) or self.named.get(name)) or m.defaults.get(name, "")

        team_name = given("team")
        if not team_name:
            row.blank.append(("team", col["team"] or ""))
        else:
            team = m.teams.get(team_name, team_name if team_name in self.base.team_by_id else None)
            if team is None:
                self.fail(record, col["team"] or "", f"'{team_name}' is not a team of the scenario and the mapping's teams do not map it")
            elif team not in self.base.team_by_id:
                self.fail(record, col["team"] or "", f"the mapping maps '{team_name}' to team '{team}', which the scenario does not have")
            else:
                row.team = team
        effort_text = given("effort")
        if not effort_text:
            row.blank.append(("effort", col["effort"] or ""))
        else:
            effort = number(effort_text)
            try:
                if effort is None or not effort.is_finite():
                    raise InvalidOperation
                row.effort = (effort / Decimal(str(m.effort_per_unit))).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
            except InvalidOperation:
                self.fail(record, col["effort"] or "", f"'{effort_text}' is not a number")
            if row.effort is not None and row.effort < 0:
                self.fail(record, col["effort"] or "", f"effort {effort_text} is below 0")
        value_text = given("value")
        if value_text and m.value is not None:
            row.value = self.look_up(record, "value", value_text, m.value.map)
        elif value_text:
            value = number(value_text)
            if value is None or not value.is_finite() or value < 0:
                self.fail(record, col["value"] or "", f"'{value_text}' is not a number of 0 or more")
            else:
                row.value = float(value)
        moscow_text = given("moscow")
        if moscow_text and m.moscow is not None:
            row.moscow = self.look_up(record, "moscow", moscow_text, m.moscow.labels(), "; map it to must, should, could or wont, or to null to ignore it")
        labels = [w for label in self.cells(record, col["labels"]) for w in label.split()]
        row.kind = next((m.kinds[label] for label in labels if label in m.kinds), None)
        theme = next((m.themes[label] for label in labels if label in m.themes), None)
        if theme and theme not in {t.id for t in self.base.themes}:
            self.fail(record, col["labels"] or "", f"the labels map to theme '{theme}', which the scenario does not declare")
        else:
            row.theme = theme
        starts = self.periods(record, "earliest_start")
        row.earliest_start = max(starts, key=self.base.period_index.__getitem__) if starts else None
        ends = self.periods(record, "deadline")
        row.deadline = min(ends, key=self.base.period_index.__getitem__) if ends else None
        return row

    def look_up(self, record: Record, key: Literal["value", "moscow"], text: str, words: dict[str, _T], then: str = "") -> _T | None:
        """What a map makes of a cell's text, compared as a `word`; a text the map lacks is an error at the
        cell, with the nearest of the map's own words (or, when none is near, all of them)."""
        known = {word(k): k for k in words}
        if word(text) in known:
            return words[known[word(text)]]
        close = difflib.get_close_matches(word(text), list(known), n=1)
        hint = f" (did you mean '{known[close[0]]}'?)" if close else f" (it maps {', '.join(words)})"
        self.fail(record, self.named[key] or "", f"'{text}' is not in the mapping's {key}.map{hint}{then}")
        return None

    def periods(self, record: Record, key: Literal["earliest_start", "deadline"]) -> list[str]:
        """The periods a row's Sprint or Fix versions cells name, by the mapping."""
        source: PeriodMap | None = getattr(self.mapping, key)
        if source is None:
            return []
        column = self.named[key]
        found = []
        for text in self.cells(record, column):
            if text not in source.map:
                close = difflib.get_close_matches(text, list(source.map), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.fail(record, column or "", f"'{text}' is not in the mapping's {key}.map{hint}; map it to a period, or to null to ignore it")
            elif (label := source.map[text]) is not None:
                found.append(label)
        return found

    def read_dates(self, rows: dict[str, _Row]) -> None:
        """Due dates, read in one order for the whole column; the period holding one is the deadline (or an earlier one)."""
        column = self.col["deadline"]
        due = {key: text for key, row in rows.items() if (text := self.cell(row.record, column))}
        if not due or column is None:
            return
        if self.base.horizon.granularity is Granularity.sprint:
            for key in due:
                self.fail(
                    rows[key].record, column, "a sprint horizon has no calendar: deadlines cannot be read from dates (leave the column out of the mapping)"
                )
            return
        dates = Dates(
            (DateCell(text, self.table.where(rows[key].record.line, column)) for key, text in due.items()),
            dayfirst=self.dayfirst,
            date_format=self.mapping.date_format,
        )
        self.problems += dates.problems
        if dates.problems:
            return
        for key, text in due.items():
            row = rows[key]
            date = dates.read(text)
            if isinstance(date, str):
                self.fail(row.record, column, date)
                continue
            label = _period(date, self.base.horizon.granularity)
            if label not in self.base.period_index:
                self.fail(row.record, column, f"due {date} falls in {label}, outside the horizon {self.base.periods[0]}..{self.base.periods[-1]}")
            elif row.deadline is None or self.base.period_index[label] < self.base.period_index[row.deadline]:
                row.deadline = label

    def roll_up(self, rows: dict[str, _Row], top: dict[str, str]) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
        """Initiatives from the rows: an epic holds its children's summed effort (its own estimate counts only
        when none of them has one), their earliest deadline and, if it has none, their value and start."""
        children: dict[str, list[_Row]] = {}
        for key, row in rows.items():
            if top[key] != key:
                children.setdefault(top[key], []).append(row)
        initiatives: dict[str, dict[str, Any]] = {}
        rolled: dict[str, list[str]] = {}
        for key, row in rows.items():
            if top[key] != key:
                continue
            working = []
            for child in children.get(key, []):
                if child.blank:
                    self.skip(child)
                elif child.team and child.effort is not None:
                    working.append(child)
            effort: dict[str, Decimal] = {}
            for child in working:
                effort[child.team or ""] = effort.get(child.team or "", Decimal(0)) + (child.effort or Decimal(0))
            if working:
                rolled[key] = [child.id for child in working]
            elif row.blank:
                self.skip(row)
                continue
            elif row.team and row.effort is not None:
                effort[row.team] = row.effort
            # A row whose team was not found has no effort to weigh: that problem is reported on its own.
            if (working or (row.team and row.effort is not None)) and not any(amount > 0 for amount in effort.values()):
                given = "its children's effort adds up to 0" if working else f"effort {self.cell(row.record, self.col['effort'])} is not above 0"
                self.fail(row.record, self.col["effort"] or "", f"{given} after dividing by effort_per_unit {self.mapping.effort_per_unit:g}")
            item: dict[str, Any] = {"id": row.id, "title": row.title}
            if effort:
                item["effort"] = {team: plain_number(amount) for team, amount in sorted(effort.items()) if amount > 0}
            if row.kind:
                item["kind"] = row.kind
            if row.theme:
                item["theme"] = row.theme
            deadlines = [r.deadline for r in [row, *working] if r.deadline]
            if deadlines:
                item["deadline"] = min(deadlines, key=self.base.period_index.__getitem__)
            # An epic starts when its first child can: the earliest of their starts, if every one has one.
            starts = [r.earliest_start for r in working if r.earliest_start]
            start = row.earliest_start or (min(starts, key=self.base.period_index.__getitem__) if working and len(starts) == len(working) else None)
            if start:
                item["earliest_start"] = start
            values = [r.value for r in working if r.value is not None]
            value = row.value if row.value is not None else max(values, default=None)
            if value is not None:
                item["value"] = plain_number(Decimal(str(value)))
            if row.moscow:  # an epic's label is its own: its children's say how their parts rank within it
                item["moscow"] = row.moscow.value
            initiatives[key] = item
        return initiatives, rolled

    def skip(self, row: _Row) -> None:
        self.skipped_ids.add(row.id)
        for name, column in row.blank:
            self.blank_row(row.record, name, column, row.id)
            if self.mapping.blanks == "skip":
                return  # one reason is enough to leave a row out

    def links(self, rows: dict[str, _Row], top: dict[str, str], initiatives: dict[str, dict[str, Any]]) -> list[Problem]:
        """`depends_on` from the Blocks links between imported issues (a child's link is its epic's); the
        links to issues that are not imported are dropped and said, once each, where they stand."""
        depends: dict[str, set[str]] = {key: set() for key in initiatives}
        origin: dict[tuple[str, str], Location] = {}
        dropped: dict[tuple[str, str], Problem] = {}
        for key, row in rows.items():
            for column, blocks in ((self.col["blocks"], True), (self.col["blocked_by"], False)):
                for n in self.table.positions(column) if column else []:
                    other = row.record.cells[n].strip()
                    if not other:
                        continue
                    blocker, blocked = (key, other) if blocks else (other, key)
                    where = Location(file=self.table.file, line=row.record.line, column=n + 1, path=column or "")
                    (first, why_first), (then, why_then) = (self.imported_as(issue, top, initiatives) for issue in (blocker, blocked))
                    if first and then:
                        if first != then:  # a link inside one epic orders its own work, which the plan does not see
                            depends[then].add(first)
                            origin.setdefault((then, first), where)
                    elif (first or then) and (blocker, blocked) not in dropped:
                        missing, why = (blocked, why_then) if first else (blocker, why_first)
                        dropped[(blocker, blocked)] = Problem(message=f"{blocked} is blocked by {blocker}; {missing} is not imported ({why})", location=where)
        try:
            graphlib.TopologicalSorter(depends).prepare()
        except graphlib.CycleError as exc:
            cycle: list[str] = exc.args[1]
            self.problems.append(
                Problem(
                    message=f"the Blocks links go round in a circle: {' blocks '.join(cycle)}; remove one of them",
                    location=origin[(cycle[1], cycle[0])],  # each node of graphlib's cycle is a prerequisite of the next
                )
            )
        for key, prerequisites in depends.items():
            if prerequisites:
                initiatives[key]["depends_on"] = sorted(prerequisites)
        return list(dropped.values())

    def imported_as(self, issue: str, top: dict[str, str], initiatives: dict[str, dict[str, Any]]) -> tuple[str | None, str]:
        """The initiative an issue is imported as (its epic, for a child), or why it is not imported."""
        if issue in top and issue not in self.skipped_ids and top[issue] in initiatives:
            return top[issue], ""
        if issue in self.excluded:
            return None, f"excluded: {self.excluded[issue]}"
        if issue in top:
            return None, "skipped: a blank and no default"
        return None, "not in the file"


def _period(date: dt.date, granularity: Granularity) -> str:
    if granularity is Granularity.quarter:
        return f"{date.year}-Q{(date.month - 1) // 3 + 1}"
    if granularity is Granularity.month:
        return f"{date.year}-{date.month:02d}"
    year, week, _ = date.isocalendar()
    return f"{year}-W{week:02d}"


def overlay_text(initiatives: list[dict[str, Any]], base_reference: str, source: str) -> str:
    """The overlay file: a comment naming its source, `extends`, and the initiatives."""
    body = yaml.safe_dump({"extends": base_reference, "initiatives": initiatives}, sort_keys=False, allow_unicode=True)
    return f"# Imported from {source} by `planner import-csv`; importing again updates these initiatives by id.\n{body}"


def relative_base(base_path: str, out_path: str | None) -> str:
    """`extends` is resolved relative to the overlay's own file: name the base from where the overlay will be."""
    folder = os.path.dirname(os.path.abspath(out_path)) if out_path else os.getcwd()
    return os.path.relpath(os.path.abspath(base_path), folder)
