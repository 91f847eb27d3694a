"""Initiatives from a CSV export (a Jira issue export, say), mapped by a small mapping file, as an overlay.

The result is an overlay of the scenario that holds the teams and the horizon: `extends: BASE` and the
imported initiatives, matched by id, so importing again updates them. Every problem with a row is
reported at once, located at the CSV line and column it comes from; nothing is written unless the
import is clean and the overlay loads.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import partial
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from planner.errors import Location, Problem, ScenarioError
from planner.loader import read_document
from planner.periods import Granularity
from planner.quantities import plain_number
from planner.scenario import Scenario

MAX_ROWS = 5_000


class Columns(BaseModel):
    """Which CSV column holds each field; the defaults are a Jira issue export's names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default="Issue key", description="The initiative's id.")
    title: str = Field(default="Summary", description="Its title.")
    team: str = Field(default="Team", description="The team doing the work (mapped by `teams`).")
    effort: str = Field(default="Story Points", description="Its effort, e.g. Story Points or Original Estimate (seconds).")
    deadline: str | None = Field(default="Due date", description="A date; the period holding it becomes the deadline.")
    labels: str | None = Field(default="Labels", description="Labels (Jira repeats the column, one label each); mapped by `kinds` and `themes`.")
    value: str | None = Field(default=None, description="An explicit value, when the export has one.")


