"""A small county for the assessment-round tests: villages and departments with assessors and inspectors."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select, update

from models.assessment import AssessmentRound, PeerScore
from models.core import AuditLog, OutboxMessage
from models.enums import Role
from models.inspection import Inspection
from models.people import Person, RoleMembership
from models.plan import Unit
from tests.support.factories import add_person, add_unit

TZ = ZoneInfo("Asia/Shanghai")
VILLAGES = ("V1", "V2", "V3", "V4", "V5", "V6", "V7")


def at(m: int, d: int, y: int = 2027) -> datetime:
    return datetime(y, m, d, 10, 0, tzinfo=TZ)


async def seed(rig) -> dict:
    """Villages V1–V7 (V7 inactive; class village), departments D1–D2 (class department), U0 without a class.
    Assessors: 张评 (210, zh) of V1, Alice (211, en) of V2, 王评 of V3 (never joined), 部门评 (212) of D1,
    无类评 (213) of U0. Inspectors: 钱督查 (500, zh, every unit), Inspector Wu (502, en, scope "village",
    member of V5). Visits: 钱 V2 poor and V3 good in 2027, V4 in 2026; Wu V1 twice and V5 (his own unit)."""
    p: dict = {}
    for n, code in enumerate(VILLAGES, 1):
        p[code] = await add_unit(rig.db, rig.clock, code=code, name=f"{'青绿白红黄蓝紫'[n - 1]}山村")
    for code, name in (("D1", "农业局"), ("D2", "交通局")):
        p[code] = await add_unit(rig.db, rig.clock, code=code, name=name, kind="department", unit_class="department")
    p["U0"] = await add_unit(rig.db, rig.clock, code="U0", name="无类单位", kind="enterprise", unit_class="")
    async with rig.db.uow() as uow:
        await uow.session.exec(update(Unit).where(col(Unit.code) == "V7").values(active=False))
        await uow.commit()
    for key, name, tg, unit, lang in (("zhang", "张评", 210, "V1", None), ("alice", "Alice", 211, "V2", "en"),
                                      ("wang", "王评", None, "V3", None), ("dept", "部门评", 212, "D1", None),
                                      ("none", "无类评", 213, "U0", None)):
        p[key] = await add_person(rig.db, rig.clock, name=name, unit=p[unit], roles=(Role.ASSESSOR,),
                                  telegram_user_id=tg, language=lang)
    p["qian"] = await add_person(rig.db, rig.clock, name="钱督查", roles=(Role.INSPECTOR,), telegram_user_id=500)
    p["wu"] = await add_person(rig.db, rig.clock, name="Inspector Wu", roles=(Role.INSPECTOR,), unit=p["V5"],
                               telegram_user_id=502, language="en")
    async with rig.db.uow() as uow:
        s = uow.session
        await s.exec(update(RoleMembership).where(col(RoleMembership.person_id) == p["wu"].id).values(scope="village"))
        for who, unit, when, rating, findings in (
                ("qian", "V2", at(3, 5), "poor", "村口路灯损坏，护栏缺失"), ("qian", "V3", at(3, 6), "good", ""),
                ("qian", "V4", at(12, 20, 2026), "poor", "去年的问题"),
                ("wu", "V1", at(2, 1), "acceptable", "Roads patched"),
                ("wu", "V1", at(3, 1), "good", "All fixed"), ("wu", "V5", at(3, 2), "good", "own unit")):
            s.add(Inspection(inspector_person_id=p[who].id, unit_id=p[unit].id, visited_at=when, rating=rating,
                             findings=findings))
        await uow.commit()
    return p


async def rows(rig, model, *where) -> list:
    async with rig.db.uow() as uow:
        return list((await uow.session.exec(select(model).where(*where).order_by(col(model.id)))).all())


async def scores(rig, person: Person, kind: str | None = None) -> list[PeerScore]:
    where = [PeerScore.scorer_person_id == person.id] + ([PeerScore.kind == kind] if kind else [])
    return await rows(rig, PeerScore, *where)


async def unit_codes(rig, items: list[PeerScore]) -> set[str]:
    ids = {r.unit_id for r in items}
    return {u.code for u in await rows(rig, Unit, col(Unit.id).in_(ids))}


async def audits(rig, action: str) -> list[AuditLog]:
    return await rows(rig, AuditLog, AuditLog.action == action)


async def outbox_to(rig, person: Person) -> list[OutboxMessage]:
    return await rows(rig, OutboxMessage, OutboxMessage.person_id == person.id)


async def set_status(rig, year: int, status: str) -> None:
    async with rig.db.uow() as uow:
        await uow.session.exec(update(AssessmentRound).where(col(AssessmentRound.year) == year).values(status=status))
        await uow.commit()
