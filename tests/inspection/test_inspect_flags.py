"""The flags /inspect computes before Confirm (off-site, stale, re-used, no metadata, integrity) and the
effective value afterwards."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, select

from models.core import EvidenceFile
from models.inspection import Inspection, InspectionPhoto
from models.people import Person
from models.plan import Assignment, Target
from models.progress import ProgressReport, ReportAttachment
from services.progress.standings import standings
from tests.inspection.test_inspect import T2_SITE, V2, inspections, on_site_photo, seed, send_file, share, to_location
from tests.inspection.test_inspect import visit as _visit
from tests.support.botrig import Rig
from tests.support.factories import add_unit
from tests.support.photos import jpeg, recode

NEAR_V2 = (30.6502, 104.1001)


async def visit(rig, user, **kwargs):
    """The dialogue up to the summary (not confirmed)."""
    return await _visit(rig, user, confirm=False, **kwargs)


async def confirm(user, summary) -> None:
    await user.press_button(summary, "确认提交")
    await user.wait_reply()


def kinds(row: Inspection) -> list[str]:
    return [flag["kind"] for flag in row.flags or []]


async def report(rig, code: str, value: str, who: int, evidence: bytes | None = None) -> int:
    """A confirmed report (as /report writes it), optionally with a photo attached; the clock moves on 1 h."""
    async with rig.db.uow() as uow:
        s = uow.session
        target = (await s.exec(select(Target).where(Target.code == code))).one()
        assignment = (await s.exec(select(Assignment).where(Assignment.target_id == target.id))).first()
        person = (await s.exec(select(Person).where(Person.telegram_user_id == who))).one()
        row = ProgressReport(assignment_id=assignment.id, reporter_person_id=person.id, value=Decimal(value),
                             confirmed_at=rig.clock.now())
        s.add(row)
        await s.flush()
        if evidence is not None:
            sha = hashlib.sha256(evidence).hexdigest()
            file = EvidenceFile(sha256=sha, size=len(evidence), storage_key=f"{sha[:2]}/{sha[2:4]}/{sha}",
                                telegram_file_id="x", created_at=rig.clock.now())
            s.add(file)
            await s.flush()
            s.add(ReportAttachment(report_id=row.id, evidence_id=file.id, kind="photo"))
        await uow.commit()
    rig.clock.advance(timedelta(hours=1))
    return row.id or 0


async def test_shared_location_far_from_the_site_is_off_site(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    summary = await visit(bot, inspector, at=V2)
    assert "⚠️ 共享的位置距现场 6" in summary.text and "米，超出 300 米范围" in summary.text
    await confirm(inspector, summary)
    (row,) = await inspections(bot)
    assert kinds(row) == ["off_site"] and row.flags[0]["params"]["radius_m"] == 300


async def test_exif_gps_far_from_the_site_is_flagged_on_the_photo(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    await to_location(inspector)
    await share(inspector)
    note = await send_file(inspector, on_site_photo(bot, at=(30.62, 104.06)))
    assert "距现场 2224 米" in note.text and "⚠️ 照片 1 的拍摄位置距现场 2224 米，超出 300 米范围" in note.text
    await inspector.send_text("/done")
    await inspector.wait_reply()
    await inspector.send_text("现场情况")
    await inspector.wait_reply()
    await inspector.send_text("/skip")
    await inspector.press_button(await inspector.wait_reply(), "一般")
    summary = await inspector.wait_reply()
    assert "照片 1 的拍摄位置距现场 2224 米" in summary.text
    await confirm(inspector, summary)
    (row,) = await inspections(bot)
    assert kinds(row) == ["exif_off_site"]
    async with bot.db.uow() as uow:
        (photo,) = (await uow.session.exec(select(InspectionPhoto))).all()
    assert [f["kind"] for f in photo.flags] == ["exif_off_site"] and photo.flags[0]["params"]["photo"] == 1


async def test_the_assignments_own_site_overrides_the_units(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    # At the village's point, but T2's site is 2.9 km away with a radius of 200 m.
    summary = await visit(bot, inspector, target="T2", value="100", photos=(on_site_photo(bot, at=T2_SITE),))
    assert "超出 200 米范围" in summary.text and "照片" not in summary.text.split("系统提示")[1]
    await inspector.send_text("/cancel")
    await inspector.wait_reply()
    summary = await visit(bot, inspector, target="T2", at=T2_SITE, value="100",
                          photos=(on_site_photo(bot, seed=2, at=T2_SITE),))
    assert "系统未发现异常" in summary.text


async def test_a_photo_taken_long_before_the_visit_is_stale(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    summary = await visit(bot, inspector, photos=(on_site_photo(bot, hours_ago=72),))
    assert "⚠️ 照片 1 拍摄于 2027-03-19 09:00，早于本次督查 72 小时（超过 48 小时）" in summary.text
    await confirm(inspector, summary)
    (row,) = await inspections(bot)
    assert kinds(row) == ["stale"]


async def test_reuse_exact_and_resized_and_an_unrelated_photo(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    original = on_site_photo(bot, seed=11, at=NEAR_V2)
    first = await visit(bot, inspector, unit="绿水村", target="T3", at=NEAR_V2, value="5", photos=(original,))
    assert "系统未发现异常" in first.text
    await confirm(inspector, first)
    (earlier,) = await inspections(bot)
    # The same bytes at another unit's visit.
    again = await visit(bot, inspector, photos=(original,))
    assert f"⚠️ 照片 1 与已有佐证完全相同：督查 #{earlier.id}，绿水村，2027-03-22" in again.text
    await inspector.send_text("/cancel")
    await inspector.wait_reply()
    # Resized to half and re-compressed: a perceptual match (and, re-saved, no metadata any more).
    copy = recode(original, scale=0.5, quality=60)
    similar = await visit(bot, inspector, photos=(copy,))
    assert "与已有佐证高度相似（差异" in similar.text and f"督查 #{earlier.id}，绿水村，2027-03-22" in similar.text
    assert "照片 1 缺少拍摄时间和GPS 位置" in similar.text
    await inspector.send_text("/cancel")
    await inspector.wait_reply()
    # A different photo taken on site matches nothing.
    unrelated = await visit(bot, inspector, photos=(on_site_photo(bot, seed=12),))
    assert "系统未发现异常" in unrelated.text
    await confirm(inspector, unrelated)
    assert kinds((await inspections(bot))[-1]) == []


async def test_reuse_of_a_report_photo_of_another_unit_but_not_of_the_same_unit(bot) -> None:
    await seed(bot)
    cadres_photo, own_photo = on_site_photo(bot, seed=21), on_site_photo(bot, seed=22)
    number = await report(bot, "T3", "4", 300, evidence=cadres_photo)  # 绿水村's cadre
    await report(bot, "T1", "100", 200, evidence=own_photo)  # 青山村's own cadre
    inspector = bot.fake.user(500)
    summary = await visit(bot, inspector, photos=(cadres_photo, own_photo))
    assert f"照片 1 与已有佐证完全相同：进度报送 #{number}，绿水村，2027-03-22" in summary.text
    assert "照片 2 与已有佐证" not in summary.text


async def test_a_compressed_photo_is_kept_and_marked_without_metadata(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    await to_location(inspector)
    await share(inspector)
    await inspector.send_photo(on_site_photo(bot))  # Telegram would strip the EXIF: it is not trusted
    note = await inspector.wait_reply()
    assert "照片 1 已收到（压缩照片" in note.text and "ℹ️ 照片 1 以压缩照片发送，没有拍摄时间和位置" in note.text
    await inspector.send_text("/done")
    await inspector.wait_reply()
    await inspector.send_text("现场情况")
    await inspector.wait_reply()
    await inspector.send_text("/skip")
    await inspector.press_button(await inspector.wait_reply(), "良好")
    summary = await inspector.wait_reply()
    await confirm(inspector, summary)
    (row,) = await inspections(bot)
    assert row.flags == [{"kind": "no_metadata", "params": {"missing": ["time", "gps"], "compressed": True,
                                                             "photo": 1}}]
    async with bot.db.uow() as uow:
        (photo,) = (await uow.session.exec(select(InspectionPhoto))).all()
    assert photo.compressed


async def test_a_unit_without_a_point_cannot_be_checked(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    await inspector.send_text("/inspect 县发改局")
    await inspector.press_button(await inspector.wait_reply(), "综合督查")
    assert "计划中没有该处的坐标" in (await inspector.wait_reply()).text
    summary = await visit(bot, inspector, unit="县发改局", target="综合督查", value=None)
    assert "⚠️ 计划中没有该单位或任务的位置" in summary.text


async def test_integrity_flag_and_the_effective_value_afterwards(bot) -> None:
    await seed(bot)
    await report(bot, "T1", "500", 200)
    inspector = bot.fake.user(500)
    summary = await visit(bot, inspector, value="300")
    assert "核实值：300 万元；上报值：500 万元" in summary.text
    assert "⚠️ 核实值 300 万元 低于上报值 500 万元（低 40%）" in summary.text
    await confirm(inspector, summary)
    (row,) = await inspections(bot)
    assert kinds(row) == ["integrity"] and row.claimed_value == Decimal(500)
    cadre = bot.fake.user(200)
    await cadre.send_text("/mytargets")
    assert "完成 300 万元（上报 500 万元，未经核实，不计入；以核实值为准）（30%）" in (await cadre.wait_reply()).text
    bot.clock.advance(timedelta(hours=1))
    await report(bot, "T1", "450", 200)  # a later report beyond the verified value: claimed, not verified
    await cadre.send_text("/mytargets")
    assert "完成 300 万元（上报 450 万元，未经核实，不计入；以核实值为准）（30%）" in (await cadre.wait_reply()).text
    await report(bot, "T1", "250", 200)  # worse than the verified value: counts at once
    await cadre.send_text("/mytargets")
    assert "完成 250 万元（25%）" in (await cadre.wait_reply()).text


async def test_effective_value_rule(database, clock) -> None:
    """The latest inspection visited by the day asked about, with a value, stands (issue #15: also over the
    report it preceded): claimed 500; verified 100 (−2 h) → 100 on its own; then 400, 350 → 350; +30 h: 10."""
    rig = Rig(fake=None, db=database, clock=clock, settings=None)  # type: ignore[arg-type]
    await seed(rig)
    async with database.uow() as uow:
        s = uow.session
        a = (await s.exec(select(Assignment).order_by(col(Assignment.id)))).first()
        inspector = (await s.exec(select(Person).where(Person.telegram_user_id == 500))).one()

        def inspection(hours: float, verified: str | None) -> Inspection:
            return Inspection(inspector_person_id=inspector.id, unit_id=a.unit_id, assignment_id=a.id,
                              visited_at=clock.now() + timedelta(hours=hours), rating="poor",
                              verified_value=Decimal(verified) if verified else None)

        s.add(inspection(-2, "100"))  # before the report: it stands until a later visit
        await uow.commit()
    await report(rig, "T1", "500", 200)  # confirmed at +0 h
    async with database.uow() as uow:
        s = uow.session
        s.add_all([inspection(1, "400"), inspection(2, "350"), inspection(3, None), inspection(30, "10")])
        await uow.commit()

    async def effective(day_offset: int) -> tuple[Decimal | None, Decimal | None]:
        async with database.uow() as uow:
            (item,) = await standings(uow.session, as_of=(clock.now() + timedelta(days=day_offset)).date(),
                                      tz=clock.tz, assignment_ids=[a.id])
            return item.claimed, item.effective

    assert await effective(0) == (Decimal(500), Decimal(350))  # the latest visit by today with a value stands
    assert await effective(2) == (Decimal(500), Decimal(10))


def _video(user) -> dict:
    rec = user.fake._store_file(b"\x00\x00\x00\x18ftypmp42", "video")
    return {"video": {"file_id": rec.file_id, "file_unique_id": rec.file_unique_id, "width": 640, "height": 480,
                      "duration": 3}}


def _sticker(user) -> dict:
    rec = user.fake._store_file(b"RIFF....WEBP", "sticker")
    return {"sticker": {"file_id": rec.file_id, "file_unique_id": rec.file_unique_id, "type": "regular",
                        "width": 512, "height": 512, "is_animated": False, "is_video": False}}


PHOTO_CASES = ["video", "sticker", "pdf", "too big", "not decodable", "no exif"]


@pytest.mark.parametrize("case", PHOTO_CASES)
async def test_bad_photos_are_explained_and_the_step_stays_usable(bot, case) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    await to_location(inspector)
    await share(inspector)
    if case == "video":
        await inspector._post(inspector.user, _video(inspector))
    elif case == "sticker":
        await inspector._post(inspector.user, _sticker(inspector))
    elif case == "pdf":
        await inspector.send_document(b"%PDF-1.4 report", "汇报材料.pdf", "application/pdf")
    elif case == "too big":
        await inspector.send_document(b"\xff\xd8" + bytes(20 * 1024 * 1024), "huge.jpg", "image/jpeg")
    elif case == "not decodable":
        await inspector.send_document(b"\xff\xd8\xff\xe0 not really a jpeg", "broken.jpg", "image/jpeg")
    else:
        await inspector.send_document(jpeg(7), "IMG_0007.jpg", "image/jpeg")
    answer = await inspector.wait_reply()
    expected = {"video": "视频、贴纸", "sticker": "视频、贴纸", "pdf": "视频、贴纸", "too big": "超过 20 MB",
                "not decodable": "无法读取", "no exif": "照片 1 缺少拍摄时间和GPS 位置"}[case]
    assert expected in answer.text
    if case == "no exif":
        assert "照片 1 已收到：没有拍摄时间" in answer.text
    note = await send_file(inspector, on_site_photo(bot, seed=8))
    number = 2 if case == "no exif" else 1
    assert f"照片 {number} 已收到：拍摄于" in note.text
    async with bot.db.uow() as uow:
        stored = (await uow.session.exec(select(EvidenceFile))).all()
    assert len(stored) == number  # refused files are not stored


async def test_done_needs_a_photo_and_bad_values_keep_the_step(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    await to_location(inspector)
    await share(inspector)
    await inspector.send_text("/done")
    assert "至少发送一张现场照片" in (await inspector.wait_reply()).text
    await send_file(inspector, on_site_photo(bot))
    await inspector.send_text("/done")
    await inspector.wait_reply()
    await inspector.send_text("好")
    assert "至少一句话" in (await inspector.wait_reply()).text
    await inspector.send_text("台账与现场一致")
    await inspector.wait_reply()
    await inspector.send_text("12亩")
    assert "不能使用“亩”" in (await inspector.wait_reply()).text
    await inspector.send_text("/skip")
    rating = await inspector.wait_reply()
    await inspector.press_button(rating, "较差")
    assert "核实值：未核实" in (await inspector.wait_reply()).text


async def test_visits_shows_each_role_what_it_may_see(bot) -> None:
    await seed(bot)
    first, second = bot.fake.user(500), bot.fake.user(501)
    await _visit(bot, first, unit="绿水村", target="T3", at=(30.6502, 104.1001), value="5",
                photos=(on_site_photo(bot, seed=2, at=(30.6501, 104.1)),))
    await _visit(bot, second, photos=(on_site_photo(bot, seed=3),), value="100")

    async def lines(tg: int, command: str = "/visits") -> str:
        user = bot.fake.user(tg)
        await user.send_text(command)
        return (await user.wait_reply()).text

    leader = await lines(600)
    assert "#1 2027-03-22 绿水村" in leader and "#2 2027-03-22 青山村" in leader
    assert leader.index("#2") < leader.index("#1")  # newest first
    assert "#1" in await lines(500) and "#2" not in await lines(500)  # an inspector: their own
    cadre = await lines(200)
    assert "#2" in cadre and "#1" not in cadre  # a cadre: their unit's
    assert "#1" in await lines(300) and "T3 绿水村道路硬化" in await lines(300)
    only = await lines(600, "/visits V2")
    assert "V2 最近的督查记录（1 条）" in only and "#2" not in only
    assert "未知单位编码“X9”" in await lines(600, "/visits X9")


# --- dialogue details ----------------------------------------------------------------------------


async def test_units_are_paged_with_buttons(bot) -> None:
    await seed(bot)
    for n in range(1, 13):
        await add_unit(bot.db, bot.clock, code=f"Z{n:02d}", name=f"第{n}组")
    inspector = bot.fake.user(500)
    await inspector.send_text("/inspect")
    first = await inspector.wait_reply()
    assert "第 1/2 页" in first.text and len(first.buttons()) == 11 and "Z08 第8组" not in str(first.buttons())
    await inspector.press_button(first, "下一页 ▶")
    second = await inspector.wait_edit(first)
    assert "第 2/2 页" in second.text and [t for t, _ in second.buttons()][-2:] == ["Z12 第12组", "◀ 上一页"]
    await inspector.press_button(second, "Z10 第10组")
    assert [t for t, _ in (await inspector.wait_reply()).buttons()] == ["综合督查（不针对具体目标）"]


async def test_live_location_updates_are_ignored_after_the_location_step(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    await to_location(inspector)
    shared = await inspector.send_location(30.6003, 104.0601, horizontal_accuracy=5, live_period=900)
    ok, _ = await inspector.wait_replies(2)
    assert "位置已记录" in ok.text
    moved = {**shared, "location": {**shared["location"], "latitude": 30.6001}, "edit_date": shared["date"] + 30}
    await bot.fake._enqueue("edited_message", moved)
    await inspector.send_text("/done")
    assert "至少发送一张现场照片" in (await inspector.wait_reply()).text


async def test_an_old_confirm_during_a_new_visit_answers_and_keeps_the_new_visit(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    summary = await visit(bot, inspector)
    data = next(d for t, d in summary.buttons() if t == "确认提交")
    await confirm(inspector, summary)
    await inspector.send_text("/inspect")
    await inspector.wait_reply()
    summary.message["reply_markup"] = {"inline_keyboard": [[{"text": "确认提交", "callback_data": data}]]}
    await inspector.press(summary, data)
    assert "已确认" in (await inspector.wait_reply()).text
    await inspector.send_text("青山")
    assert "<b>青山村</b>" in (await inspector.wait_reply()).text
    assert len(await inspections(bot)) == 1
