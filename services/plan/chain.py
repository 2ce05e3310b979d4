"""Continuous targets that continue last year's (连续考核, issue #15 §3): the targets sheet's ``continues`` column
names last year's target code. Checked here: the code exists (in the file or the system), is a target of the year
before, both are continuous with the same measure and direction, no target is continued twice, and every unit
assigned the new target was assigned the old one. ``carry_baselines`` gives an assignment of a continuing target
whose baseline cell is empty the baseline of the unit's assignment of last year's target; the cumulative value
carries in services/progress/effective.py (``with_carried``)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from services.plan.spec import Problem
from services.plan.state import Existing
from services.plan.workbook import ParsedPlan, Row


def _target(plan: ParsedPlan, ex: Existing, code: str) -> dict[str, Any] | None:
    """year, mode, measure, direction of a target of the file (preferred) or the system."""
    for row in plan.rows("targets"):
        if row.values.get("code") == code and row.ok("code"):
            return {k: row.values.get(k) for k in ("year", "mode", "measure", "direction", "continues")}
    t = ex.targets.get(code)
    if t is None:
        return None
    return {"year": t.year, "mode": str(t.mode), "measure": t.measure, "direction": str(t.direction),
            "continues": ex.target_codes.get(t.continues_id) if t.continues_id else None}


def continued_by(plan: ParsedPlan, ex: Existing) -> dict[str, str]:
    """Target code → the code of last year's target it continues (file rows win over the system)."""
    out = {code: ex.target_codes[t.continues_id] for code, t in ex.targets.items()
           if t.continues_id is not None and t.continues_id in ex.target_codes}
    for row in plan.rows("targets"):
        if row.ok("code"):
            if row.values.get("continues") and row.ok("continues"):
                out[row.values["code"]] = row.values["continues"]
            else:
                out.pop(row.values["code"], None)
    return out


def _assigned(plan: ParsedPlan, ex: Existing) -> dict[tuple[str, str], Row | Any]:
    found: dict[tuple[str, str], Any] = dict(ex.assignments)
    for row in plan.rows("assignments"):
        if row.ok("target_code", "unit_code"):
            found[(row.values["target_code"], row.values["unit_code"])] = row
    return found


def check(plan: ParsedPlan, ex: Existing) -> list[Problem]:
    problems: list[Problem] = []

    def add(sheet: str, row: Row, column: str, key: str, **params: object) -> None:
        problems.append(Problem(sheet, row.number, column, row.raw.get(column) or None, key, params))

    successors: dict[str, list[Row]] = defaultdict(list)
    for row in plan.rows("targets"):
        old_code = row.values.get("continues")
        if not old_code or not row.ok("continues", "code"):
            continue
        old = _target(plan, ex, old_code)
        if old is None:
            add("targets", row, "continues", "plan.ref.unknown_target")
            continue
        successors[old_code].append(row)
        if old_code == row.values["code"] or (row.ok("year") and old["year"] != row.values["year"] - 1):
            add("targets", row, "continues", "plan.continues.year", year=row.values.get("year", "?"))
        elif row.ok("mode") and (row.values["mode"] != "continuous" or old["mode"] != "continuous"):
            add("targets", row, "continues", "plan.continues.mode")
        elif (row.ok("measure") and old["measure"] != row.values["measure"]) or (
                row.ok("direction") and old["direction"] != row.values["direction"]):
            add("targets", row, "continues", "plan.continues.measure", measure=old["measure"])
    for rows in successors.values():
        if len(rows) > 1:
            for row in rows:
                add("targets", row, "continues", "plan.continues.twice",
                    rows=", ".join(str(r.number) for r in rows))
    chain = continued_by(plan, ex)
    assigned = _assigned(plan, ex)
    for row in plan.rows("assignments"):
        if not row.ok("target_code", "unit_code"):
            continue
        old_code = chain.get(row.values["target_code"])
        if old_code and (old_code, row.values["unit_code"]) not in assigned and _target(plan, ex, old_code):
            add("assignments", row, "unit_code", "plan.continues.unit", target=old_code)
    return problems


def carry_baselines(plan: ParsedPlan, ex: Existing) -> None:
    """An empty baseline cell of a continuing target's assignment takes last year's assignment's baseline."""
    chain = continued_by(plan, ex)
    assigned = _assigned(plan, ex)
    for row in plan.rows("assignments"):
        if not row.ok("target_code", "unit_code") or (row.raw.get("baseline_value") or "").strip():
            continue
        old = assigned.get((chain.get(row.values["target_code"], ""), row.values["unit_code"]))
        if isinstance(old, Row):
            baseline = old.values.get("baseline_value") if old.ok("baseline_value") else None
        else:
            baseline = getattr(old, "baseline_value", None)
        if isinstance(baseline, Decimal):
            row.values["baseline_value"] = baseline
