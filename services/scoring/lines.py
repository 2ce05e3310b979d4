"""The explained breakdown of a unit's completion score (``UnitResult.lines``: one ``AssignmentLine`` per
assignment, with its value, ratio, points, notes and days), for /score, the results workbook, the stored
snapshots and the accountability lines. The ranking does not need it: services/scoring/calc.py computes the
scores from the same rows on values alone and leaves ``explain`` to run on the first read of a unit's lines
(``UnitResult.lines``). Both call services/scoring/points.py's ``assess``, so a line's points are the points
the unit was ranked on (tests/scoring/test_lean_ranking.py checks it)."""

from __future__ import annotations

import decimal
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from services.progress.pace import parse_milestones
from services.scoring.load import AssignmentRow, ScoringData, TargetRow, deadline_of, decimal_of, effective_at
from services.scoring.points import arithmetic, assess, missed_milestones, stood
from services.scoring.results import AssignmentLine
from services.scoring.rules import ClassRules

T = TypeVar("T")


def build_frozen(cls: type[T], fields: dict[str, Any]) -> T:
    """A frozen result dataclass without its generated ``__init__`` (5× faster). The dataclasses have no
    ``__post_init__``; ``fields`` must name every field."""
    obj = object.__new__(cls)
    obj.__dict__.update(fields)
    return obj


def assignment_rows(data: ScoringData, raw: list[Any]) -> list[AssignmentRow]:
    """Rows of the main query as ``AssignmentRow`` values: exact decimals, the effective value at the cut-off and,
    for a deadline before it, at the deadline; each milestone's (when weighed); each plan and deadline as they
    stood on the cut-off day."""
    dec, undo, targets, carried, at_days = decimal_of, data.undo, data.targets, data.carried, data.raw_at
    rows = []
    for r in raw:
        direction, aid, own = targets[r[2]].direction, r[0], carried.get(r[0])
        deadline = deadline_of(r, data.undo_deadline, targets)
        then = at_days.get(deadline, {}).get(aid) if deadline is not None else None
        marks = tuple((day, pct, effective_at(at_days[day][aid], direction, own))
                      for day, pct in parse_milestones(r[13]) if day in at_days and aid in at_days[day]
                      ) if at_days and r[13] else ()
        rows.append(AssignmentRow(aid, r[1], r[2], dec(r[3]), undo[aid] if aid in undo else dec(r[4]),  # type: ignore[arg-type]
                                  dec(r[5]), effective_at(r, direction, own), deadline,  # type: ignore[arg-type]
                                  effective_at(then, direction, own) if then is not None else None, marks))
    return rows


def _day(at: datetime | None, tz: ZoneInfo | None) -> str | None:
    return at.astimezone(tz).date().isoformat() if at is not None else None


def line_of(row: AssignmentRow, target: TargetRow, rules: ClassRules, year: int = 0,
            tz: ZoneInfo | None = None) -> AssignmentLine:
    now, direction = row.effective, target.direction
    on_time_value = stood(direction, row.on_time.value, now.value) if row.on_time is not None else None
    due, missed = (missed_milestones(direction, row.baseline, row.planned, year, row.deadline,
                                     tuple((day, pct, then.value) for day, pct, then in row.milestones), now.value)
                   if rules.milestone_weight > 0 else (0, 0))
    ratio, note, complete, late, on_time_ratio, points = assess(
        rules, direction, row.baseline, row.planned, row.weight, now.value, row.on_time is not None, on_time_value,
        due, missed)
    if row.on_time is None:
        reached = now.at if complete else None
    elif complete:  # on time: the day the value that stood at the deadline was reported or verified
        reached = row.on_time.at if on_time_value == row.on_time.value else now.at
    else:  # reached after the deadline, or not at all
        reached = now.at if late else None
    return build_frozen(AssignmentLine, {
        "assignment_id": row.id, "target_code": target.code, "target_title": target.title,
        "measure": target.measure, "mode": target.mode, "direction": direction, "baseline": row.baseline,
        "planned": row.planned, "value": now.value, "ratio": ratio, "weight": row.weight, "points": points,
        "complete": complete, "note": note, "claimed": now.claimed, "verified": now.unverified_claim,
        "deadline": row.deadline.isoformat() if row.deadline else "", "on_time_value": on_time_value,
        "on_time_ratio": on_time_ratio, "reached_on": _day(reached, tz), "late": late, "milestones_due": due,
        "milestones_missed": missed,
        "category": target.category,
    })


def explain(data: ScoringData, raw: list[Any], rules: ClassRules) -> list[AssignmentLine]:
    """A unit's lines (``raw``: its rows of the main query), by target code: what ``UnitResult.lines`` runs on
    first read, in the score's own decimal context whatever the caller's."""
    with decimal.localcontext(arithmetic()):
        targets = data.targets
        lines = [line_of(r, targets[r.target_id], rules, data.year, data.tz) for r in assignment_rows(data, raw)]
    lines.sort(key=lambda x: (x.target_code, x.assignment_id))
    return lines
