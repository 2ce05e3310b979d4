"""Expected value by a date, and pace: the one computation every feature calls.

Expected value by a date (domain.md): the milestones give the cumulative percent of the way from
baseline to plan by each date, with straight lines between them, 0% at the plan year's start
(Jan 1) and 100% at the deadline; with no milestones it is one straight line from Jan 1 to the
deadline. Day fractions count calendar days: ``(as_of - start).days / (deadline - start).days``,
so the expected value on the deadline itself is the plan.

Pace = (effective − baseline) / (expected − baseline). For a "lower is better" target (accidents,
complaints: the value should fall from the baseline to the plan) both differences are taken the
other way round, (baseline − effective) / (baseline − expected), so a ratio ≥ 1 is always good.

Status, in this order of precedence:

1. ``DONE`` — the effective value has reached the plan (≥ planned; ≤ planned when lower is
   better), whatever the date.
2. ``NOT_STARTED`` — ``as_of`` is before Jan 1 of the plan year.
3. ``OVERDUE`` — ``as_of`` is after the deadline and the plan is not reached.
4. Maintain targets ("hold the line": planned == baseline, e.g. "zero accidents": baseline 0,
   plan 0, lower is better; or a plan on the wrong side of the baseline): there is no way to
   measure progress along, so the target is ``DONE`` while a reported (or verified) effective
   value holds the plan (step 1, ``holds_line``) and ``RED`` as soon as it does not. Never
   reported is *not* done (the score counts it 0 too, the same ``holds_line``): ``NOT_STARTED``
   until the deadline, ``OVERDUE`` after it. ``ratio`` is None.
5. ``NOT_STARTED`` — the plan expects nothing yet (expected == baseline: on Jan 1 itself, or
   before a first milestone of 0%): no judgement can be made. ``ratio`` is None.
6. ``ON_TRACK`` when ratio ≥ yellow (0.9), ``YELLOW`` when red (0.7) ≤ ratio < yellow, ``RED``
   below. The ratio is rounded half-up to 4 places first, and the thresholds compare with that
   rounded ratio (so the status always agrees with the ratio shown).

No report yet (``effective`` None) counts as the baseline, and never as reaching the plan. Expected
values are rounded half-up to 4 decimal places (a value's precision in its measure).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Any

RATIO_PLACES = Decimal("0.0001")
VALUE_PLACES = Decimal("0.0001")
PERCENT_PLACES = Decimal("0.01")
_HUNDRED = Decimal(100)
DIRECTIONS = ("higher", "lower")


class PaceStatus(StrEnum):
    ON_TRACK = "on_track"
    YELLOW = "yellow"
    RED = "red"
    OVERDUE = "overdue"
    DONE = "done"
    NOT_STARTED = "not_started"


@dataclass(frozen=True)
class PacePlan:
    year: int
    baseline: Decimal
    planned: Decimal
    deadline: date
    milestones: tuple[tuple[date, Decimal], ...] = ()  # (date, cumulative percent 0..100 of baseline → plan)
    direction: str = "higher"  # "higher" | "lower" (models.enums.Direction is a str and fits)


@dataclass(frozen=True)
class Pace:
    status: PaceStatus
    expected: Decimal  # expected value by as_of, 4 places
    ratio: Decimal | None  # pace ratio, 4 places; None when expected == baseline or a maintain target
    percent_complete: Decimal  # share of the planned change achieved, ≥ 0, 2 places (may exceed 100)
    gap: Decimal  # how far behind the expected value (positive = behind, negative = ahead)
    days_left: int  # calendar days to the deadline, negative once past


def year_start(plan: PacePlan) -> date:
    return date(plan.year, 1, 1)


def parse_milestones(raw: Any) -> tuple[tuple[date, Decimal], ...]:
    """Milestones as stored on an assignment (``[["2027-03-31", "20"], ...]``) as PacePlan wants them."""
    return tuple(
        (d if isinstance(d, date) else date.fromisoformat(str(d)), p if isinstance(p, Decimal) else Decimal(str(p)))
        for d, p in raw or ()
    )


def _points(plan: PacePlan, start: date) -> list[tuple[date, Decimal]]:
    """(date, percent) corners of the expected curve: Jan 1 at 0%, the usable milestones, the deadline at 100%.

    Milestones on or before Jan 1 or on or after the deadline are dropped, percents are clipped to
    0..100 and made non-decreasing (they are cumulative), and of two on one date the higher wins.
    """
    by_day: dict[date, Decimal] = {}
    for day, percent in plan.milestones:
        if start < day < plan.deadline:
            p = min(max(Decimal(percent), Decimal(0)), _HUNDRED)
            by_day[day] = max(p, by_day.get(day, Decimal(0)))
    points = [(start, Decimal(0))]
    for day in sorted(by_day):
        points.append((day, max(by_day[day], points[-1][1])))
    points.append((plan.deadline, _HUNDRED))
    return points


def expected_percent(plan: PacePlan, as_of: date) -> Decimal:
    """The cumulative percent (0..100) of the way from baseline to plan expected by ``as_of`` (unrounded)."""
    start = year_start(plan)
    if as_of >= plan.deadline:
        return _HUNDRED
    if as_of <= start:
        return Decimal(0)
    points = _points(plan, start)
    for (d0, p0), (d1, p1) in pairwise(points):
        if d0 <= as_of < d1:
            return p0 + (p1 - p0) * Decimal((as_of - d0).days) / Decimal((d1 - d0).days)
    return _HUNDRED  # pragma: no cover - as_of < deadline always falls in a segment


def holds_line(direction: str, planned: Decimal, value: Decimal | None) -> bool:
    """Whether a value reaches (holds) the plan: at least the plan, at most for "lower is better". Nothing
    reported (None) never does. The one rule of "done" for pace and of a hold-the-line target's score."""
    if value is None:
        return False
    return value <= planned if str(direction) == "lower" else value >= planned


