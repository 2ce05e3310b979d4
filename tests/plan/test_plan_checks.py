"""Plan checks that warn, never refuse (issue #15 §4, §7), through ``duban plan import``: a leader lacking one of
the four link kinds, a project link to a target of another category, a linked person who is not a leader, and
a unit whose assignment weights per category break its class's category weights in the rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import func, select

from models.plan import Assignment, LeaderLink, Target
from tests.support.plan_factory import write_plan_xlsx


def _target(code: str, category: str, pillar: str = "") -> dict:
    return {"code": code, "year": 2027, "title": f"{code}目标", "category": category, "measure": "万元",
            "direction": "higher", "mode": "continuous", "deadline": date(2027, 12, 31), "report_interval_days": 7,
            "pillar": pillar}


PLAN = {
    "units": [{"code": "T1", "name": "城关镇", "kind": "township", "class": "乡镇"},
              {"code": "V1", "name": "红星村", "kind": "village", "class": "村"},
              {"code": "E1", "name": "清河电力", "kind": "enterprise", "class": "企业"}],
    "targets": [_target("TI", "industry", "电力能源"), _target("TP", "project_delivery"),
                _target("TN", "investment"), _target("TO", "other")],
    # T1's weights: industry 2, project 1, investment 1 → shares 0.50 / 0.25 / 0.25; the shipped rules for 乡镇
    # (0.35 / 0.25 / 0.25, other 0.15 shared out as T1 has no "other" target) → 0.41 / 0.29 / 0.29: warned.
    # V1 has one target (weights all equal): nothing to compare.
    "assignments": [{"target_code": "TI", "unit_code": "T1", "planned_value": Decimal(100), "weight": Decimal(2)},
                    {"target_code": "TP", "unit_code": "T1", "planned_value": Decimal(100), "weight": Decimal(1)},
                    {"target_code": "TN", "unit_code": "T1", "planned_value": Decimal(100), "weight": Decimal(1)},
                    {"target_code": "TO", "unit_code": "V1", "planned_value": Decimal(10), "weight": Decimal(1)}],
    "people": [{"code": "L1", "name": "王县长", "role": "leader"},
               {"code": "L2", "name": "李县长", "role": "leader"},
               {"code": "C1", "name": "张三", "unit_code": "V1", "role": "cadre"}],
    "groups": [],
    "links": [{"leader_code": "L1", "kind": "investment_project", "target_code": "TP"},  # not an investment
              {"leader_code": "L1", "kind": "key_project", "target_code": "TP"},
              {"leader_code": "L1", "kind": "enterprise", "unit_code": "E1"},
              {"leader_code": "C1", "kind": "lagging_village", "unit_code": "V1"}],  # not a leader
}


async def test_the_import_warns_and_still_imports(rig, cli, tmp_path) -> None:
    path = write_plan_xlsx(tmp_path / "plan.xlsx", PLAN)
    done = await cli("plan", "import", str(path))
    assert done.code == 0, done.err
    out = done.out
    assert "提醒（不影响导入，请核对）：5条" in out
    assert "联系点（investment_project）指向的目标 TP 属于类别 project_delivery，应为 investment" in out
    assert "C1 有联系点，但不是领导角色" in out
    assert "县级领导 L1 缺少联系点：lagging_village" in out
    assert "县级领导 L2 缺少联系点：investment_project, key_project, enterprise, lagging_village" in out
    assert ("单位 T1（乡镇）各类目标的权重占比与考核规则的分类权重不一致（实际/规则）：industry 0.50/0.41, "
            "project_acquisition+project_delivery 0.25/0.29, investment 0.25/0.29" in out)
    async with rig.db.read_uow() as uow:  # imported all the same
        s = uow.session
        assert (await s.exec(select(func.count()).select_from(Assignment))).one() == 4
        assert (await s.exec(select(func.count()).select_from(LeaderLink))).one() == 4
        assert (await s.exec(select(Target.pillar).where(Target.code == "TI"))).one() == "电力能源"

    english = await cli("plan", "import", str(path), "--dry-run", DUBAN_LOCALE="en")
    assert english.code == 0 and "Warnings (the plan is imported; please check): 5" in english.out
    assert "C1 has linked items but is not a leader" in english.out
