"""`duban progress export`: the half-year review table as of a date, read back cell by cell."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from models.plan import Assignment, Target
from models.progress import ProgressReport, TargetAdjustment
from tests.support.factories import add_person, add_unit

TZ = ZoneInfo("Asia/Shanghai")
ZH_HEADERS = ["目标编码", "目标名称", "类别", "单位编码", "责任单位", "计量单位", "基数", "计划值", "完成时限",
              "截至当日应完成", "上报值", "认定值", "完成率", "进度状态", "最近上报时间", "最近上报人"]
EN_HEADERS = ["Target code", "Target", "Category", "Unit code", "Unit", "Measure", "Baseline", "Planned", "Deadline",
              "Expected by date", "Claimed", "Effective", "Complete", "Pace", "Last report", "Last reporter"]


def at(y: int, m: int, d: int, hh: int, mm: int) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


async def seed(rig) -> None:
    """Two villages, four targets, five assignments; reports before, on and after 2027-06-30; and an
    adjustment of T1/V1 approved from July (the assignment already carries the new plan)."""
    v1 = await add_unit(rig.db, rig.clock, code="V1", name="青山村")
    v2 = await add_unit(rig.db, rig.clock, code="V2", name="绿水村")
    zhang = await add_person(rig.db, rig.clock, name="张三", unit=v1, telegram_user_id=200)
    li = await add_person(rig.db, rig.clock, name="李四", unit=v1, telegram_user_id=201)
    wang = await add_person(rig.db, rig.clock, name="王五", unit=v2, telegram_user_id=300)
    async with rig.db.uow() as uow:
        s = uow.session
        t1 = Target(code="T1", year=2027, title="招商引资到位资金", category="investment", measure="万元",
                    mode="zero_base", deadline=date(2027, 12, 31))
        t2 = Target(code="T2", year=2027, title="新建高标准农田", category="industry", measure="亩",
                    mode="continuous", deadline=date(2027, 10, 31))
        t3 = Target(code="T3", year=2027, title="新建村级驿站", category="project_delivery", measure="个",
                    mode="zero_base", deadline=date(2027, 6, 30))
        t4 = Target(code="T0", year=2027, title="春季植树", category="other", measure="亩",
                    mode="zero_base", deadline=date(2027, 5, 31))
        s.add_all([t1, t2, t3, t4])
        await s.flush()
        a11 = Assignment(target_id=t1.id, unit_id=v1.id, planned_value=Decimal(1500))  # 1000 until July
        a12 = Assignment(target_id=t1.id, unit_id=v2.id, planned_value=Decimal("200.5"), baseline_value=Decimal(20))
        a21 = Assignment(target_id=t2.id, unit_id=v1.id, planned_value=Decimal(500))
        a32 = Assignment(target_id=t3.id, unit_id=v2.id, planned_value=Decimal(3))
        a02 = Assignment(target_id=t4.id, unit_id=v2.id, planned_value=Decimal(80))
        s.add_all([a11, a12, a21, a32, a02])
        await s.flush()
        s.add_all([
            ProgressReport(assignment_id=a11.id, reporter_person_id=zhang.id, value=Decimal(400),
                           confirmed_at=at(2027, 5, 10, 10, 30)),
            ProgressReport(assignment_id=a11.id, reporter_person_id=li.id, value=Decimal(470),
                           confirmed_at=at(2027, 6, 30, 23, 30)),  # the last evening still counts
            ProgressReport(assignment_id=a11.id, reporter_person_id=zhang.id, value=Decimal(900),
                           confirmed_at=at(2027, 7, 1, 0, 5)),  # after the end of the day: ignored
            ProgressReport(assignment_id=a32.id, reporter_person_id=wang.id, value=Decimal(3),
                           confirmed_at=at(2027, 6, 2, 8, 0)),
            ProgressReport(assignment_id=a02.id, reporter_person_id=wang.id, value=Decimal("30.25"),
                           confirmed_at=at(2027, 4, 1, 9, 15)),
            TargetAdjustment(assignment_id=a11.id, requested_by_person_id=zhang.id, field_name="planned_value",
                             old_value="1000", new_value="1500", reason="新增两个签约项目", status="approved",
                             requested_at=at(2027, 6, 20, 9, 0), effective_from=date(2027, 7, 1),
                             decided_at=at(2027, 6, 25, 9, 0)),
        ])
        await uow.commit()


def read(path: Path) -> list[list[object]]:
    ws = load_workbook(path).active
    return [list(row) for row in ws.iter_rows(values_only=True)]


async def test_the_table_stands_as_of_the_end_of_the_day(cli, rig, tmp_path) -> None:
    await seed(rig)
    out = tmp_path / "progress.xlsx"
    result = await cli("progress", "export", "--as-of", "2027-06-30", "--out", str(out))
    assert result.code == 0, result.err
    assert result.out.strip() == f"已写入 5 行（截至 2027-06-30）：{out}"
    rows = read(out)
    assert rows[0] == ZH_HEADERS
    assert [(r[0], r[3]) for r in rows[1:]] == [("T0", "V2"), ("T1", "V1"), ("T1", "V2"), ("T2", "V1"), ("T3", "V2")]
    overdue, t1v1, t1v2, t2v1, t3v2 = rows[1:]
    # T1/V1: the report of July 1st 00:05 does not count; the plan is the old 1000 until July.
    # Expected 1000 × 180/364 days = 494.5055; pace 470 / 494.5055 = 0.9504.
    assert t1v1 == ["T1", "招商引资到位资金", "招商引资", "V1", "青山村", "万元", 0, 1000, datetime(2027, 12, 31),
                    494.5055, 470, 470, 0.47, "正常", datetime(2027, 6, 30, 23, 30), "李四"]
    # No report: value cells empty, pace judged from the baseline.
    assert t1v2 == ["T1", "招商引资到位资金", "招商引资", "V2", "绿水村", "万元", 20, 200.5, datetime(2027, 12, 31),
                    109.2582, None, None, 0, "红色预警", None, None]
    assert t2v1[8:] == [datetime(2027, 10, 31), 297.0297, None, None, 0, "红色预警", None, None]
    assert t3v2[2] == "项目落实" and t3v2[10:] == [3, 3, 1, "已完成", datetime(2027, 6, 2, 8, 0), "王五"]
    assert overdue[2] == "其他" and overdue[7:] == [80, datetime(2027, 5, 31), 80, 30.25, 30.25, 0.3781, "逾期",
                                                   datetime(2027, 4, 1, 9, 15), "王五"]


async def test_cells_are_typed_and_the_sheet_is_ready_to_filter(cli, rig, tmp_path) -> None:
    await seed(rig)
    out = tmp_path / "p.xlsx"
    assert (await cli("progress", "export", "--as-of", "2027-06-30", "--out", str(out))).code == 0
    ws = load_workbook(out).active
    assert ws.title == "进度 2027-06-30"
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:P6"
    assert ws.column_dimensions["B"].width == 30
    assert all(c.font.bold for c in ws[1])
    row = {ws.cell(1, c).value: ws.cell(3, c) for c in range(1, 17)}  # T1/V1
    for header in ("基数", "计划值", "截至当日应完成", "上报值", "认定值", "完成率"):
        assert row[header].data_type == "n", header
    assert row["计划值"].number_format == "#,##0"
    assert row["截至当日应完成"].number_format == "#,##0.####"
    assert row["完成率"].number_format == "0.00%"
    assert row["完成时限"].number_format == "yyyy-mm-dd"
    assert row["最近上报时间"].number_format == "yyyy-mm-dd hh:mm"


async def test_later_dates_see_the_later_report_and_the_new_plan(cli, rig, tmp_path) -> None:
    await seed(rig)
    out = tmp_path / "july.xlsx"
    assert (await cli("progress", "export", "--as-of", "2027-07-01", "--out", str(out))).code == 0
    t1v1 = read(out)[2]
    assert t1v1[7] == 1500 and t1v1[10:12] == [900, 900] and t1v1[13:] == ["正常", datetime(2027, 7, 1, 0, 5), "张三"]


async def test_english_headers_and_statuses(cli, rig, tmp_path) -> None:
    await seed(rig)
    out = tmp_path / "en.xlsx"
    result = await cli("progress", "export", "--as-of", "2027-06-30", "--out", str(out), DUBAN_LOCALE="en")
    assert result.code == 0, result.err
    assert result.out.strip() == f"Wrote 5 rows (as of 2027-06-30) to {out}"
    rows = read(out)
    assert rows[0] == EN_HEADERS
    assert [(r[2], r[13]) for r in rows[1:]] == [
        ("Other", "Overdue"), ("Investment attraction", "On track"), ("Investment attraction", "Red alert"),
        ("Industry cultivation", "Red alert"), ("Project delivery", "Done"),
    ]
    assert load_workbook(out).active.title == "Progress 2027-06-30"


async def test_a_malformed_date_is_a_usage_error(cli, rig, tmp_path) -> None:
    for bad in ("2027-13-01", "30/06/2027", "2027-02-30", "tomorrow"):
        result = await cli("progress", "export", "--as-of", bad, "--out", str(tmp_path / "x.xlsx"))
        assert result.code == 2, bad
        assert f"日期“{bad}”无效" in result.err and "YYYY-MM-DD" in result.err
    assert not (tmp_path / "x.xlsx").exists()
    result = await cli("progress", "export", "--as-of", "June", "--out", "x.xlsx", DUBAN_LOCALE="en")
    assert result.code == 2 and '"June" is not a date' in result.err


async def test_an_empty_database_gives_a_header_only_sheet(cli, rig, tmp_path) -> None:
    out = tmp_path / "sub" / "empty.xlsx"
    result = await cli("progress", "export", "--out", str(out))
    assert result.code == 0, result.err
    today = datetime.now(TZ).date().isoformat()
    assert result.out.strip() == f"已写入 0 行（截至 {today}）：{out}"  # --as-of defaults to today
    assert read(out) == [ZH_HEADERS]
    ws = load_workbook(out).active
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:P1"
