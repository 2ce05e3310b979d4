"""A small county for the results tests: three townships (乡镇) and one village (村), their cadres, an
admin, a leader with linked items and a leading group, targets with reports, and the 2027 round."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from models.assessment import AssessmentRound
from models.core import OutboxMessage
from models.enums import Role
from models.plan import Assignment, LeaderLink, LeadingGroup, Target, Unit
from models.progress import ProgressReport
from services.core.conversations import ConvRef
from services.progress import report as reporting
from services.scoring.rules import DEFAULT_RULES_PATH
from tests.support.factories import add_person, add_unit

TZ = ZoneInfo("Asia/Shanghai")
ADMIN, CADRE_ZH, CADRE_EN, LEADER, CADRE_V = 100, 200, 300, 400, 500


def at(m: int, d: int, h: int = 10) -> datetime:
    return datetime(2027, m, d, h, 0, tzinfo=TZ)


@dataclass
class County:
    units: dict[str, Unit]
    assignments: dict[tuple[str, str], Assignment]
    people: dict[str, int]  # name -> person id


async def seed(rig, *, cutoff: date = date(2027, 12, 31)) -> County:
    """T1 城关镇 well ahead, T2 青山镇 middling, T3 河口镇 behind; V1 红星村 alone in its class.
    张三 (zh) is T1's cadre, Li Wei (en) T2's, 孙六 V1's; 王县长 (leader) is linked to TB (a key project)
    and heads G1 (the investment line: TA)."""
    units = {
        "T1": await add_unit(rig.db, rig.clock, code="T1", name="城关镇", kind="township", unit_class="乡镇"),
        "T2": await add_unit(rig.db, rig.clock, code="T2", name="青山镇", kind="township", unit_class="乡镇"),
        "T3": await add_unit(rig.db, rig.clock, code="T3", name="河口镇", kind="township", unit_class="乡镇"),
        "V1": await add_unit(rig.db, rig.clock, code="V1", name="红星村", kind="village", unit_class="村"),
    }
    people = {
        "赵主任": (await add_person(rig.db, rig.clock, name="赵主任", roles=(Role.ADMIN,), telegram_user_id=ADMIN)).id,
        "张三": (await add_person(rig.db, rig.clock, name="张三", unit=units["T1"], telegram_user_id=CADRE_ZH)).id,
        "Li Wei": (await add_person(rig.db, rig.clock, name="Li Wei", unit=units["T2"], telegram_user_id=CADRE_EN,
                                    language="en")).id,
        "王县长": (await add_person(rig.db, rig.clock, name="王县长", roles=(Role.LEADER,),
                                  telegram_user_id=LEADER)).id,
        "孙六": (await add_person(rig.db, rig.clock, name="孙六", unit=units["V1"], telegram_user_id=CADRE_V)).id,
    }
    assignments: dict[tuple[str, str], Assignment] = {}
    async with rig.db.uow() as uow:
        s = uow.session
        group = LeadingGroup(code="G1", name="招商引资工作领导小组", head_person_id=people["王县长"])
        s.add(group)
        await s.flush()
        ta = Target(code="TA", year=2027, title="招商引资到位资金", category="investment", measure="万元",
                    mode="zero_base", deadline=date(2027, 12, 31), leading_group_id=group.id)
        tb = Target(code="TB", year=2027, title="重点项目完成投资", category="project_delivery", measure="万元",
                    mode="continuous", deadline=date(2027, 6, 30))
        tv = Target(code="TV", year=2027, title="村集体经济收入", category="other", measure="万元",
                    mode="continuous", deadline=date(2027, 12, 31))
        s.add_all([ta, tb, tv])
        await s.flush()
        plan = {("TA", "T1"): 1000, ("TA", "T2"): 1000, ("TA", "T3"): 1000,
                ("TB", "T1"): 100, ("TB", "T2"): 100, ("TB", "T3"): 100, ("TV", "V1"): 10}
        targets = {"TA": ta, "TB": tb, "TV": tv}
        for (t, u), planned in plan.items():
            a = Assignment(target_id=targets[t].id, unit_id=units[u].id, planned_value=Decimal(planned))
            s.add(a)
            assignments[(t, u)] = a
        await s.flush()
        for key, value in {("TA", "T1"): 1100, ("TA", "T2"): 700, ("TA", "T3"): 200, ("TB", "T1"): 90,
                           ("TB", "T2"): 60, ("TB", "T3"): 20, ("TV", "V1"): 3}.items():
            s.add(ProgressReport(assignment_id=assignments[key].id, reporter_person_id=people["张三"],
                                 value=Decimal(value), confirmed_at=at(3, 1)))
        s.add(LeaderLink(leader_person_id=people["王县长"], kind="key_project", target_id=tb.id))
        text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
        s.add(AssessmentRound(year=2027, status="open", rules_toml=text,
                              rules_hash=hashlib.sha256(text.encode()).hexdigest(), cutoff=cutoff,
                              opened_at=rig.clock.now()))
        await uow.commit()
    return County(units=units, assignments=assignments, people=people)


async def report(rig, user_id: int, code: str, value: str) -> None:
    """A cadre files a report through the reporting service (the /report dialogue's steps)."""
    conv = ConvRef(key=f"[{user_id},{user_id}]", chat_id=user_id, user_id=user_id)
    kw = {"conv": conv, "update_id": None, "clock": rig.clock}
    snap = await reporting.begin(code, uow=rig.db.uow(), **kw)
    await reporting.give_value(value, uow=rig.db.uow(), **kw)
    await reporting.give_text("补报", uow=rig.db.uow(), **kw)
    await reporting.to_summary(uow=rig.db.uow(), **kw)
    await reporting.confirm(snap.serial, uow=rig.db.uow(), **kw)


async def outbox_to(rig, chat_id: int, kind: str | None = None) -> list[OutboxMessage]:
    async with rig.db.uow() as uow:
        query = select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list((await uow.session.exec(query.order_by(col(OutboxMessage.id)))).all())
