"""Generated portfolios: seeded, realistic in shape, any size from a team offsite to a whole company.

What "realistic" means here, so the numbers can be argued with:
- Teams of 4 to 12 engineers with a 70% roadmap focus; capacity per period in engineer-weeks (a
  quarter is 13 weeks, a month 4.33, a sprint 2, a week 1), with a dip in one period of the year for
  leave. Each team has one or two of seven skills.
- Demand exceeds capacity about 1.8 to 1: that is why planning is hard.
- Initiatives: about 70% features and 30% invisible work (tech debt, compliance, fairness audits,
  infrastructure). Effort is log-normal (most are small, a few are big), on one to three teams, over one
  to three periods (scaled to the granularity). One initiative in eight needs a skill rather than a team.
- Values from RICE inputs: reach log-normal (a heavy tail: a few initiatives touch most users), impact on
  the usual 0.25 / 0.5 / 1 / 2 / 3 scale, confidence 0.5 / 0.8 / 1. Invisible work reaches fewer users.
- Dependency chains: a quarter of the initiatives depend on one or two earlier ones nearby in the list
  (the same product area). A few pairs of alternatives exclude each other.
- Mandatory invisible work with deadlines (compliance dates), about 4% of initiatives and at most a
  tenth of capacity, placed so the deadline leaves room; a few committed starts.
- Policies: an invisible-work floor of 15% of capacity in every quarter or month and a 25% floor on the
  infrastructure teams; by the sprint or week only a 10% floor (a floor per two-week sprint is rarely a
  real policy, and one per sprint and team leaves few valid plans at all). Theme shares (growth at most
  45%, trust at least 8%), 5% value decay per quarter.

A second setting, `mix="wide"`, is the same with the two things that make selection hardest for a MILP's
relaxation and for a greedy rank: most initiatives (80%) span two to four teams, split unevenly, and values
spread over four orders of magnitude (reach log-normal with sigma 2, impact from 0.1 to 10).

`GENERATOR_VERSION` changes whenever the same seed would give a different portfolio.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path
from typing import Any

import yaml

from planner.periods import Granularity, period_labels

MIXES = ("standard", "wide")
GENERATOR_VERSION = 1  # not yet published in a report: still free to change

SKILLS = ["backend", "frontend", "data", "ml", "infra", "mobile", "security"]
INVISIBLE = ["tech_debt", "compliance", "fairness_audit", "infrastructure"]
THEMES = ["growth", "trust", "scale", "cost", "governance"]
WEEKS = {"quarter": 13, "month": 4.33, "sprint": 2, "week": 1}
PERIODS_PER_YEAR = {"quarter": 4, "month": 12, "sprint": 26, "week": 52}
START = {"quarter": "2027-Q1", "month": "2027-01", "sprint": "S01", "week": "2027-W01"}


def _amount(x: float) -> float:
    """Efforts and capacities in whole tenths of an engineer-week, well inside the format's hundredths."""
    return max(0.1, round(x, 1))


