"""``duban items export``: one row per unit's part, worst light first, texts that look like formulas kept as
text. The command runs at the real time, so the deadlines are far in the past (red) or the future (green)."""

from __future__ import annotations

from datetime import date, datetime

from openpyxl import load_workbook

from models.people import Person
from services.calendar.workdays import WorkCalendar
from services.core.clock import FixedClock
from services.items import lifecycle
from tests.plan.test_text_cells import INJECTIONS, assert_text_only
from tests.support.itemrig import TZ, county


async def test_every_part_with_its_light_as_text_safe_cells(cli, rig, tmp_path) -> None:
    c = await county(rig.db, rig.clock)
    opened = FixedClock(datetime(2019, 12, 2, 9, tzinfo=TZ))
    async with rig.db.uow() as uow:
        s = uow.session
        liu = await s.get(Person, c["liu"].id)
        for task, units, deadline in ((INJECTIONS[0], ("v1", "v2"), date(2099, 12, 31)),
                                      ("清理河道", ("s1",), date(2020, 1, 10)), ("-1", ("v2",), date(2099, 6, 30))):
            await lifecycle.open_item(s, opened, liu, source="instruction", unit_ids=[c[u].id for u in units],
                                      deadline=deadline, task=task, flagged=task == "-1", photos=[], sign_hours=8,
                                      cal=WorkCalendar({}))
        await uow.commit()
    await lifecycle.sign(1, user_id=200, update_id=None, uow=rig.db.uow(), clock=opened)
    out = tmp_path / "items.xlsx"
    result = await cli("items", "export", "--out", str(out))
    assert result.code == 0, result.err
    assert "4 行" in result.out and str(out) in result.out
    rows = [list(r) for r in load_workbook(out).active.iter_rows(values_only=True)]
    assert rows[0][:11] == ["督办件编号", "来源", "任务", "交办人", "交办时间", "办理时限", "挂牌督办", "单位编码",
                            "单位名称", "状态", "灯色"]
    assert [(r[0], r[7], r[9], r[10]) for r in rows[1:]] == [  # worst light first, then the oldest deadline
        (2, "S1", "待签收", "红灯"),  # overdue since 2020
        (3, "V2", "待签收", "黄灯"),  # due in 2099 but never signed for (due 17:00 on 2 December 2019)
        (1, "V2", "待签收", "黄灯"), (1, "V1", "办理中", "绿灯")]  # an item's worst part first
    assert rows[4][13] == "张三" and rows[4][12] == datetime(2019, 12, 2, 9, 0)
    assert rows[2][6] == "是" and rows[1][5] == datetime(2020, 1, 10, 0, 0)
    assert_text_only(out, [INJECTIONS[0], "-1"])