class Mapping(BaseModel):
    """How a CSV export becomes initiatives."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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


def read_mapping(path: str) -> Mapping:
    document = read_document(path)
    try:
        return Mapping.model_validate(document.data or {})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            location = document.source.locate(tuple(error["loc"]))
            problems.append(Problem(message=error["msg"], location=location))
        raise ScenarioError(problems) from None


def _record_lines(text: str) -> list[int]:
    """The line each CSV record starts on (a quoted field may span lines), header first."""
    reader = csv.reader(io.StringIO(text))
    starts, line = [], 1
    for record in reader:
        if record:  # pandas skips blank lines; so must the count of records
            starts.append(line)
        line = reader.line_num + 1
    return starts


def _period(date: dt.date, granularity: Granularity) -> str:
    if granularity is Granularity.quarter:
        return f"{date.year}-Q{(date.month - 1) // 3 + 1}"
    if granularity is Granularity.month:
        return f"{date.year}-{date.month:02d}"
    year, week, _ = date.isocalendar()
    return f"{year}-W{week:02d}"


def import_csv(csv_path: str, mapping: Mapping, base: Scenario) -> list[dict[str, Any]]:
    """The initiatives of the CSV as scenario data; raises ScenarioError with every row problem, located."""
    try:
        with open(csv_path, encoding="utf-8-sig") as handle:
            text = handle.read()
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ScenarioError([Problem(message=f"cannot read the CSV: {str(exc).splitlines()[0]}", location=Location(file=csv_path))]) from None
    problems: list[Problem] = []
    names = list(frame.columns)
    c = mapping.columns
    wanted = {"id": c.id, "title": c.title, "team": c.team, "effort": c.effort, "deadline": c.deadline, "labels": c.labels, "value": c.value}
    for field, column in wanted.items():
        # The four a row cannot do without, and any other the mapping names on purpose, must be there.
        if column is not None and column not in names and (field in ("id", "title", "team", "effort") or field in c.model_fields_set):
            problems.append(
                Problem(
                    message=f"no column '{column}' for {field} (the columns are {', '.join(names)}); set columns.{field} in the mapping",
                    location=Location(file=csv_path, line=1),
                )
            )
    if problems:
        raise ScenarioError(problems)
    if frame.empty:
        raise ScenarioError([Problem(message="the CSV has a header but no rows: nothing to import", location=Location(file=csv_path, line=1))])
    if len(frame) > MAX_ROWS:
        raise ScenarioError([Problem(message=f"{len(frame)} rows; an import takes at most {MAX_ROWS}", location=Location(file=csv_path))])
    # Jira writes one "Labels" column per label; pandas names the repeats "Labels.1", "Labels.2", ...
    label_columns = [n for n in names if c.labels and (n == c.labels or (n.startswith(f"{c.labels}.") and n[len(c.labels) + 1 :].isdigit()))]
    lines = _record_lines(text)
    granularity = base.horizon.granularity
    out = []
    seen: dict[str, int | None] = {}
    for k, (_, row) in enumerate(frame.iterrows()):
        line = lines[k + 1] if k + 1 < len(lines) else None

        def fail(column: str, message: str, line: int | None = line) -> None:
            problems.append(Problem(message=message, location=Location(file=csv_path, line=line, column=names.index(column) + 1, path=column)))

        item: dict[str, Any] = {"id": row[c.id].strip(), "title": row[c.title].strip() or row[c.id].strip()}
        if not item["id"]:
            fail(c.id, "the row has no id")
        elif item["id"] in seen:
            fail(c.id, f"id '{item['id']}' is on line {seen[item['id']]} already")
        seen.setdefault(item["id"], line)
        team_name = row[c.team].strip()
        team = mapping.teams.get(team_name, team_name if team_name in base.team_by_id else None)
        if team is None:
            fail(c.team, f"'{team_name}' is not a team of the scenario and the mapping's teams do not map it")
        elif team not in base.team_by_id:
            fail(c.team, f"the mapping maps '{team_name}' to team '{team}', which the scenario does not have")
            team = None
        try:
            effort = Decimal(row[c.effort].strip())
            if not effort.is_finite():
                raise InvalidOperation
            effort = (effort / Decimal(str(mapping.effort_per_unit))).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
        except InvalidOperation:
            fail(c.effort, f"'{row[c.effort]}' is not a number")
            effort = None
        if effort is not None and effort <= 0:
            fail(c.effort, f"effort {row[c.effort]} is not above 0 after dividing by effort_per_unit {mapping.effort_per_unit:g}")
        if team and effort is not None and effort > 0:
            item["effort"] = {team: plain_number(effort)}
        labels = [word for n in label_columns for word in row[n].split() if word]
        kind = next((mapping.kinds[label] for label in labels if label in mapping.kinds), None)
        theme = next((mapping.themes[label] for label in labels if label in mapping.themes), None)
        if kind:
            item["kind"] = kind
        if theme and theme not in {t.id for t in base.themes}:
            fail(label_columns[0], f"the labels map to theme '{theme}', which the scenario does not declare")
        elif theme:
            item["theme"] = theme
        if c.deadline and c.deadline in names and row[c.deadline].strip():
            _deadline(row[c.deadline].strip(), mapping, granularity, base, item, partial(fail, c.deadline))
        if c.value and c.value in names and row[c.value].strip():
            try:
                item["value"] = float(row[c.value])
            except ValueError:
                fail(c.value, f"'{row[c.value]}' is not a number")
        out.append(item)
    if problems:
        raise ScenarioError(problems)
    return out


def _deadline(text: str, mapping: Mapping, granularity: Granularity, base: Scenario, item: dict[str, Any], fail: Callable[[str], None]) -> None:
    if granularity is Granularity.sprint:
        fail("a sprint horizon has no calendar: deadlines cannot be read from dates (leave the column out of the mapping)")
        return
    try:
        date = pd.to_datetime(text, format=mapping.date_format) if mapping.date_format else pd.to_datetime(text, format="mixed", dayfirst=False)
        if pd.isna(date):
            raise ValueError(text)
    except (ValueError, TypeError):
        fail(f"'{text}' is not a date" + (f" in the format {mapping.date_format}" if mapping.date_format else "; set date_format in the mapping"))
        return
    label = _period(date.date(), granularity)
    if label not in base.period_index:
        fail(f"due {date.date()} falls in {label}, outside the horizon {base.periods[0]}..{base.periods[-1]}")
        return
    item["deadline"] = label


def overlay_text(initiatives: list[dict[str, Any]], base_reference: str, source: str) -> str:
    """The overlay file: a comment naming its source, `extends`, and the initiatives."""
    body = yaml.safe_dump({"extends": base_reference, "initiatives": initiatives}, sort_keys=False, allow_unicode=True)
    return f"# Imported from {source} by `planner import-csv`; importing again updates these initiatives by id.\n{body}"


def relative_base(base_path: str, out_path: str | None) -> str:
    """`extends` is resolved relative to the overlay's own file: name the base from where the overlay will be."""
    folder = os.path.dirname(os.path.abspath(out_path)) if out_path else os.getcwd()
    return os.path.relpath(os.path.abspath(base_path), folder)
