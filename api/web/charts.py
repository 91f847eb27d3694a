"""The web page's pictures as geometry: the roadmap timeline and the sweep's curve.

Each is computed here, in numbers, and drawn by a template as SVG: the template only places what it is
given, and Jinja escapes every string a scenario brings (titles, ids). No style attribute is written, so
the page's Content-Security-Policy can forbid inline styles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from planner.plan import Plan, ScheduledInitiative
from planner.scenario import Scenario
from planner.simulation import ValueOutlook
from planner.sweep import Sweep, label

# The timeline's layout, in SVG user units (one is one CSS pixel at 100%): a column for the names, one column
# per period, one row per initiative. Wide enough for 1280 px; a long horizon narrows the periods, not the names.
LABEL_WIDTH, CHART_WIDTH, MIN_PERIOD = 280, 1180, 36
ROW, HEADER, GROUP_GAP = 22, 30, 26
PER_PAGE = 60  # rows per page: 500 initiatives are 9 pages, each drawn and read at once
GROUPINGS = ("team", "theme")
SHOWN = ("all", "visible", "invisible")


@dataclass(frozen=True)
class Bar:
    """One scheduled initiative: where its bar is, and what a reader needs to know of it."""

    id: str
    title: str
    kind: str
    invisible: bool
    required: bool
    periods: str  # "2027-Q1..2027-Q2"
    x: float
    y: float
    width: float
    deadline: str | None = None
    deadline_x: float | None = None  # the right edge of its deadline period
    late: bool = False  # finishes after its deadline (never in a valid plan; drawn if a stored plan says so)


@dataclass(frozen=True)
class Group:
    label: str
    invisible: bool
    y: float
    bars: list[Bar]


@dataclass(frozen=True)
class Link:
    """A dependency drawn from the prerequisite's end to the dependent's start."""

    prerequisite: str
    dependent: str
    path: str  # SVG path data


@dataclass(frozen=True)
class Column:
    label: str
    x: float
    width: float


@dataclass
class Timeline:
    columns: list[Column]
    groups: list[Group]
    links: list[Link]
    width: float
    height: float
    total: int  # scheduled initiatives that pass the filter
    page: int
    pages: int
    first: int  # 1-based number of the first row shown
    last: int
    label_width: float = LABEL_WIDTH
    hidden_links: int = 0  # dependencies with one end on another page


def lead_team(item: ScheduledInitiative) -> str:
    """The team carrying most of an initiative's effort (the first such in its needs' order, on a tie)."""
    totals: dict[str, Decimal] = {}
    for need in item.needs:
        totals[need.team] = totals.get(need.team, Decimal(0)) + Decimal(str(need.effort))
    return max(totals, key=lambda team: totals[team]) if totals else "(no team)"


def _group_key(item: ScheduledInitiative, grouping: str) -> str:
    return lead_team(item) if grouping == "team" else (item.theme or "(no theme)")


def _matches(item: ScheduledInitiative, query: str, shown: str) -> bool:
    if (shown == "visible" and item.invisible) or (shown == "invisible" and not item.invisible):
        return False
    text = query.strip().casefold()
    return not text or text in item.id.casefold() or text in item.title.casefold() or text in item.kind.casefold()


def timeline(scenario: Scenario, plan: Plan, *, grouping: str = "team", query: str = "", shown: str = "all", page: int = 1) -> Timeline:
    """The roadmap: scheduled work in groups (visible work first, invisible work set apart after it), paged.

    Rows are ordered by group, then start, then id, so a page break never reorders what a reader saw."""
    grouping = grouping if grouping in GROUPINGS else "team"
    items = [s for s in plan.scheduled if _matches(s, query, shown)]
    items.sort(key=lambda s: (s.invisible, _group_key(s, grouping), scenario.period_index.get(s.start, 0), s.id))
    pages = max(1, -(-len(items) // PER_PAGE))
    page = min(max(page, 1), pages)
    on_page = items[(page - 1) * PER_PAGE : page * PER_PAGE]

    periods = scenario.periods
    span = max((CHART_WIDTH - LABEL_WIDTH) / max(len(periods), 1), MIN_PERIOD)
    columns = [Column(label, LABEL_WIDTH + n * span, span) for n, label in enumerate(periods)]
    index = scenario.period_index

    groups: list[Group] = []
    y = HEADER
    where: dict[str, Bar] = {}
    for item in on_page:
        key = (item.invisible, _group_key(item, grouping))
        if not groups or (groups[-1].invisible, groups[-1].label) != key:
            y += GROUP_GAP
            groups.append(Group(label=key[1], invisible=key[0], y=y - GROUP_GAP / 2 + 4, bars=[]))
        start, finish = index.get(item.start, 0), index.get(item.finish, 0)
        deadline = scenario.initiative_by_id[item.id].deadline if item.id in scenario.initiative_by_id else None
        deadline_index = index.get(deadline) if deadline else None
        bar = Bar(
            id=item.id,
            title=item.title,
            kind=item.kind,
            invisible=item.invisible,
            required=item.required,
            periods=item.start if start == finish else f"{item.start}..{item.finish}",
            x=LABEL_WIDTH + start * span + 2,
            y=y,
            width=(finish - start + 1) * span - 4,
            deadline=deadline,
            deadline_x=None if deadline_index is None else LABEL_WIDTH + (deadline_index + 1) * span,
            late=deadline_index is not None and finish > deadline_index,
        )
        groups[-1].bars.append(bar)
        where[item.id] = bar
        y += ROW

    links, hidden = [], 0
    for item in on_page:
        for prerequisite in scenario.initiative_by_id[item.id].depends_on if item.id in scenario.initiative_by_id else ():
            if prerequisite not in where:
                hidden += prerequisite in plan.scheduled_by_id()
                continue
            a, b = where[prerequisite], where[item.id]
            x1, y1, x2, y2 = a.x + a.width, a.y + ROW / 2 - 2, b.x, b.y + ROW / 2 - 2
            bend = max(8.0, (x2 - x1) / 2) if x2 > x1 else 8.0
            links.append(Link(prerequisite, item.id, f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"))
    width = max(CHART_WIDTH, LABEL_WIDTH + len(periods) * span)
    first = (page - 1) * PER_PAGE + 1 if on_page else 0
    return Timeline(columns, groups, links, width, y + 8, len(items), page, pages, first, first + len(on_page) - 1 if on_page else 0, hidden_links=hidden)


# --- the sweep's curve --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dot:
    setting: float
    label: str
    x: float
    y: float
    objective: float | None
    status: str
    knee: bool
    entered: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


@dataclass
class Curve:
    dots: list[Dot]
    line: str  # SVG polyline points through the dots that have a plan
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    width: float = 720
    height: float = 320
    left: float = 70
    bottom: float = 280


def curve(sweep: Sweep) -> Curve:
    """Value against the knob: a dot per point, infeasible points marked on the axis, the knee ringed."""
    chart = Curve(dots=[], line="", x_ticks=[], y_ticks=[])
    plot_width, plot_height, top = chart.width - chart.left - 20, chart.bottom - 20, 20
    settings = [p.setting for p in sweep.points]
    values = [p.objective for p in sweep.points if p.objective is not None]
    low_x, high_x = min(settings), max(settings)
    low_y, high_y = (min(values), max(values)) if values else (0.0, 1.0)
    if high_y == low_y:
        low_y, high_y = low_y - 1, high_y + 1
    pad = (high_y - low_y) * 0.08
    low_y, high_y = low_y - pad, high_y + pad

    def x_of(setting: float) -> float:
        return chart.left + (setting - low_x) / ((high_x - low_x) or 1) * plot_width

    def y_of(value: float) -> float:
        return top + (high_y - value) / (high_y - low_y) * plot_height

    for point in sweep.points:
        found = point.objective is not None
        chart.dots.append(
            Dot(
                setting=point.setting,
                label=label(sweep.knob, point.setting),
                x=x_of(point.setting),
                y=y_of(point.objective) if point.objective is not None else chart.bottom,
                objective=point.objective,
                status=point.status.value if point.status is not None else "invalid",
                knee=found and sweep.knee is not None and abs(point.setting - sweep.knee) < 1e-9,
                entered=list(point.entered),
                left=list(point.left),
            )
        )
    chart.line = " ".join(f"{d.x:.1f},{d.y:.1f}" for d in chart.dots if d.objective is not None)
    chart.x_ticks = [(d.x, d.label) for d in chart.dots]
    chart.y_ticks = [(y_of(low_y + (high_y - low_y) * k / 4), f"{low_y + (high_y - low_y) * k / 4:,.0f}") for k in range(5)]
    return chart


@dataclass
class Bin:
    x: float
    y: float
    width: float
    height: float
    tip: str


@dataclass
class Histogram:
    """The simulated value's distribution: a bar per bin, and the planned value and P10/P50/P90 marked."""

    bars: list[Bin]
    marks: list[tuple[float, str, str, float, float, str]]  # (x, class, label, label's x, label's y, its anchor)
    ticks: list[tuple[float, str]]
    width: float = 720
    height: float = 220
    left: float = 40
    bottom: float = 180


