"""The arithmetic of services/scoring/formula.py (read its docstring for the rules), on data already loaded.
Pure functions; the caller sets the decimal context."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from services.scoring.load import AssignmentRow, ItemRow, ScoringData, TargetRow, UnitRow
from services.scoring.results import AssignmentLine, CountyResult, GroupResult, ItemLine, SurveyStats, UnitResult
from services.scoring.rules import ClassRules, Rules, category_groups

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
COMPONENTS = ("completion", "peer", "inspection")
T = TypeVar("T")


def ratio_of(direction: str, baseline: Decimal, planned: Decimal, value: Decimal | None) -> tuple[Decimal, str]:
    """The unclamped ratio of a value against its plan, and the note explaining a special case."""
    if value is None:
        return ZERO, "no_report"
    sign = ONE if direction != "lower" else -ONE
    planned_change = sign * (planned - baseline)
    if planned_change <= 0:
        held = sign * (value - planned) >= 0
        return (ONE if held else ZERO), ("planned_equals_baseline" if planned_change == 0 else "plan_behind_baseline")
    return sign * (value - baseline) / planned_change, ""


def _build(cls: type[T], fields: dict[str, Any]) -> T:
    """A frozen result dataclass without its generated ``__init__`` (5× faster; 20,000 lines per
    ranking). The dataclasses have no ``__post_init__``; ``fields`` must name every field."""
    obj = object.__new__(cls)
    obj.__dict__.update(fields)
    return obj


def line_of(row: AssignmentRow, target: TargetRow, cap: Decimal) -> AssignmentLine:
    claimed, verified = row.claimed, row.verified
    lowered = claimed is not None and verified is not None and verified < claimed
    value = verified if lowered else claimed
    ratio, note = ratio_of(target.direction, row.baseline, row.planned, value)
    points = row.weight * (ZERO if ratio <= 0 else (ratio if ratio < cap else cap))
    return _build(AssignmentLine, {
        "assignment_id": row.id, "target_code": target.code, "target_title": target.title,
        "measure": target.measure, "mode": target.mode, "direction": target.direction, "baseline": row.baseline,
        "planned": row.planned, "value": value, "ratio": ratio, "weight": row.weight, "points": points,
        "complete": ratio >= 1, "note": note, "claimed": claimed, "verified": lowered,
        "category": target.category,
    })


def completion(lines: list[AssignmentLine]) -> Decimal:
    weights = sum((line.weight for line in lines), ZERO)
    if weights == 0:
        return ZERO
    return HUNDRED * sum((line.points for line in lines), ZERO) / weights


def by_category(lines: list[AssignmentLine], weights: dict[str, Decimal]
                ) -> tuple[Decimal, dict[str, Decimal], dict[str, Decimal]]:
    """Completion with category weights (issue #15): C_k = completion of the lines of key k (a category, or
    "project" for both project categories); C = Σ w_k·C_k / Σ w_k over the keys the unit has lines in (a
    key without lines shares its weight out in proportion). Returns C, every C_k and the weights as applied."""
    group = category_groups(weights)
    parts: dict[str, list[AssignmentLine]] = defaultdict(list)
    for line in lines:
        parts[group.get(line.category, "other" if "other" in weights else next(iter(weights)))].append(line)
    present = [k for k in weights if parts.get(k)]
    wsum = sum((weights[k] for k in present), ZERO)
    per = {k: completion(parts[k]) for k in present}
    if wsum == 0:
        return completion(lines), per, {k: ZERO for k in present}
    applied = {k: weights[k] / wsum for k in present}
    return sum((weights[k] * per[k] for k in present), ZERO) / wsum, per, applied


def trimmed_mean(scores: list[Decimal]) -> Decimal | None:
    """Mean of the scores; with 5 or more, after dropping one highest and one lowest."""
    if not scores:
        return None
    ordered = sorted(scores)
    if len(ordered) >= 5:
        ordered = ordered[1:-1]
    return sum(ordered, ZERO) / len(ordered)


def combine(rules: ClassRules, parts: dict[str, Decimal | None]) -> tuple[Decimal, dict[str, Decimal]]:
    """The weighted base score and the weights as applied (missing components redistributed)."""
    configured = {"completion": rules.weights.completion, "peer": rules.weights.peer,
                  "inspection": rules.weights.inspection}
    present = [k for k in COMPONENTS if parts[k] is not None]
    wsum = sum((configured[k] for k in present), ZERO)
    if wsum == 0:
        parts_c = parts["completion"] or ZERO
        return parts_c, {k: (ONE if k == "completion" else ZERO) for k in COMPONENTS}
    base = sum((configured[k] * parts[k] for k in present), ZERO) / wsum  # type: ignore[operator]
    applied = {k: (configured[k] / wsum if k in present else ZERO) for k in COMPONENTS}
    return base, applied


def band_of(rules: ClassRules, total: Decimal) -> str:
    shown = total.quantize(CENT, rounding=ROUND_HALF_UP)
    if shown >= rules.bands.excellent:
        return "excellent"
    if shown >= rules.bands.good:
        return "good"
    if shown >= rules.bands.pass_:
        return "pass"
    return "fail"


def bottom_count(n: int, count: int = 3) -> int:
    """How many of the last ranks of a class of n are flagged (排名后三位): ``count`` (the rules'
    bottom_count) when n ≥ 2 × count, else the last one when n ≥ 2, else none."""
    if count <= 0:
        return 0
    if n >= 2 * count:
        return count
    if n >= 2:
        return 1
    return 0


def survey_of(rules: ClassRules, counts: dict[str, int]) -> SurveyStats:
    satisfied, basic, unsatisfied = counts.get("satisfied", 0), counts.get("basic", 0), counts.get("unsatisfied", 0)
    answers = satisfied + basic + unsatisfied
    rate = Decimal(satisfied + basic) / answers if answers else None
    below_minimum = answers < rules.survey_min_answers
    veto = rate is not None and not below_minimum and rate < rules.survey_threshold
    return SurveyStats(answers=answers, satisfied=satisfied, basic=basic, unsatisfied=unsatisfied, rate=rate,
                       veto=veto, below_minimum=below_minimum, threshold=rules.survey_threshold,
                       min_answers=rules.survey_min_answers)


def _item(row: ItemRow) -> ItemLine:
    return ItemLine(id=row.id, kind=row.kind, points=row.points, reason=row.reason, evidence=row.evidence)


def _sum(items: list[ItemRow], kind: str) -> Decimal:
    return sum((i.points or ZERO for i in items if i.kind == kind), ZERO)


def _score_unit(unit: UnitRow, rows: list[AssignmentRow], data: ScoringData, rules: ClassRules) -> dict:
    cap, targets = rules.completion_cap, data.targets
    lines = [line_of(r, targets[r.target_id], cap) for r in rows]
    lines.sort(key=lambda x: (x.target_code, x.assignment_id))
    categories: dict[str, Decimal] = {}
    category_weights: dict[str, Decimal] = {}
    if rules.category_weights:
        c, categories, category_weights = by_category(lines, rules.category_weights)
    else:
        c = completion(lines)
    peer_scores, insp_scores = data.scores.get((unit.id, "peer"), []), data.scores.get((unit.id, "inspection"), [])
    p, i = trimmed_mean(peer_scores), trimmed_mean(insp_scores)
    base, weights = combine(rules, {"completion": c, "peer": p, "inspection": i})
    items = data.items.get(unit.id, [])
    bonus_claimed, deduction_claimed = _sum(items, "bonus"), _sum(items, "deduction")
    bonus, deduction = min(bonus_claimed, rules.bonus_limit), min(deduction_claimed, rules.deduction_limit)
    correction = _sum(items, "correction")
    survey = survey_of(rules, data.survey.get(unit.id, {}))
    vetoes = [_item(x) for x in items if x.kind == "veto"]
    reasons = (["item"] if vetoes else []) + (["survey"] if survey.veto else [])
    total = base + bonus - deduction + correction
    return dict(
        unit_id=unit.id, unit_code=unit.code, unit_name=unit.name, unit_class=unit.unit_class, lines=lines,
        completion=c, peer=p, peer_count=len(peer_scores), inspection=i, inspection_count=len(insp_scores),
        bonus=bonus, deduction=deduction, correction=correction,
        items=[_item(x) for x in items if x.kind != "veto"], vetoes=vetoes, survey=survey, total=total,
        vetoed=bool(reasons), failed_targets=sorted({ln.target_code for ln in lines if not ln.complete}),
        weights=weights, veto_reasons=reasons, bonus_claimed=bonus_claimed, deduction_claimed=deduction_claimed,
        band=band_of(rules, total), categories=categories, category_weights=category_weights, caps=[],
    )


def rank_class(scored: list[dict], rules: ClassRules) -> list[UnitResult]:
    """Rank, grade and flag the units of one class."""
    scored.sort(key=lambda u: (u["vetoed"], -u["total"], -u["completion"], u["unit_code"]))
    n = len(scored)
    quota = int((n * rules.top_share).to_integral_value(rounding=ROUND_FLOOR))
    excellent = 0
    out = []
    flagged = bottom_count(n, rules.bottom_count)
    for rank, u in enumerate(scored, start=1):
        grade = "fail" if u["vetoed"] else u["band"]
        if grade == "excellent" and u["caps"]:
            grade = "good"  # a cap (issue #15): not 优秀, and the quota goes to the next
        if grade == "excellent":
            excellent += 1
            if excellent > quota:
                grade = "good"
        out.append(UnitResult(**u, rank=rank, class_size=n, grade=grade, bottom=rank > n - flagged))
    return out


def groups_of(data: ScoringData, units: list[dict]) -> list[GroupResult]:
    """Each leading group's line (分线履职) from the scored units (dicts of ``_score_unit``)."""
    group_of = {t.code: t.leading_group_id for t in data.targets.values()}
    in_round = {row.target_id for row in data.assignments}
    owned = {data.targets[tid].leading_group_id for tid in in_round} - {None}
    failing: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for unit in units:
        for line in unit["lines"]:
            if not line.complete and (gid := group_of[line.target_code]) is not None:
                failing[gid].append((line.target_code, unit["unit_code"]))
    out = []
    for gid in owned:
        assert gid is not None
        code, name = data.groups.get(gid, (str(gid), ""))
        head_code, head_name = data.heads.get(gid, ("", ""))
        fails = sorted(failing.get(gid, []))
        out.append(GroupResult(group_id=gid, code=code, name=name, complete=not fails, failing=fails,
                               head_code=head_code, head_name=head_name))
    return sorted(out, key=lambda g: g.code)


