"""/inspect and /visits through the fake Bot API: the dialogue, bad input, scope, exactly once, restart."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, select, update

from bot.app.persistence import DbPersistence
from models.core import AuditLog, EvidenceFile
from models.enums import Role
from models.inspection import EvidenceFacts, Inspection, InspectionPhoto
from models.people import Person, RoleMembership
from models.plan import Assignment, Target
from tests.support.botrig import running_bot
from tests.support.factories import add_person, add_unit
from tests.support.photos import jpeg

V1 = (30.6000, 104.0600)  # 青山村 (radius 300 m)
V2 = (30.6500, 104.1000)  # 绿水村
T2_SITE = (30.6200, 104.0800)  # T2 has its own site point (radius 200 m)
NEAR_V1 = (30.6005, 104.0602)


async def seed(rig) -> dict:
    """Two villages with points and targets, a department without a point; inspectors, cadres, a leader."""
    v1 = await add_unit(rig.db, rig.clock, code="V1", name="青山村")
    v2 = await add_unit(rig.db, rig.clock, code="V2", name="绿水村")
    d1 = await add_unit(rig.db, rig.clock, code="D1", name="县发改局", kind="department", unit_class="department")
    await add_person(rig.db, rig.clock, name="督查甲", telegram_user_id=500, roles=(Role.INSPECTOR,))
    await add_person(rig.db, rig.clock, name="督查乙", telegram_user_id=501, roles=(Role.INSPECTOR,))
    await add_person(rig.db, rig.clock, name="Inspector C", telegram_user_id=502, roles=(Role.INSPECTOR,),
                     language="en")
    await add_person(rig.db, rig.clock, name="张三", unit=v1, telegram_user_id=200)
    await add_person(rig.db, rig.clock, name="王五", unit=v2, telegram_user_id=300)
    await add_person(rig.db, rig.clock, name="县领导", telegram_user_id=600, roles=(Role.LEADER,))
    async with rig.db.uow() as uow:
        s = uow.session
        for unit, (lat, lon) in ((v1, V1), (v2, V2)):
            unit.latitude, unit.longitude, unit.radius_m = lat, lon, 300
            s.add(unit)
        t1 = Target(code="T1", year=2027, title="招商引资到位资金", category="investment", measure="万元",
                    mode="zero_base", deadline=date(2027, 12, 31))
        t2 = Target(code="T2", year=2027, title="新建高标准农田", category="industry", measure="亩",
                    mode="continuous", deadline=date(2027, 10, 31))
        t3 = Target(code="T3", year=2027, title="绿水村道路硬化", category="other", measure="公里",
                    mode="zero_base", deadline=date(2027, 6, 30))
        s.add_all([t1, t2, t3])
        await s.flush()
        s.add_all([
            Assignment(target_id=t1.id, unit_id=v1.id, planned_value=Decimal(1000)),
            Assignment(target_id=t2.id, unit_id=v1.id, planned_value=Decimal(500), site_latitude=T2_SITE[0],
                       site_longitude=T2_SITE[1], site_radius_m=200),
            Assignment(target_id=t3.id, unit_id=v2.id, planned_value=Decimal(12)),
        ])
        for tg, scope in ((501, "V1"), (502, "village")):
            person = (await s.exec(select(Person).where(Person.telegram_user_id == tg))).one()
            await s.exec(update(RoleMembership).where(RoleMembership.person_id == person.id)  # type: ignore[call-overload]
                         .values(scope=scope))
        await uow.commit()
    return {"v1": v1, "v2": v2, "d1": d1}


def on_site_photo(rig, seed: int = 1, at: tuple[float, float] = (30.6003, 104.0601), hours_ago: float = 0.5) -> bytes:
    return jpeg(seed, taken=rig.clock.now() - timedelta(hours=hours_ago), gps=at)


async def to_location(user, unit: str = "青山村", target: str = "T1") -> None:
    """/inspect <unit> → the target button → the location prompt."""
    await user.send_text(f"/inspect {unit}")
    targets = await user.wait_reply()
    await user.press_button(targets, target)
    await user.wait_reply()


async def share(user, at: tuple[float, float] = NEAR_V1, accuracy: float | None = 12.0):
    await user.send_location(*at, horizontal_accuracy=accuracy)
    return await user.wait_replies(2)


async def send_file(user, data: bytes, name: str = "IMG_0001.jpg"):
    await user.send_document(data, name, "image/jpeg")
    return await user.wait_reply()


async def visit(rig, user, *, unit: str = "青山村", target: str = "T1", at: tuple[float, float] = NEAR_V1,
                photos: tuple[bytes, ...] | None = None, value: str | None = "300", rating: str = "一般",
                confirm: bool = True):
    """The whole dialogue; returns the summary (confirm=False) or the reply to Confirm."""
    await to_location(user, unit, target)
    await share(user, at)
    for data in photos if photos is not None else (on_site_photo(rig),):
        await send_file(user, data)
    await user.send_text("/done")
    await user.wait_reply()
    await user.send_text("现场查看了项目进展")
    await user.wait_reply()
    if value is not None:
        await user.send_text(value)
        await user.wait_reply()
    rating_prompt = user.replies()[-1]
    await user.press_button(rating_prompt, rating)
    summary = await user.wait_reply()
    if not confirm:
        return summary
    await user.press_button(summary, "确认提交" if "确认提交" in str(summary.buttons()) else "Confirm")
    return await user.wait_reply()


async def inspections(rig) -> list[Inspection]:
    async with rig.db.uow() as uow:
        return list((await uow.session.exec(select(Inspection).order_by(col(Inspection.id)))).all())


async def test_full_dialogue_to_confirm_with_a_file_photo_on_site(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    await inspector.send_text("/inspect")
    units = await inspector.wait_reply()
    assert "请选择要督查的单位" in units.text
    assert [t for t, _ in units.buttons()] == ["D1 县发改局", "V1 青山村", "V2 绿水村"]
    await inspector.press_button(units, "V1 青山村")
    targets = await inspector.wait_reply()
    expected = ["T2 新建高标准农田", "T1 招商引资到位资金", "综合督查（不针对具体目标）"]
    assert [t for t, _ in targets.buttons()] == expected
    await inspector.press_button(targets, "T1 招商引资到位资金")
    ask = await inspector.wait_reply()
    assert "发送当前位置" in ask.text
    (button,) = ask.reply_markup["keyboard"][0]
    assert button["request_location"] is True
    ok, ask_photos = await share(inspector, accuracy=8.5)
    assert ok.reply_markup == {"remove_keyboard": True} and "位置已记录" in ok.text
    assert "以“文件”方式发送" in ask_photos.text
    photo = on_site_photo(bot)
    note = await send_file(inspector, photo)
    assert "照片 1 已收到：拍摄于 2027-03-22 08:30，距现场" in note.text and "⚠️" not in note.text
    await inspector.send_text("/done")
    assert "现场发现" in (await inspector.wait_reply()).text
    await inspector.send_text("资金到位情况与台账一致")
    ask_value = await inspector.wait_reply()
    assert "单位上报的累计完成值：无" in ask_value.text and "万元" in ask_value.text
    await inspector.send_text("３００万元")
    rating = await inspector.wait_reply()
    assert "核实值已识别为：300 万元" in rating.text
    await inspector.press_button(rating, "良好")
    summary = await inspector.wait_reply()
    for part in ("青山村（V1）", "T1 招商引资到位资金", "30.60050, 104.06020（精度约 8 米）", "现场照片：1 张",
                 "资金到位情况与台账一致", "核实值：300 万元；上报值：无", "评价：良好", "系统未发现异常"):
        assert part in summary.text, part
    assert await inspections(bot) == []  # nothing is written before Confirm
    await inspector.press_button(summary, "确认提交")
    done = await inspector.wait_reply()
    (row,) = await inspections(bot)
    assert f"第 {row.id} 号" in done.text
    assert done.buttons() == [("开整改单", f"rect:new:{row.id}")]
    assert (row.latitude, row.longitude, row.accuracy_m) == (NEAR_V1[0], NEAR_V1[1], 8.5)
    assert row.verified_value == Decimal(300) and row.claimed_value is None and row.rating == "good"
    assert row.findings == "资金到位情况与台账一致" and row.flags == [] and row.assignment_id is not None
    async with bot.db.uow() as uow:
        s = uow.session
        (attached,) = (await s.exec(select(InspectionPhoto))).all()
        evidence = await s.get(EvidenceFile, attached.evidence_id)
        facts = await s.get(EvidenceFacts, attached.evidence_id)
        audit = (await s.exec(select(AuditLog).where(AuditLog.action == "inspection.create"))).one()
    assert attached.inspection_id == row.id and not attached.compressed and attached.flags == []
    assert evidence.size == len(photo) and bot.app.bot_data.storage.get(evidence.storage_key) == photo
    assert facts.has_exif and facts.taken_at == bot.clock.now() - timedelta(minutes=30)
    assert facts.latitude == pytest.approx(30.6003, abs=1e-5) and facts.phash is not None
    assert audit.before is None and audit.after["unit"] == "V1" and audit.after["verified"] == "300"


async def test_confirm_pressed_twice_writes_one_inspection(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    summary = await visit(bot, inspector, confirm=False)
    data = next(d for t, d in summary.buttons() if t == "确认提交")
    await inspector.press(summary, data)
    await inspector.press(summary, data)
    first, second = await inspector.wait_replies(2)
    (row,) = await inspections(bot)
    assert f"第 {row.id} 号" in first.text and f"第 {row.id} 号" in second.text
    assert "已确认" in second.text and second.buttons() == first.buttons()


@pytest.mark.parametrize("stop_at", ["units", "location", "photos", "summary"])
async def test_cancel_writes_nothing(bot, stop_at) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    if stop_at == "units":
        await inspector.send_text("/inspect")
        await inspector.wait_reply()
    elif stop_at == "location":
        await to_location(inspector)
    elif stop_at == "photos":
        await to_location(inspector)
        await share(inspector)
        await send_file(inspector, on_site_photo(bot))
    else:
        summary = await visit(bot, inspector, confirm=False)
        await inspector.press_button(summary, "取消")
    if stop_at != "summary":
        await inspector.send_text("/cancel")
    bye = await inspector.wait_reply()
    assert "已取消督查" in bye.text and bye.reply_markup == {"remove_keyboard": True}
    assert await inspections(bot) == []
    await inspector.send_text("青山村")  # no dialogue any more
    assert "没有听懂" in (await inspector.wait_reply()).text


async def test_typed_unit_search(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    await inspector.send_text("/inspect")
    await inspector.wait_reply()
    await inspector.send_text("村")  # ambiguous: buttons of the matches
    matches = await inspector.wait_reply()
    assert "找到 2 个单位" in matches.text
    assert [t for t, _ in matches.buttons()] == ["V1 青山村", "V2 绿水村"]
    await inspector.send_text("水")  # unique: straight to its targets
    assert "<b>绿水村</b>" in (await inspector.wait_reply()).text
    await inspector.send_text("/inspect v1")  # a code, any case
    assert "<b>青山村</b>" in (await inspector.wait_reply()).text
    await inspector.send_text("/inspect 火星村")
    unknown = await inspector.wait_reply()
    assert "没有找到与“火星村”匹配的单位" in unknown.text and "V1 青山村" in str(unknown.buttons())


async def test_units_outside_the_scope_are_refused(bot) -> None:
    units = await seed(bot)
    inspector = bot.fake.user(501)  # scope: V1 only
    await inspector.send_text("/inspect")
    menu = await inspector.wait_reply()
    assert [t for t, _ in menu.buttons()] == ["V1 青山村"]
    await inspector.send_text("绿水村")
    assert "“绿水村”不在您的督查范围内" in (await inspector.wait_reply()).text
    forged = {"inline_keyboard": [[{"text": "x", "callback_data": f"ins:u:{units['v2'].id}"}]]}
    menu.message["reply_markup"] = forged  # a forged button for a unit outside the scope
    await inspector.press(menu, f"ins:u:{units['v2'].id}")
    assert "不在您的督查范围内" in (await inspector.wait_reply()).text
    await inspector.send_text("青山")  # the step is still usable
    assert "<b>青山村</b>" in (await inspector.wait_reply()).text
    cadre = bot.fake.user(200)
    await cadre.send_text("/inspect")
    assert "只有督查人员" in (await cadre.wait_reply()).text


async def test_general_visit_skips_the_value_and_uses_the_units_site(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    await to_location(inspector, "青山村", "综合督查")
    await share(inspector)
    await send_file(inspector, on_site_photo(bot))
    await inspector.send_text("/done")
    await inspector.wait_reply()
    await inspector.send_text("村容村貌整洁")
    rating = await inspector.wait_reply()
    assert "请评价现场情况" in rating.text  # no verified value for a general visit
    await inspector.press_button(rating, "良好")
    summary = await inspector.wait_reply()
    assert "综合督查" in summary.text and "核实值" not in summary.text and "系统未发现异常" in summary.text
    await inspector.press_button(summary, "确认提交")
    await inspector.wait_reply()
    (row,) = await inspections(bot)
    assert row.assignment_id is None and row.verified_value is None and row.flags == []


LOCATION_CASES = {
    "text instead": ("在村委会门口", "需要您的当前位置，而不是文字"),
    "other continent": ((48.8566, 2.3522), "不在中国境内"),
    "forwarded": ("forwarded", "不接受转发的位置"),
    "venue": ("venue", "不接受地点"),
}


@pytest.mark.parametrize("case", list(LOCATION_CASES))
async def test_bad_locations_are_explained_and_the_step_stays_usable(bot, case) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    await to_location(inspector)
    given, says = LOCATION_CASES[case]
    if given == "forwarded":
        await inspector.send_location(*NEAR_V1, forwarded=True)
    elif given == "venue":
        point = {"latitude": NEAR_V1[0], "longitude": NEAR_V1[1]}
        await inspector._post(inspector.user, {"location": point, "venue": {
            "location": point, "title": "青山村村委会", "address": "青山村1号"}})
    elif isinstance(given, tuple):
        await inspector.send_location(*given)
    else:
        await inspector.send_text(given)
    refusal = await inspector.wait_reply()
    assert says in refusal.text
    assert refusal.reply_markup["keyboard"][0][0]["request_location"] is True  # the button comes back
    ok, _ = await share(inspector)
    assert "位置已记录" in ok.text


async def test_other_commands_work_in_the_middle_of_a_visit(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    await to_location(inspector)
    await inspector.send_text("/visits")
    assert "没有可查看的督查记录" in (await inspector.wait_reply()).text
    await inspector.send_photo(on_site_photo(bot))  # not what the location step takes
    assert "这一步需要的不是这个" in (await inspector.wait_reply()).text
    assert "发送当前位置" in (await inspector.wait_reply()).text
    ok, _ = await share(inspector)
    assert "位置已记录" in ok.text


STEPS = ["inspect", "target", "location", "photo", "done", "findings", "value"]


async def _act(rig, user, step: str) -> None:
    if step == "inspect":
        await user.send_text("/inspect 青山村")
    elif step == "target":
        await user.press_button(user.replies()[-1], "T1 招商引资到位资金")
    elif step == "location":
        await user.send_location(*NEAR_V1, horizontal_accuracy=10)
        await user.wait_reply()
    elif step == "photo":
        await user.send_document(on_site_photo(rig), "IMG_0001.jpg", "image/jpeg")
    elif step == "done":
        await user.send_text("/done")
    elif step == "findings":
        await user.send_text("重启前记录的情况")
    elif step == "value":
        await user.send_text("280")


@pytest.mark.parametrize("stop_after", STEPS)
async def test_a_new_application_continues_at_the_same_step(rig, monkeypatch, stop_after) -> None:
    async def lost(self, name, key, new_state) -> None:  # PTB's own persistence never writes (kill -9)
        return None

    monkeypatch.setattr(DbPersistence, "update_conversation", lost)
    await seed(rig)
    user = rig.fake.user(500)
    index = STEPS.index(stop_after)
    async with running_bot(rig):
        for step in STEPS[: index + 1]:
            await _act(rig, user, step)
            await user.wait_reply()
    async with running_bot(rig):
        for step in STEPS[index + 1:]:
            await _act(rig, user, step)
            await user.wait_reply()
        await user.press_button(user.replies()[-1], "较差")
        summary = await user.wait_reply()
        await user.press_button(summary, "确认提交")
        assert "督查记录已提交" in (await user.wait_reply()).text
    (row,) = await inspections(rig)
    assert row.verified_value == Decimal(280) and row.findings == "重启前记录的情况" and row.accuracy_m == 10


async def test_english_inspector_sees_english(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(502, language_code="en")
    await inspector.send_text("/inspect")
    units = await inspector.wait_reply()
    assert "Choose the unit to inspect" in units.text
    assert [t for t, _ in units.buttons()] == ["V1 青山村", "V2 绿水村"]  # scope: the village class
    await inspector.press_button(units, "V2 绿水村")
    targets = await inspector.wait_reply()
    await inspector.press_button(targets, "T3")
    assert "Share my location" in (await inspector.wait_reply()).text
    await inspector.send_location(*V1)
    await inspector.wait_replies(2)
    await inspector.send_photo(jpeg(5))
    note = await inspector.wait_reply()
    assert "Photo 1 received (compressed" in note.text and "was sent compressed" in note.text
    await inspector.send_text("/done")
    await inspector.wait_reply()
    await inspector.send_text("Road works have not started")
    assert "Value claimed by the unit: none" in (await inspector.wait_reply()).text
    await inspector.send_text("2")
    rating = await inspector.wait_reply()
    await inspector.press_button(rating, "poor")
    summary = await inspector.wait_reply()
    assert "Rating: poor" in summary.text and "The shared location is" in summary.text
    await inspector.press_button(summary, "Confirm")
    done = await inspector.wait_reply()
    assert "Inspection recorded" in done.text and done.buttons()[0][0] == "Open a rectification item"
    await inspector.send_text("/visits")
    assert "off-site" in (await inspector.wait_reply()).text
