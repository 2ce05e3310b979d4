"""Hand-built assessment results (services/scoring/results.py) for the chart, export and view tests that do not
need the scoring itself."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.scoring.results import AssignmentLine, CountyResult, GroupResult, ItemLine, SurveyStats, UnitResult


def line(n: int, value: str | None = "80", planned: str = "100", weight: str = "50") -> AssignmentLine:
    ratio = None if value is None else Decimal(value) / Decimal(planned)
    points = Decimal(weight) * min(max(ratio or Decimal(0), Decimal(0)), Decimal("1.2"))
    return AssignmentLine(
        assignment_id=n, target_code=f"T{n}", target_title=f"招商引资到位资金{n}", measure="万元", mode="zero_base",
        direction="higher", baseline=Decimal(0), planned=Decimal(planned),
        value=None if value is None else Decimal(value), ratio=ratio, weight=Decimal(weight), points=points,
        complete=ratio is not None and ratio >= 1, note="" if value is not None else "no_report")


def unit(n: int, name: str, total: str, rank: int, *, unit_class: str = "乡镇", size: int = 5,
         bottom: bool = False, vetoed: bool = False, code: str | None = None) -> UnitResult:
    items = [ItemLine(id=10 * n + 1, kind="bonus", points=Decimal(2), reason="获省级表彰"),
             ItemLine(id=10 * n + 2, kind="deduction", points=Decimal(1), reason="信息报送迟报")]
    vetoes = [ItemLine(id=10 * n + 3, kind="veto", points=None, reason="发生较大安全生产事故")] if vetoed else []
    return UnitResult(
        unit_id=n, unit_code=code or f"U{n}", unit_name=name, unit_class=unit_class, lines=[line(n), line(n + 100)],
        completion=Decimal("80"), peer=Decimal("85.5"), peer_count=4, inspection=Decimal("88"),
        inspection_count=3, bonus=Decimal(2), deduction=Decimal(1), correction=Decimal(0), items=items,
        vetoes=vetoes,
        survey=SurveyStats(answers=40, satisfied=30, basic=6, unsatisfied=4, rate=Decimal("0.9"), veto=False,
                           below_minimum=False),
        total=Decimal(total), rank=rank, class_size=size, grade="fail" if vetoed else "good", vetoed=vetoed,
        bottom=bottom, failed_targets=["T1"])


TOWNSHIPS = ["城关镇", "青山镇", "河口镇", "石桥镇", "龙泉镇", "白云乡", "双河乡", "新华镇"]


def county(year: int = 2027, townships: int = 5, villages: int = 0) -> CountyResult:
    units = []
    for i in range(townships):
        units.append(unit(i + 1, TOWNSHIPS[i % len(TOWNSHIPS)] + ("" if i < len(TOWNSHIPS) else str(i)),
                          f"{95 - 3 * i}.456", i + 1, size=townships, bottom=i >= townships - 3,
                          vetoed=i == townships - 1))
    for i in range(villages):
        units.append(unit(1000 + i, f"第{i + 1}村", f"{90 - 0.1 * i:.3f}", i + 1, unit_class="村", size=villages,
                          bottom=i >= villages - 3))
    groups = [GroupResult(group_id=1, code="G1", name="招商引资工作领导小组", complete=False,
                          failing=[("T1", "U1")]),
              GroupResult(group_id=2, code="G2", name="农业产业化领导小组", complete=True, failing=[])]
    return CountyResult(year=year, cutoff=date(year, 12, 31), rules_hash="ab" * 32, units=units, groups=groups)
