"""What a computed assessment looks like: one UnitResult per unit, grouped in a CountyResult.
services/scoring/formula.py computes them; the round (publish/close), /score, /ranking, the chart and the
export only read them. ``to_json``/``from_json`` turn a UnitResult into the frozen snapshot stored
in assessment_results.data and back, losslessly (Decimals as strings)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class AssignmentLine:
    """One assignment's part of the completion score."""

    assignment_id: int
    target_code: str
    target_title: str
    measure: str
    mode: str  # zero_base / continuous
    direction: str  # higher / lower
    baseline: Decimal  # the assignment's baseline (zero-base: reports before the year's start are ignored)
    planned: Decimal
    value: Decimal | None  # the effective value at the cut-off; None: nothing reported
    ratio: Decimal | None  # unclamped; None when it cannot be computed (see note)
    weight: Decimal
    points: Decimal  # weight × min(max(ratio, 0), cap)
    complete: bool  # ratio ≥ 1
    note: str = ""  # "", "no_report", "planned_equals_baseline" or "plan_behind_baseline"
    claimed: Decimal | None = None  # the latest report's value at the cut-off (None: no report counted)
    verified: bool = False  # value is an inspection's verified value, lower than claimed
    category: str = ""  # the target's category (industry / project_acquisition / ... / other)
    verified: bool = False  # the claim is beyond the standing verified value: the verified value counts
    deadline: str = ""  # ISO day, as it stood on the cut-off day
    on_time_value: Decimal | None = None  # the effective value as it stood at the deadline (deadline < cut-off)
    on_time_ratio: Decimal | None = None  # its ratio
    reached_on: str | None = None  # ISO day the counted value reaching the plan was reported or verified
    late: bool = False  # the plan was reached only after the deadline
    milestones_due: int = 0  # milestones weighed (their day before the cut-off and the deadline)
    milestones_missed: int = 0


@dataclass(frozen=True)
class ItemLine:
    """A bonus, deduction, veto or appeal correction as it counted."""

    id: int
    kind: str  # bonus / deduction / veto / correction
    points: Decimal | None
    reason: str
    evidence: str = ""


@dataclass(frozen=True)
class SurveyStats:
    answers: int = 0
    satisfied: int = 0
    basic: int = 0
    unsatisfied: int = 0
    rate: Decimal | None = None  # (satisfied + basic) / answers; None without answers
    veto: bool = False  # below the threshold with at least the minimum answers
    below_minimum: bool = True  # fewer answers than the minimum: the rate does not veto
    threshold: Decimal | None = None  # the class's survey_threshold used
    min_answers: int = 0  # the class's survey_min_answers used


@dataclass(frozen=True)
class UnitResult:
    unit_id: int
    unit_code: str
    unit_name: str
    unit_class: str
    lines: list[AssignmentLine]
    completion: Decimal  # C, 0..100×cap, unrounded
    peer: Decimal | None  # P, trimmed mean; None without scores
    peer_count: int
    inspection: Decimal | None  # I, trimmed mean; None without scores
    inspection_count: int
    bonus: Decimal  # applied (after the limit)
    deduction: Decimal  # applied (after the limit), positive
    correction: Decimal  # sum of accepted appeal corrections (signed)
    items: list[ItemLine]
    vetoes: list[ItemLine]
    survey: SurveyStats
    total: Decimal  # unrounded; ranking uses this
    rank: int  # 1-based within the class
    class_size: int
    grade: str  # excellent / good / pass / fail
    vetoed: bool  # a one-vote veto or the survey veto
    bottom: bool  # flagged for leadership review (排名后三位)
    failed_targets: list[str] = field(default_factory=list)  # target codes below plan: leaders explain
    # Component weights as applied: the rules' weights, redistributed over the components that have
    # scores ({"completion": .., "peer": .., "inspection": ..}; a missing component has weight 0).
    weights: dict[str, Decimal] = field(default_factory=dict)
    veto_reasons: list[str] = field(default_factory=list)  # "item" (一票否决) and/or "survey"
    bonus_claimed: Decimal = Decimal(0)  # sum of the bonus items before the limit
    deduction_claimed: Decimal = Decimal(0)  # sum of the deduction items before the limit
    band: str = ""  # the grade of the total's band alone (before the veto and the top-grade quota)
    # Issue #15: completion per key of the class's category_weights (only the keys the unit has targets in)
    # and those weights as applied (shared out over them); empty when the class has no category weights.
    categories: dict[str, Decimal] = field(default_factory=dict)
    category_weights: dict[str, Decimal] = field(default_factory=dict)
    caps: list[str] = field(default_factory=list)  # why it is not 优秀 although banded so (rules' caps)

    def __getattr__(self, name: str) -> Any:
        """``lines`` of a result services/scoring/calc.py ranked: built (services/scoring/lines.py) on first
        read and kept. The ranking itself needs none; /score, the exports and the snapshots read them."""
        build = self.__dict__.get("_explain") if name == "lines" else None
        if build is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        lines = build()
        self.__dict__["lines"] = lines
        return lines


