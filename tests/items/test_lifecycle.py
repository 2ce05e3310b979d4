"""The lifecycle of a supervision item through the fake Bot API (交办 → 签收 → 办理 → 办结 → 核查 → 销号): a leader
opens an item from an alert for two units; one signs, notes its progress and reports done with a photo; the other
does not sign and the reminder climbs to its linked leader; the leader sends one back with a comment and approves
the other; the item closes only when both parts have."""

from __future__ import annotations

from datetime import date

from models.core import OutboxMessage
from models.items import ItemFile, ItemPart
from services.alerts import tick
from tests.support.itemrig import (
    PNG,
    PNG2,
    at,
    audits,
    county,
    forge,
    items,
    notes,
    parts,
    report_done,
    rows,
    told,
)


async def test_an_item_from_an_alert_for_two_units_closes_when_both_parts_do(bot) -> None:
    c = await county(bot.db, bot.clock)
    liu, zhang, wang, chen = (bot.fake.user(i) for i in (400, 200, 300, 401))
    # Monday 2027-03-22 09:00: nothing reported on T1 (10 公里 by 31 December) is red; its linked leader is told.
    await tick.tick(bot.clock.now(), uow=bot.db.uow())
    pushed = await told(bot, liu, "进度严重滞后")
    alert_id = int(next(d for _, d in pushed.buttons() if d.startswith("it:al:")).rsplit(":", 1)[1])

    # 交办: the 督办 button on the alert; the unit and the task come from it, the leader adds a second unit.
    await liu.press_button(pushed, f"督办 #{alert_id}")
    ask = await liu.wait_reply()
    assert "预警</b> #1" in ask.text and "青山村" in ask.text and ("就这些单位", "ni:keep:units") in ask.buttons()
    await liu.send_text("青山村 V2")
    assert "绿水村" in (deadline := await liu.wait_reply()).text and "（2 个）" in deadline.text
    await liu.send_text("10")  # ten working days from Monday 2027-03-22 (2027: plain weekends) -> 2027-04-05
    task = await liu.wait_reply()
    assert "2027-04-05" in task.text and "村道硬化" in task.text and "查明落后原因" in task.text
    await liu.press_button(task, "用这段内容")
    summary = await liu.wait_reply()
    assert "青山村、绿水村" in summary.text and "未挂牌" in summary.text
    assert await items(bot.db) == []  # nothing before Confirm
    await liu.press(summary, next(d for _, d in summary.buttons() if d.startswith("ni:y:")))
    assert "已交办督办件 #1：2 个单位" in (await liu.wait_reply()).text
    (item,) = await items(bot.db)
    assert (item.source, item.alert_id, item.deadline, item.opened_by_person_id) == (
        "alert", alert_id, date(2027, 4, 5), c["liu"].id)
    p1, p2 = await parts(bot.db)
    assert (p1.unit_id, p2.unit_id, p1.state, p2.state) == (c["v1"].id, c["v2"].id, "assigned", "assigned")
    assert p1.sign_due_at == at(date(2027, 3, 22), 17)  # 8 working hours from 09:00
    assert len(await audits(bot.db, "item.open")) == 1

    # Each unit's cadres are told, with Sign; 张三 signs for V1.
    pushed = await told(bot, zhang, "新的督办件 #1")
    assert "请于 2027-03-22 17:00 前签收" in pushed.text
    await told(bot, wang, "新的督办件 #1")
    await zhang.press_button(pushed, "签收")
    signed = await zhang.wait_reply()
    assert "已签收督办件 #1（青山村）" in signed.text
    assert (await parts(bot.db))[0].state == "signed" and (await parts(bot.db))[0].signed_by_person_id == c["zhang"].id

    # 办理: a progress note with a photo (its caption is the note).
    await zhang.press_button(signed, "报进展")
    await zhang.wait_reply()
    await zhang.send_photo(PNG2, caption="已采购路灯，正在安装")
    assert "已收到 1 个" in (await zhang.wait_reply()).text
    await zhang.send_text("/done")
    summary = await zhang.wait_reply()
    assert "已采购路灯" in summary.text
    await zhang.press(summary, next(d for _, d in summary.buttons() if d.startswith("iw:y:")))
    assert "已记录" in (await zhang.wait_reply()).text
    # 办结: a completion report with a photo; the leader gets it with Approve / Has issues / Reject.
    done = await report_done(bot, zhang, p1.id)
    assert "等待 刘县长 核查" in done.text
    review = await told(bot, liu, "待核查")
    assert "路灯已修好" in review.text and "张三" in review.text
    assert [d for _, d in review.buttons()][:3] == [f"it:ok:{p1.id}:1", f"it:iss:{p1.id}:1", f"it:rej:{p1.id}:1"]

    # 王五 does not sign: the next morning's tick climbs to V2's linked leader (and tells 王五 again).
    bot.clock.set(at(date(2027, 3, 23)))
    result = await tick.tick(bot.clock.now(), uow=bot.db.uow())
    assert {(m.person, m.kind) for m in result.messages if m.kind == "item"} == {
        (c["wang"].code, "item"), (c["chen"].code, "item")}
    assert "未按时签收" in (await told(bot, chen, "未按时签收")).text
    await told(bot, wang, "未按时签收")
    await forge(bot, 300, "督办件 #1", "签收", f"it:sign:{p2.id}")  # the Sign button of the first push
    await wang.press_button(await wang.wait_reply(), "签收")
    assert "已签收" in (await wang.wait_reply()).text
    await report_done(bot, wang, p2.id, note="绿水村路灯已修复", photos=(PNG2,))
    review2 = await told(bot, liu, "绿水村")

    # 核查: V1 has issues (back to the unit with the comment), V2 approved; the item stays open.
    await liu.press(review, f"it:iss:{p1.id}:1")
    assert "请输入核查发现的问题" in (await liu.wait_reply()).text
    await liu.send_text("护栏高度不够，请按标准重新安装")
    assert "已退回" in (await liu.wait_reply()).text
    back = await told(bot, zhang, "存在问题")
    assert "护栏高度不够" in back.text and ("报办结", f"it:done:{p1.id}") in back.buttons()
    await liu.press(review2, f"it:ok:{p2.id}:1")
    assert "已核查通过" in (await liu.wait_reply()).text
    p1, p2 = await parts(bot.db)
    assert (p1.state, p1.returns, p2.state) == ("signed", 1, "closed")
    assert (await items(bot.db))[0].state == "open"
    await told(bot, wang, "已销号")

    # V1 reports again and is approved: now the item closes (销号), every step audited.
    await report_done(bot, zhang, p1.id, note="护栏已按标准重新安装", photos=(PNG,))
    again = await told(bot, liu, "此前已退回 1 次")
    await liu.press(again, f"it:ok:{p1.id}:2")
    closing = await liu.wait_reply()
    assert "各单位均已核查完毕" in closing.text
    (item,) = await items(bot.db)
    assert item.state == "closed" and item.closed_at is not None
    assert [n.kind for n in await notes(bot.db)] == ["progress", "report", "report", "issues", "approved", "report",
                                                     "approved"]
    for action in ("item.open", "item.sign", "item.progress", "item.report", "item.issues", "item.approve",
                   "item.close"):
        assert await audits(bot.db, action), action
    assert len(await audits(bot.db, "item.close")) == 1
    assert len(await rows(bot.db, ItemFile)) == 4
    assert len(await rows(bot.db, OutboxMessage, OutboxMessage.kind == "item.closed")) == 0  # the opener closed it
    assert all(p.closed_at for p in await rows(bot.db, ItemPart))