def caps_of(unit: dict, rules: ClassRules, data: ScoringData, failed_lines: set[int | None]) -> list[str]:
    """Why a unit may not be 优秀 (the rules' caps that are on and apply), in a fixed order."""
    group_of = {t.code: t.leading_group_id for t in data.targets.values()}
    lines = unit["lines"]
    out = []
    if rules.caps.failed_group_target and any(not ln.complete and group_of[ln.target_code] is not None
                                              for ln in lines):
        out.append("failed_group_target")
    if rules.caps.failed_line and any(group_of[ln.target_code] in failed_lines for ln in lines):
        out.append("failed_line")
    if rules.caps.criticised and unit["unit_id"] in data.criticised:
        out.append("criticised")
    return out


def assemble(data: ScoringData, *, year: int, rules: Rules, cutoff: date) -> CountyResult:
    rows_by_unit: dict[int, list[AssignmentRow]] = defaultdict(list)
    for row in data.assignments:
        rows_by_unit[row.unit_id].append(row)
    classes: dict[str, list[dict]] = defaultdict(list)
    for uid, unit in data.units.items():
        classes[unit.unit_class].append(_score_unit(unit, rows_by_unit[uid], data, rules.for_class(unit.unit_class)))
    groups = groups_of(data, [u for scored in classes.values() for u in scored])
    failed_lines: set[int | None] = {g.group_id for g in groups if not g.complete}
    units: list[UnitResult] = []
    for name in sorted(classes):
        class_rules = rules.for_class(name)
        for u in classes[name]:
            u["caps"] = caps_of(u, class_rules, data, failed_lines)
        units += rank_class(classes[name], class_rules)
    return CountyResult(year=year, cutoff=cutoff, rules_hash=rules.hash, units=units, groups=groups)