@dataclass(frozen=True)
class GroupResult:
    """A leading group (分线履职): rewarded when all its targets are complete, else honours withheld."""

    group_id: int
    code: str
    name: str
    complete: bool
    failing: list[tuple[str, str]]  # (target code, unit code) not complete
    head_code: str = ""  # the group head (组长), who answers for the line
    head_name: str = ""


@dataclass(frozen=True)
class CountyResult:
    year: int
    cutoff: date
    rules_hash: str
    units: list[UnitResult]  # by class, then rank
    groups: list[GroupResult]

    def by_class(self) -> dict[str, list[UnitResult]]:
        out: dict[str, list[UnitResult]] = {}
        for unit in self.units:
            out.setdefault(unit.unit_class, []).append(unit)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def to_json(result: UnitResult) -> dict[str, Any]:
    return _plain(dataclasses.asdict(result))


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def from_json(data: dict[str, Any]) -> UnitResult:
    def line(d: dict[str, Any]) -> AssignmentLine:
        return AssignmentLine(**{**d, "baseline": Decimal(d["baseline"]), "planned": Decimal(d["planned"]),
                                 "value": _dec(d["value"]), "ratio": _dec(d["ratio"]),
                                 "weight": Decimal(d["weight"]), "points": Decimal(d["points"]),
                                 "claimed": _dec(d.get("claimed")), "on_time_value": _dec(d.get("on_time_value")),
                                 "on_time_ratio": _dec(d.get("on_time_ratio"))})

    def item(d: dict[str, Any]) -> ItemLine:
        return ItemLine(**{**d, "points": _dec(d["points"])})

    survey = data["survey"]
    return UnitResult(**{
        **data,
        "lines": [line(x) for x in data["lines"]],
        "completion": Decimal(data["completion"]),
        "peer": _dec(data["peer"]),
        "inspection": _dec(data["inspection"]),
        "bonus": Decimal(data["bonus"]),
        "deduction": Decimal(data["deduction"]),
        "correction": Decimal(data["correction"]),
        "items": [item(x) for x in data["items"]],
        "vetoes": [item(x) for x in data["vetoes"]],
        "survey": SurveyStats(**{**survey, "rate": _dec(survey["rate"]), "threshold": _dec(survey.get("threshold"))}),
        "total": Decimal(data["total"]),
        "failed_targets": list(data.get("failed_targets", [])),
        "weights": {k: Decimal(v) for k, v in data.get("weights", {}).items()},
        "veto_reasons": list(data.get("veto_reasons", [])),
        "bonus_claimed": Decimal(data.get("bonus_claimed", "0")),
        "deduction_claimed": Decimal(data.get("deduction_claimed", "0")),
        "categories": {k: Decimal(v) for k, v in data.get("categories", {}).items()},
        "category_weights": {k: Decimal(v) for k, v in data.get("category_weights", {}).items()},
        "caps": list(data.get("caps", [])),
    })
