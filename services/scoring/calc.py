"""The arithmetic of services/scoring/formula.py (read its docstring for the rules), on data already loaded.
Pure functions; the caller sets the decimal context."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

from services.progress.pace import parse_milestones
from services.scoring.lines import build_frozen, explain
from services.scoring.load import Decimals, ItemRow, ScoringData, UnitRow, deadline_of, value_at
from services.scoring.points import ONE, ZERO, assess, missed_milestones, stood
from services.scoring.results import CountyResult, GroupResult, ItemLine, SurveyStats, UnitResult
from services.scoring.rules import ClassRules, Rules, category_groups

HUNDRED = Decimal(100)
CENT = Decimal("0.01")
COMPONENTS = ("completion", "peer", "inspection")

# A scored assignment, as the ranking keeps it: (target code, assignment id, weight, points, complete, target).
# Tuples sort by target code, then id: the order of the lines, in which the points are summed.
Fact = tuple[str, int, Decimal, Decimal, bool, Any]


def facts_of(data: ScoringData, rules: Rules) -> tuple[dict[int, list[Fact]], dict[int, list[Any]]]:
    """Every assignment's points and completeness, by unit (sorted as the lines are), from the main query's
    rows: services/scoring/points.py's ``assess`` on the effective values alone (``load.value_at``), no line
    objects. Also each unit's rows, for its lines when they are read (services/scoring/lines.py)."""
    num, targets, undo, undo_deadline, carried, at_days = (Decimals(), data.targets, data.undo, data.undo_deadline,
                                                           data.carried, data.raw_at)
    class_rules = {uid: rules.for_class(unit.unit_class) for uid, unit in data.units.items()}
    facts: dict[int, list[Fact]] = defaultdict(list)
    raw: dict[int, list[Any]] = defaultdict(list)
    for r in data.raw:
        aid, uid, target = r[0], r[1], targets[r[2]]
        direction, own, cls = target.direction, carried.get(aid), class_rules[uid]
        baseline, planned, weight = num[r[3]], undo[aid] if aid in undo else num[r[4]], num[r[5]]
        now = value_at(r, direction, own, num)
        past, on_time, due, missed = False, None, 0, 0
        if at_days:  # deadlines (and milestones) before the cut-off
            deadline = deadline_of(r, undo_deadline, targets)
            then = at_days.get(deadline, {}).get(aid) if deadline is not None else None
            if then is not None:
                past, on_time = True, stood(direction, value_at(then, direction, own, num), now)
            if cls.milestone_weight > 0 and r[13]:
                marks = tuple((day, pct, value_at(at_days[day][aid], direction, own, num))
                              for day, pct in parse_milestones(r[13]) if day in at_days and aid in at_days[day])
                due, missed = missed_milestones(direction, baseline, planned, data.year, deadline, marks, now)
        scored = assess(cls, direction, baseline, planned, weight, now, past, on_time, due, missed)  # type: ignore[arg-type]
        facts[uid].append((target.code, aid, weight, scored[5], scored[2], target))
        raw[uid].append(r)
    for unit_facts in facts.values():
        unit_facts.sort()
    return facts, raw


def completion(facts: list[Fact]) -> Decimal:
    """C = 100 × Σ points / Σ weights, summed in the lines' order (0 without weight)."""
    weights = sum((f[2] for f in facts), ZERO)
    if weights == 0:
        return ZERO
    return HUNDRED * sum((f[3] for f in facts), ZERO) / weights


def by_category(facts: list[Fact], weights: dict[str, Decimal]
                ) -> tuple[Decimal, dict[str, Decimal], dict[str, Decimal]]:
    """Completion with category weights (issue #15): C_k = completion of the lines of key k (a category, or
    "project" for both project categories); C = Σ w_k·C_k / Σ w_k over the keys the unit has lines in (a
    key without lines shares its weight out in proportion). Returns C, every C_k and the weights as applied."""
    group = category_groups(weights)
    parts: dict[str, list[Fact]] = defaultdict(list)
    for fact in facts:
        parts[group.get(fact[5].category, "other" if "other" in weights else next(iter(weights)))].append(fact)
    present = [k for k in weights if parts.get(k)]
    wsum = sum((weights[k] for k in present), ZERO)
    per = {k: completion(parts[k]) for k in present}
    if wsum == 0:
        return completion(facts), per, {k: ZERO for k in present}
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


