"""One assignment's part of the score (services/scoring/formula.py, §1), on values: its ratio, whether it is
complete, and its points. Both the ranking (services/scoring/calc.py, values only) and the explained lines
(services/scoring/lines.py, with notes and days) call ``assess``: one rule, whoever asks."""

from __future__ import annotations

import decimal
from datetime import date
from decimal import Decimal

from services.progress.effective import better
from services.progress.pace import PacePlan, expected_value, holds_line
from services.scoring.rules import ClassRules

ZERO = Decimal(0)
ONE = Decimal(1)


def arithmetic() -> decimal.Context:
    """The arithmetic every score uses, whatever the caller's decimal context."""
    return decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)


def ratio_of(direction: str, baseline: Decimal, planned: Decimal, value: Decimal | None) -> tuple[Decimal, str]:
    """The unclamped ratio of a value against its plan, and the note explaining a special case."""
    if value is None:
        return ZERO, "no_report"
    sign = ONE if direction != "lower" else -ONE
    planned_change = sign * (planned - baseline)
    if planned_change <= 0:
        held = holds_line(direction, planned, value)
        return (ONE if held else ZERO), ("planned_equals_baseline" if planned_change == 0 else "plan_behind_baseline")
    return sign * (value - baseline) / planned_change, ""


def stood(direction: str, then: Decimal | None, now: Decimal | None) -> Decimal | None:
    """The value as it stood on a past day: its effective value then, unless the one at the cut-off is worse
    (a later inspection or correction found less than was claimed by then)."""
    if then is None or now is None:
        return then
    return now if better(direction, then, now) else then


def missed_milestones(direction: str, baseline: Decimal, planned: Decimal, year: int, deadline: date | None,
                      marks: tuple[tuple[date, Decimal, Decimal | None], ...], now: Decimal | None) -> tuple[int, int]:
    """(due, missed): milestones weighed (``marks``: day, percent, effective value then), before the deadline,
    whose expected value was not reached on their day (the value then, as it ``stood``)."""
    if not marks or deadline is None:
        return 0, 0
    plan = PacePlan(year=year, baseline=baseline, planned=planned, deadline=deadline,
                    milestones=tuple((day, pct) for day, pct, _ in marks), direction=direction)
    due = [(day, then) for day, _, then in marks if day < deadline]
    missed = sum(1 for day, then in due
                 if not holds_line(direction, expected_value(plan, day), stood(direction, then, now)))
    return len(due), missed


def assess(rules: ClassRules, direction: str, baseline: Decimal, planned: Decimal, weight: Decimal,
           now: Decimal | None, past: bool = False, on_time: Decimal | None = None, due: int = 0, missed: int = 0
           ) -> tuple[Decimal, str, bool, bool, Decimal | None, Decimal]:
    """(ratio, note, complete, late, on-time ratio, points) of an assignment whose effective value at the
    cut-off is ``now``; ``past``: its deadline is before the cut-off and ``on_time`` is its value as it stood
    then; ``due``/``missed``: its milestones (``missed_milestones``)."""
    cap = rules.completion_cap
    ratio, note = ratio_of(direction, baseline, planned, now)
    complete, late, on_time_ratio = ratio >= 1, False, None
    if past:  # the deadline is before the cut-off: scored on the value at the deadline
        on_time_ratio, on_time_note = ratio_of(direction, baseline, planned, on_time)
        late = on_time_ratio < 1 <= ratio
        complete = on_time_ratio >= 1
        if ratio > on_time_ratio:
            ratio = on_time_ratio + rules.late_credit * (ratio - on_time_ratio)
        else:
            ratio, note = on_time_ratio, on_time_note
    factor = ONE - rules.milestone_weight * missed / due if due else ONE
    points = weight * (ZERO if ratio <= 0 else (ratio if ratio < cap else cap)) * factor
    return ratio, note, complete, late, on_time_ratio, points
