"""A small county for alert tests: one village, its cadres, a linked leader, a group head, the office."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from models.alerts import Alert
from models.core import OutboxMessage
from models.enums import Role
from models.people import Person
from models.plan import Assignment, LeaderLink, LeadingGroup, Target
from models.progress import ProgressReport
from services.alerts import tick
from tests.support.factories import add_person, add_unit

TZ = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


async def county(db, clock, *, joined: bool = True) -> dict:
    """One village with two cadres, a linked leader, a group head and an admin (``joined``: all joined)."""
    v1 = await add_unit(db, clock, code="V1", name="青山村")

    def tg(user_id: int) -> int | None:
        return user_id if joined else None

    people = {
        "cadre": await add_person(db, clock, name="张三", unit=v1, telegram_user_id=tg(200)),
        "cadre_en": await add_person(db, clock, name="李四", unit=v1, telegram_user_id=tg(201), language="en"),
        "leader": await add_person(db, clock, name="刘县长", telegram_user_id=tg(400), roles=(Role.LEADER,)),
        "head": await add_person(db, clock, name="陈组长", telegram_user_id=tg(401), roles=(Role.LEADER,)),
        "admin": await add_person(db, clock, name="目标办", telegram_user_id=tg(500), roles=(Role.ADMIN,)),
    }
    async with db.uow() as uow:
        group = LeadingGroup(code="G1", name="农业产业化领导小组", head_person_id=people["head"].id)
        uow.session.add(group)
        uow.session.add(LeaderLink(leader_person_id=people["leader"].id, kind="lagging_village", unit_id=v1.id))
        await uow.commit()
    return {"unit": v1, "group": group, **people}


async def add_target(db, c: dict, code: str, *, planned: str = "100", deadline: date, year: int | None = None,
                     milestones: list[list[str]] | None = None, interval: int = 30, title: str | None = None) -> int:
    async with db.uow() as uow:
        target = Target(code=code, year=year or deadline.year, title=title or f"目标{code}", category="industry",
                        measure="个", mode="continuous", deadline=deadline, report_interval_days=interval,
                        leading_group_id=c["group"].id)
        uow.session.add(target)
        await uow.session.flush()
        a = Assignment(target_id=target.id, unit_id=c["unit"].id, planned_value=Decimal(planned), milestones=milestones)
        uow.session.add(a)
        await uow.commit()
        return a.id


async def report(db, assignment_id: int, value: str, when: datetime, person: Person) -> None:
    async with db.uow() as uow:
        uow.session.add(ProgressReport(assignment_id=assignment_id, reporter_person_id=person.id,
                                       value=Decimal(value), confirmed_at=when))
        await uow.commit()


async def run(db, moment: datetime, **kwargs) -> tick.TickResult:
    return await tick.tick(moment, uow=db.uow(), **kwargs)


async def simulate(db, start: date, end: date, hours=(9, 15), **kwargs) -> list[tuple[datetime, tick.Message]]:
    """Ticks at working-hour steps over a span of days; every message with its tick time."""
    out = []
    day = start
    while day <= end:
        for hour in hours:
            moment = at(day, hour)
            out += [(moment, m) for m in (await run(db, moment, **kwargs)).messages]
        day += timedelta(days=1)
    return out


async def outbox_rows(db) -> list[OutboxMessage]:
    async with db.uow() as uow:
        return list((await uow.session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


async def all_alerts(db) -> list[Alert]:
    async with db.uow() as uow:
        return list((await uow.session.exec(select(Alert).order_by(col(Alert.id)))).all())