def portfolio(initiatives: int, teams: int, periods: int, *, granularity: str = "quarter", seed: int = 0, mix: str = "standard") -> dict[str, Any]:
    """A scenario document (the same dict a YAML file would give) with the given shape."""
    if granularity not in WEEKS:
        raise ValueError(f"granularity must be one of {', '.join(WEEKS)}")
    if mix not in MIXES:
        raise ValueError(f"mix must be one of {', '.join(MIXES)}")
    wide = mix == "wide"
    rng = random.Random(f"{GENERATOR_VERSION}:{initiatives}:{teams}:{periods}:{granularity}:{seed}" + (":wide" if wide else ""))
    weeks = WEEKS[granularity]
    labels = period_labels(START[granularity], periods, Granularity(granularity))
    per_year = PERIODS_PER_YEAR[granularity]
    # Durations in periods: about one to three quarters of calendar time, at least one period.
    scale = max(1, round(13 / weeks))

    team_docs: list[dict[str, Any]] = []
    capacity_of: dict[str, list[float]] = {}
    infra_teams: list[str] = []
    for t in range(teams):
        tid = f"team{t + 1:02d}"
        headcount = rng.randint(4, 12)
        base = headcount * 0.7 * weeks
        leave = rng.randrange(per_year)  # the period of the year with summer or winter leave
        capacity = [_amount(base * (0.8 if k % per_year == leave else 1.0)) for k in range(periods)]
        skills = sorted(set(rng.sample(SKILLS, rng.choice([1, 1, 2]))))
        if t < max(1, teams // 5):
            skills = sorted(set(skills) | {"infra"})
            infra_teams.append(tid)
        team_docs.append({"id": tid, "name": f"Team {t + 1}", "capacity": capacity if len(set(capacity)) > 1 else capacity[0], "skills": skills})
        capacity_of[tid] = capacity
    total_capacity = sum(sum(c) for c in capacity_of.values())
    skills_held = sorted({skill for team in team_docs for skill in team["skills"]})

    # Effort per initiative so that total demand is about 1.8 x capacity (log-normal, sigma 0.8).
    mean_effort = 1.8 * total_capacity / initiatives
    mu = math.log(mean_effort) - 0.8**2 / 2
    mandatory_budget = 0.1 * total_capacity
    team_ids = list(capacity_of)
    docs: list[dict[str, Any]] = []
    for n in range(initiatives):
        invisible = rng.random() < 0.3
        kind = rng.choice(INVISIBLE) if invisible else "feature"
        theme = rng.choice(["scale", "governance", "trust"]) if invisible else rng.choice(THEMES)
        total = rng.lognormvariate(mu, 0.8)
        duration = min(periods, rng.choice([1, 1, 1, 2, 2, 3]) * scale)
        home = rng.choice(infra_teams if invisible and rng.random() < 0.5 else team_ids)
        shares = [(home, 1.0)]
        if wide and rng.random() < 0.8:  # two to four teams, uneven splits
            others = rng.sample([t for t in team_ids if t != home], min(len(team_ids) - 1, rng.choice([1, 2, 3])))
            weights = [rng.uniform(0.2, 1.0) for _ in range(len(others) + 1)]
            shares = [(team, w / sum(weights)) for team, w in zip([home, *others], weights, strict=True)]
        elif not wide and rng.random() < 0.4:
            shares = [(home, 0.6), (rng.choice(team_ids), 0.4)]
        doc: dict[str, Any] = {"id": f"i{n + 1:04d}", "title": f"{kind.replace('_', ' ').capitalize()} {n + 1}", "kind": kind, "theme": theme}
        effort: dict[str, float] = {}
        for team, share in shares:
            effort[team] = _amount(effort.get(team, 0) + total * share)
        if rng.random() < 0.125:  # a skill need: any team with the skill may take it
            doc["needs"] = [{"skill": rng.choice(skills_held), "effort": _amount(total * 0.5)}]
            effort = {team: _amount(e * 0.5) for team, e in effort.items()}
        doc["effort"] = effort
        doc["duration"] = duration
        reach = rng.lognormvariate(math.log(8 if invisible else 20), 2.0 if wide else 1.0)
        impacts = [0.1, 0.25, 0.5, 1, 2, 3, 5, 10] if wide else [0.25, 0.5, 1, 1, 2, 3]
        doc["rice"] = {"reach": max(0.1, round(reach, 1)), "impact": rng.choice(impacts), "confidence": rng.choice([0.5, 0.8, 0.8, 1])}
        if n > 0 and rng.random() < 0.25:
            nearby = list(range(max(0, n - 15), n))
            doc["depends_on"] = sorted({f"i{p + 1:04d}" for p in rng.sample(nearby, min(len(nearby), rng.choice([1, 1, 2])))})
        docs.append(doc)

    # Compliance dates: mandatory invisible work without prerequisites, with room before the deadline,
    # about 4% of the initiatives and at most a tenth of the capacity.
    def size(doc: dict[str, Any]) -> float:
        return sum(doc["effort"].values())

    def fits(doc: dict[str, Any]) -> bool:
        """Its load on each team stays within the share of that team's capacity left for required work."""
        return all(effort / doc["duration"] <= room[team] for team, effort in doc["effort"].items())

    # Per team and period: at most 40% of the smallest capacity goes to mandatory work, so it always fits.
    room = {team: 0.4 * min(capacity) for team, capacity in capacity_of.items()}
    candidates = [d for d in docs if d["kind"] != "feature" and "depends_on" not in d and "needs" not in d and size(d) <= mandatory_budget / 2]
    rng.shuffle(candidates)
    wanted = max(1, round(0.04 * initiatives))
    for doc in candidates:
        if wanted == 0 or size(doc) > mandatory_budget:
            break
        if not fits(doc):
            continue
        wanted -= 1
        mandatory_budget -= size(doc)
        for team, effort in doc["effort"].items():
            room[team] -= effort / doc["duration"]
        doc["mandatory"] = True
        last = rng.randrange(min(periods - 1, doc["duration"] - 1 + periods // 2), periods)
        doc["deadline"] = labels[last]
    # Alternatives: a few optional pairs that exclude each other.
    optional = [d for d in docs if not d.get("mandatory") and "depends_on" not in d]
    for _ in range(initiatives // 50):
        a, b = rng.sample(optional, 2)
        if a["id"] != b["id"] and b["id"] not in a.get("excludes", []) and a["id"] not in b.get("excludes", []):
            a.setdefault("excludes", []).append(b["id"])

    return {
        "name": f"generated-{initiatives}x{teams}x{periods}-{granularity}{'-wide' if wide else ''}-s{seed}",
        "description": f"Generated by bench/generate.py version {GENERATOR_VERSION}{', mix wide' if wide else ''}, seed {seed}: "
        f"{initiatives} initiatives, {teams} teams, {periods} {granularity}s.",
        "horizon": {"start": START[granularity], "periods": periods, "granularity": granularity},
        "unit": "engineer-weeks",
        "teams": team_docs,
        "themes": [{"id": t} for t in THEMES],
        "policies": {
            "scoring": "rice",
            "value_decay_per_period": round(0.05 * 4 / per_year, 4),
            "invisible_work": {"min_share": 0.15, "team_min_share": {t: 0.25 for t in infra_teams}} if weeks > 2 else {"min_share": 0.10},
            "themes": {"growth": {"max_share": 0.45}, "trust": {"min_share": 0.08}},
        },
        "initiatives": docs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description="Write a generated portfolio scenario (YAML or JSON) to stdout or a file.")
    parser.add_argument("--initiatives", type=int, default=100, help="initiatives (25 to 2000; default 100)")
    parser.add_argument("--teams", type=int, default=8, help="teams (3 to 40; default 8)")
    parser.add_argument("--periods", type=int, default=4, help="periods in the horizon (default 4)")
    parser.add_argument("--granularity", choices=list(WEEKS), default="quarter", help="period length (default quarter)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--mix", choices=MIXES, default="standard", help="standard (default) or wide: multi-team initiatives, values over four orders of magnitude"
    )
    parser.add_argument("--format", choices=["yaml", "json"], default="yaml")
    parser.add_argument("--out", help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    document = portfolio(args.initiatives, args.teams, args.periods, granularity=args.granularity, seed=args.seed, mix=args.mix)
    text = json.dumps(document, indent=1) + "\n" if args.format == "json" else yaml.safe_dump(document, sort_keys=False)
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