def histogram(outlook: ValueOutlook, samples: int) -> Histogram:
    chart = Histogram(bars=[], marks=[], ticks=[])
    low, high = outlook.histogram[0][0], outlook.histogram[-1][1]
    span = (high - low) or 1.0
    tallest = max(count for _, _, count in outlook.histogram) or 1
    plot_width, plot_height = chart.width - chart.left - 20, chart.bottom - 60  # the marks' labels above the bars

    def x_of(value: float) -> float:
        return chart.left + (value - low) / span * plot_width

    for a, b, count in outlook.histogram:
        height = count / tallest * plot_height
        share = count / samples if samples else 0.0
        chart.bars.append(Bin(x_of(a), chart.bottom - height, max(1.0, x_of(b) - x_of(a) - 1), height, f"{a:,.1f} to {b:,.1f}: {count} samples ({share:.1%})"))
    marks = [(outlook.p10, "quantile", "P10"), (outlook.p50, "median", "P50"), (outlook.p90, "quantile", "P90"), (outlook.planned, "planned", "planned")]
    for row, (value, css, name) in enumerate((v, css, name) for v, css, name in marks if low <= v <= high):
        x = x_of(value)
        right = x > chart.width * 0.6  # near the right edge a label reads leftwards; each on a line of its own, so none overlap
        chart.marks.append((x, css, f"{name} {value:,.1f}", x - 3 if right else x + 3, 12 + 12 * row, "end" if right else "start"))
    chart.ticks = [(x_of(low + span * k / 4), f"{low + span * k / 4:,.0f}") for k in range(5)]
    return chart


def shade(share: float) -> int:
    """A share of samples as one of eleven shades (0 to 10), for the finish grid's cells (classes, not styles: the page's CSP)."""
    return min(10, max(0, round(share * 10)))
