"""The results workbook: a ranking sheet per class, each unit's breakdown, each assignment's line, peer and
survey statistics as counts only (no scorer, no respondent), items and vetoes, appeals and leading groups;
from a hand-built result and from the command line after publication."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from services.assessment import appeal_records, rounds
from services.assessment.appeal_records import AppealView
from services.assessment.export import write
from services.assessment.rounds import Results
from tests.support.results_factory import county
from tests.support.results_rig import CADRE_EN, seed

TZ = ZoneInfo("Asia/Shanghai")


def _table(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_every_sheet_of_a_hand_built_result(tmp_path: Path) -> None:
    c = county(townships=5, villages=2)
    appeal = AppealView(id=1, year=2027, unit_code="U2", unit_name="青山镇", person_name="张三", reason="数据漏报",
                        status="accepted", created_at=datetime(2027, 3, 23, 10, tzinfo=TZ), decision_reason="属实",
                        decided_by="赵主任", correction=Decimal("2.5"))
    res = Results(year=2027, status="closed", live=False, county=c, appeal_until=datetime(2027, 3, 29, 9, tzinfo=TZ))
    done = write(tmp_path / "results-2027.xlsx", res, [appeal], "zh", TZ)
    assert (done.units, done.classes) == (7, 2)
    wb = load_workbook(done.path)
    assert wb.sheetnames == ["说明", "排名-乡镇", "排名-村", "单位得分", "分类完成", "任务明细", "互评与满意度",
                             "加减分与否决", "申诉", "领导小组", "测评场次"]
    about = {a: b for a, b in wb["说明"].iter_rows(values_only=True)}
    assert about["状态"] == "（已定稿）" and about["考核规则校验值（SHA-256）"] == "ab" * 32
    assert about["数据截止日"] == "2027-12-31"
    ranking = _table(wb["排名-乡镇"])
    assert [(r["排名"], r["单位名称"]) for r in ranking] == [(1, "城关镇"), (2, "青山镇"), (3, "河口镇"), (4, "石桥镇"),
                                                           (5, "龙泉镇")]
    assert ranking[0]["总分"] == 95.456 and wb["排名-乡镇"]["D2"].number_format == "0.00"
    assert [r["后三位"] for r in ranking] == [None, None, "是", "是", "是"] and ranking[4]["否决"] == "是"
    units = _table(wb["单位得分"])
    assert len(units) == 7 and units[0]["交叉考核得分"] == 85.5 and units[0]["满意率"] == 0.9
    lines = _table(wb["任务明细"])
    assert len(lines) == 14 and lines[0]["目标名称"] == "招商引资到位资金1" and lines[0]["完成率"] == 0.8
    stats = _table(wb["互评与满意度"])
    assert stats[0]["互评份数"] == 4 and stats[0]["答卷数"] == 40 and stats[0]["不满意"] == 4
    headers = [c.value for c in wb["互评与满意度"][1]]
    assert not any("人" in h or "respondent" in h.lower() for h in headers)  # counts, never identities
    items = _table(wb["加减分与否决"])
    assert {r["类型"] for r in items} == {"加分", "扣分", "一票否决"}
    (row,) = _table(wb["申诉"])
    assert (row["申诉号"], row["状态"], row["申诉更正"], row["处理人"]) == (1, "已受理", 2.5, "赵主任")
    groups = _table(wb["领导小组"])
    assert [(g["领导小组"], g["分线结果"], g["未完成（目标/单位）"]) for g in groups] == [
        ("招商引资工作领导小组", "未全部完成（取消评优）", "T1/U1"), ("农业产业化领导小组", "全部完成（奖励）", None)]


async def test_the_command_line_exports_the_published_results_in_english(rig, cli, tmp_path: Path) -> None:
    await seed(rig)
    preview = await cli("assess", "export", "--out", str(tmp_path / "preview.xlsx"))
    assert preview.code == 0 and "4个单位，2个类别" in preview.out
    assert load_workbook(tmp_path / "preview.xlsx")["说明"]["B2"].value == "预览（未公示）"
    await rounds.publish(2027, 7, actor="cli", uow=rig.db.uow(), clock=rig.clock)
    await appeal_records.appeal("漏计到位资金", user_id=CADRE_EN, update_id=None, uow=rig.db.uow(), clock=rig.clock)
    out = tmp_path / "results-2027.xlsx"
    done = await cli("assess", "export", "2027", "--out", str(out), DUBAN_LOCALE="en")
    assert done.code == 0 and "4 units in 2 classes" in done.out
    wb = load_workbook(out)
    assert wb.sheetnames[:3] == ["About", "Ranking-乡镇", "Ranking-村"]
    ranking = _table(wb["Ranking-乡镇"])
    assert [(r["Rank"], r["Unit code"], r["Total"]) for r in ranking] == [(1, "T1", 100), (2, "T2", 65),
                                                                          (3, "T3", 20)]
    (appeal,) = _table(wb["Appeals"])
    assert (appeal["Unit code"], appeal["Status"], appeal["Appellant"]) == ("T2", "pending", "Li Wei")
    (group,) = _table(wb["Leading groups"])
    assert group["Outcome"] == "not all complete (honours withheld)" and "TA/T2" in group["Not complete (target/unit)"]
    missing = await cli("assess", "export", "2031", "--out", str(tmp_path / "x.xlsx"))
    assert missing.code == 1 and "2031年度没有考核" in missing.err
