"""A small county for supervision item tests: two villages and a township, their cadres, each village's
linked leader, the office, an inspector; helpers to drive the item dialogues through the fake Bot API."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from models.alerts import Alert, AlertDelivery
from models.core import AuditLog
from models.enums import Role
from models.items import ItemNote, ItemPart, SupervisionItem
from models.plan import Assignment, LeaderLink, Target
from tests.support.factories import add_person, add_unit

TZ = ZoneInfo("Asia/Shanghai")
PNG = b"\x89PNG\r\n\x1a\n" + b"street lamp fixed" * 20
PNG2 = b"\x89PNG\r\n\x1a\n" + b"guard rail rebuilt" * 20


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


async def county(db, clock) -> dict:
    """V1 青山村 (cadres 张三 200, Li Si 201 in English; linked leader 刘县长 400), V2 绿水村 (cadre 王五 300;
    linked leader 陈县长 401), S1 城关镇 (a township, cadre 赵六 302); the office 目标办 500 (admin), 孙主任 501
    (admin, English); 钱督查 600 (inspector); T1 assigned to V1."""
    v1 = await add_unit(db, clock, code="V1", name="青山村", kind="village", unit_class="村")
    v2 = await add_unit(db, clock, code="V2", name="绿水村", kind="village", unit_class="村")
    s1 = await add_unit(db, clock, code="S1", name="城关镇", kind="township", unit_class="乡镇")
    c = {"v1": v1, "v2": v2, "s1": s1}
    for key, name, tg, unit, lang in (("zhang", "张三", 200, v1, None), ("li", "Li Si", 201, v1, "en"),
                                      ("wang", "王五", 300, v2, None), ("zhao", "赵六", 302, s1, None)):
        c[key] = await add_person(db, clock, name=name, unit=unit, telegram_user_id=tg, language=lang)
    for key, name, tg, role, lang in (("liu", "刘县长", 400, Role.LEADER, None),
                                      ("chen", "陈县长", 401, Role.LEADER, None),
                                      ("office", "目标办", 500, Role.ADMIN, None),
                                      ("sun", "Director Sun", 501, Role.ADMIN, "en"),
                                      ("qian", "钱督查", 600, Role.INSPECTOR, None)):
        c[key] = await add_person(db, clock, name=name, roles=(role,), telegram_user_id=tg, language=lang)
    async with db.uow() as uow:
        s = uow.session
        s.add(LeaderLink(leader_person_id=c["liu"].id, kind="lagging_village", unit_id=v1.id))
        s.add(LeaderLink(leader_person_id=c["chen"].id, kind="lagging_village", unit_id=v2.id))
        target = Target(code="T1", year=2027, title="村道硬化", category="project_delivery", measure="公里",
                        mode="continuous", deadline=date(2027, 12, 31))
        s.add(target)
        await s.flush()
        assignment = Assignment(target_id=target.id, unit_id=v1.id, planned_value=Decimal(10))
        s.add(assignment)
        await s.flush()
        c["assignment"] = assignment
        await uow.commit()
    return c


async def pace_alert(db, clock, c: dict, told: tuple[str, ...] = ("liu",)) -> int:
    """A red pace alert on V1's T1, told to ``told``; returns its id."""
    async with db.uow() as uow:
        alert = Alert(key=f"pace|{c['assignment'].id}|red|2027-03-22", kind="pace", level="red", period="2027-03-22",
                      assignment_id=c["assignment"].id, created_at=clock.now(), stage=1, stage_at=clock.now())
        uow.session.add(alert)
        await uow.session.flush()
        for key in told:
            uow.session.add(AlertDelivery(alert_id=alert.id, person_id=c[key].id, stage=1, created_at=clock.now()))
        await uow.commit()
        return alert.id or 0


async def forge(bot, chat_id: int, text: str, label: str, data: str):
    """A message carrying one button, as another feature would send it (the real one arrives elsewhere)."""
    await bot.app.bot.send_message(chat_id, text, reply_markup=InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data)]]))


async def rows(db, model, *where) -> list:
    async with db.uow() as uow:
        return list((await uow.session.exec(select(model).where(*where).order_by(col(model.id)))).all())


async def parts(db) -> list[ItemPart]:
    return await rows(db, ItemPart)


async def items(db) -> list[SupervisionItem]:
    return await rows(db, SupervisionItem)


async def notes(db) -> list[ItemNote]:
    return await rows(db, ItemNote)


async def audits(db, action: str) -> list[AuditLog]:
    return await rows(db, AuditLog, AuditLog.action == action)


async def told(bot, user, needle: str):
    """The next outbox message to ``user`` containing ``needle``."""
    await bot.app.bot_data.delivery.settle()
    return await user.wait_reply(lambda m: m.text is not None and needle in m.text)


async def open_item(bot, user, units: str = "V1 V2", deadline: str = "10", task: str = "修复村口路灯并补装护栏",
                    flag: bool = False):
    """/newitem through to Confirm; returns the reply that says it was opened."""
    await user.send_text("/newitem")
    await user.wait_reply()
    await user.send_text(units)
    await user.wait_reply()
    await user.send_text(deadline)
    await user.wait_reply()
    await user.send_text(task)
    summary = await user.wait_reply()
    if flag:
        await user.press(summary, "ni:flag")
        summary = await user.wait_reply()
    await user.press(summary, next(d for _, d in summary.buttons() if d.startswith("ni:y:")))
    done = await user.wait_reply()
    await bot.app.bot_data.delivery.settle()
    return done


async def report_done(bot, cadre, part_id: int, note: str = "路灯已修好，护栏已补装", photos=(PNG,)):
    """A cadre's whole completion report (办结) from the card's button."""
    await forge(bot, cadre.chat_id, "督办件", "报办结", f"it:done:{part_id}")
    await cadre.press_button(await cadre.wait_reply(), "报办结")
    await cadre.wait_reply()
    await cadre.send_text(note)
    await cadre.wait_reply()
    for data in photos:
        await cadre.send_photo(data)
        await cadre.wait_reply()
    await cadre.send_text("/done")
    await cadre.press(summary := await cadre.wait_reply(), next(d for _, d in summary.buttons()
                                                                 if d.startswith("iw:y:")))
    done = await cadre.wait_reply()
    await bot.app.bot_data.delivery.settle()
    return done