def expected_value(plan: PacePlan, as_of: date) -> Decimal:
    """The value expected by ``as_of``: baseline + (planned − baseline) × percent / 100, 4 places.

    Before or on Jan 1 of the plan year it is the baseline; on and after the deadline, the plan.
    """
    percent = expected_percent(plan, as_of)
    if percent == 0 or plan.planned == plan.baseline:
        return plan.baseline
    if percent == _HUNDRED:
        return plan.planned
    raw = plan.baseline + (plan.planned - plan.baseline) * percent / _HUNDRED
    return raw.quantize(VALUE_PLACES, rounding=ROUND_HALF_UP)


def pace(
    plan: PacePlan,
    effective: Decimal | None,
    as_of: date,
    *,
    yellow: Decimal = Decimal("0.9"),
    red: Decimal = Decimal("0.7"),
) -> Pace:
    """Where an assignment stands on ``as_of`` given its effective value (None: no report yet).

    See the module docstring for the rules and the order in which statuses are decided.
    """
    if str(plan.direction) not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {plan.direction!r}")
    if red > yellow:
        raise ValueError("the red threshold must not be above the yellow one")
    sign = Decimal(1) if str(plan.direction) == "higher" else Decimal(-1)
    value = plan.baseline if effective is None else effective
    expected = expected_value(plan, as_of)

    progress = sign * (value - plan.baseline)  # change achieved, in the good direction
    planned_change = sign * (plan.planned - plan.baseline)
    expected_change = sign * (expected - plan.baseline)
    gap = abs(gap) if not (gap := sign * (expected - value)) else gap  # never "-0"
    days_left = (plan.deadline - as_of).days
    done = holds_line(str(plan.direction), plan.planned, effective)

    if planned_change > 0:
        percent = max(progress / planned_change * _HUNDRED, Decimal(0)).quantize(PERCENT_PLACES, ROUND_HALF_UP)
    else:
        percent = Decimal("100.00") if done else Decimal("0.00")
    ratio = None
    if planned_change > 0 and expected_change > 0:
        ratio = (progress / expected_change).quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)

    if done:
        status = PaceStatus.DONE
    elif as_of < year_start(plan):
        status = PaceStatus.NOT_STARTED
    elif as_of > plan.deadline:
        status = PaceStatus.OVERDUE
    elif planned_change <= 0:
        status = PaceStatus.NOT_STARTED if effective is None else PaceStatus.RED
    elif ratio is None:
        status = PaceStatus.NOT_STARTED
    elif ratio >= yellow:
        status = PaceStatus.ON_TRACK
    elif ratio >= red:
        status = PaceStatus.YELLOW
    else:
        status = PaceStatus.RED
    return Pace(status=status, expected=expected, ratio=ratio, percent_complete=percent, gap=gap,
                days_left=days_left)
