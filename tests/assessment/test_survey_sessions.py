"""Survey sessions (issue #15 §6): an inspector opens a session for a unit during a visit and shows residents its
QR code; answers count per session and only within its window; the unit's own link stays, counted apart;
a person registered in the surveyed unit is refused politely (in their language) and counted apart, never in
the rate."""

from __future__ import annotations

from datetime import timedelta

from openpyxl import load_workbook
from sqlmodel import select

from models.assessment import SurveyResponse
from models.core import AuditLog
from models.enums import Role
from models.people import RoleMembership
from services.assessment import survey
from tests.support.factories import add_person
from tests.support.results_rig import CADRE_V, seed

INSPECTOR, RESIDENT_A, RESIDENT_B, RESIDENT_C, NARROW, OWN_EN = 700, 9_100_001, 9_100_002, 9_100_003, 710, 720


async def said(user, text: str):
    return await user.wait_reply(lambda m: text in (m.text or ""))


def token_of(text: str) -> str:
    return text.split("start=s_", 1)[1].split()[0]


async def test_a_session_counts_its_own_answers_within_its_window(bot, cli, tmp_path) -> None:
    county = await seed(bot)
    await add_person(bot.db, bot.clock, name="巡察员周", roles=(Role.INSPECTOR,), telegram_user_id=INSPECTOR)
    narrow = await add_person(bot.db, bot.clock, name="督查吴", roles=(Role.INSPECTOR,), telegram_user_id=NARROW)
    async with bot.db.uow() as uow:  # 吴 may inspect townships only
        m = (await uow.session.exec(select(RoleMembership).where(RoleMembership.person_id == narrow.id))).one()
        m.scope = "乡镇"
        uow.session.add(m)
        await uow.commit()

    zhou = bot.fake.user(INSPECTOR, "巡察员周")
    await zhou.send_text("/surveysession")
    await said(zhou, "用法：/surveysession")
    await zhou.send_text("/surveysession V1 9")
    await said(zhou, "测评场次时长须为1到8小时")
    await zhou.send_text("/surveysession 红星村 2")
    opened = await said(zhou, "已为<b>红星村</b>（V1）开启测评场次 #1")
    assert "有效至" in opened.text
    photo = await zhou.wait_reply(lambda m: m.method == "sendPhoto")
    assert "场次 #1" in (photo.plain_text or "")
    session_token = token_of(opened.text)
    wu = bot.fake.user(NARROW, "督查吴")
    await wu.send_text("/surveysession V1")
    await said(wu, "红星村不在您的督查范围内")

    # Two residents answer through the session; V1's own cadre (孙六) is refused, and counted apart.
    for uid, choice in ((RESIDENT_A, "不满意"), (RESIDENT_B, "满意")):
        resident = bot.fake.user(uid, "村民")
        await resident.send_text("/start s_" + session_token)
        await resident.press_button(await said(resident, "群众满意度测评"), choice)
        await said(resident, "评价已记录")
    await add_person(bot.db, bot.clock, name="Ann", unit=county.units["V1"], telegram_user_id=OWN_EN, language="en")
    ann = bot.fake.user(OWN_EN, "Ann", language_code="en")
    await ann.send_text("/start s_" + session_token)
    await said(ann, "You are registered in 红星村 and cannot rate your own unit")
    sun = bot.fake.user(CADRE_V, "孙六")
    await sun.send_text("/start s_" + session_token)
    await said(sun, "您登记在红星村，不能为本单位评价")
    await sun.send_text("/start s_" + session_token)  # again: refused again, counted once
    await said(sun, "您登记在红星村")

    # The unit's own link stays open, counted apart from the session.
    own = await survey.ensure_link(2027, "V1", uow=bot.db.uow(), clock=bot.clock)
    c = bot.fake.user(RESIDENT_C, "Resident", language_code="en")
    await c.send_text("/start s_" + own.token)
    await c.press_button(await said(c, "satisfaction"), "Basically satisfied")
    await said(c, "recorded")

    # The inspector, now in English, opens a second session (another unit, the default 2 hours).
    await zhou.send_text("/lang en")
    await zhou.wait_reply()
    await zhou.send_text("/surveysession T1")
    second = await said(zhou, "Survey session #2 for <b>城关镇</b> (T1) is open until")
    assert "2027-03-22 11:00" in second.text  # 09:00 + 2 hours

    # After the window the session's link is over.
    bot.clock.advance(timedelta(hours=2, minutes=1))
    late = bot.fake.user(9_100_004, "Late", language_code="en")
    await late.send_text("/start s_" + session_token)
    await said(late, "This survey session for 红星村 ended at")

    async with bot.db.read_uow() as uow:
        rows = (await uow.session.exec(select(SurveyResponse).where(
            SurveyResponse.unit_id == county.units["V1"].id))).all()
        assert sorted((r.session_id or 0, r.answer, r.excluded) for r in rows) == [
            (0, "basic", ""), (1, "", "own_unit"), (1, "", "own_unit"), (1, "satisfied", ""), (1, "unsatisfied", "")]
        actions = {a.action for a in (await uow.session.exec(select(AuditLog))).all()}
        assert {"survey.session", "survey.refused", "survey.answer"} <= actions

    out = tmp_path / "r.xlsx"
    assert (await cli("assess", "export", "2027", "--out", str(out))).code == 0
    wb = load_workbook(out)
    sessions = [r for r in wb["测评场次"].iter_rows(values_only=True)][1:]
    assert [(r[0], r[2], r[3], r[5], r[6], r[7], r[8]) for r in sessions] == [
        ("T1", "#2", "巡察员周", 0, 0, 0, 0), ("V1", "单位自有二维码", None, 0, 1, 0, 0),
        ("V1", "#1", "巡察员周", 1, 0, 1, 2)]
    stats = {r[0]: r for r in wb["互评与满意度"].iter_rows(values_only=True)}
    assert stats["V1"][6] == 3  # three answers count: the refused cadre's does not