def _score_unit(unit: UnitRow, facts: list[Fact], data: ScoringData, rules: ClassRules) -> dict:
    categories: dict[str, Decimal] = {}
    category_weights: dict[str, Decimal] = {}
    if rules.category_weights:
        c, categories, category_weights = by_category(facts, rules.category_weights)
    else:
        c = completion(facts)
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
        unit_id=unit.id, unit_code=unit.code, unit_name=unit.name, unit_class=unit.unit_class,
        completion=c, peer=p, peer_count=len(peer_scores), inspection=i, inspection_count=len(insp_scores),
        bonus=bonus, deduction=deduction, correction=correction,
        items=[_item(x) for x in items if x.kind != "veto"], vetoes=vetoes, survey=survey, total=total,
        vetoed=bool(reasons), failed_targets=sorted({f[0] for f in facts if not f[4]}),
        weights=weights, veto_reasons=reasons, bonus_claimed=bonus_claimed, deduction_claimed=deduction_claimed,
        band=band_of(rules, total), categories=categories, category_weights=category_weights, caps=[],
    )


def rank_class(scored: list[dict], rules: ClassRules) -> list[UnitResult]:
    """Rank, grade and flag the units of one class (``scored``: ``_score_unit``'s dicts, each with ``_explain``,
    what builds its lines when they are read: ``UnitResult.lines``)."""
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
        out.append(build_frozen(UnitResult, {**u, "rank": rank, "class_size": n, "grade": grade,
                                       "bottom": rank > n - flagged}))
    return out


def groups_of(data: ScoringData, facts: dict[int, list[Fact]]) -> list[GroupResult]:
    """Each leading group's line (分线履职) from the scored assignments of the units in the round."""
    codes = {uid: unit.code for uid, unit in data.units.items()}
    owned: set[int] = set()
    failing: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for uid, unit_facts in facts.items():
        for f in unit_facts:
            if (gid := f[5].leading_group_id) is not None:
                owned.add(gid)
                if not f[4]:
                    failing[gid].append((f[0], codes[uid]))
    out = []
    for gid in owned:
        code, name = data.groups.get(gid, (str(gid), ""))
        head_code, head_name = data.heads.get(gid, ("", ""))
        fails = sorted(failing.get(gid, []))
        out.append(GroupResult(group_id=gid, code=code, name=name, complete=not fails, failing=fails,
                               head_code=head_code, head_name=head_name))
    return sorted(out, key=lambda g: g.code)


def caps_of(unit_id: int, facts: list[Fact], rules: ClassRules, data: ScoringData,
            failed_lines: set[int | None]) -> list[str]:
    """Why a unit may not be 优秀 (the rules' caps that are on and apply), in a fixed order."""
    out = []
    if rules.caps.failed_group_target and any(not f[4] and f[5].leading_group_id is not None for f in facts):
        out.append("failed_group_target")
    if rules.caps.failed_line and any(f[5].leading_group_id in failed_lines for f in facts):
        out.append("failed_line")
    if rules.caps.criticised and unit_id in data.criticised:
        out.append("criticised")
    return out


def assemble(data: ScoringData, *, year: int, rules: Rules, cutoff: date) -> CountyResult:
    """Score, rank, grade and flag every unit from the data read; each unit's lines are left to be built on
    first read (services/scoring/lines.py)."""
    facts, raw = facts_of(data, rules)
    classes: dict[str, list[dict]] = defaultdict(list)
    for uid, unit in data.units.items():
        class_rules = rules.for_class(unit.unit_class)
        scored = _score_unit(unit, facts.get(uid, []), data, class_rules)
        scored["_explain"] = partial(explain, data, raw.get(uid, []), class_rules)
        classes[unit.unit_class].append(scored)
    groups = groups_of(data, facts)
    failed_lines: set[int | None] = {g.group_id for g in groups if not g.complete}
    units: list[UnitResult] = []
    for name in sorted(classes):
        class_rules = rules.for_class(name)
        for u in classes[name]:
            u["caps"] = caps_of(u["unit_id"], facts.get(u["unit_id"], []), class_rules, data, failed_lines)
        units += rank_class(classes[name], class_rules)
    return CountyResult(year=year, cutoff=cutoff, rules_hash=rules.hash, units=units, groups=groups)
