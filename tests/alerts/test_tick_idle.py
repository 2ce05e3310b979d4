"""The repeating tick's memory (services/alerts/idle.py) and the people read once per tick (recipients.Reach): the
same alerts and pushes as a tick that reads everything afresh, whatever happened in between."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import col, select

from models.alerts import Alert, Mute
from models.people import Person
from models.plan import Assignment, LeaderLink
from services.alerts import idle, recipients
from services.alerts.actions import acknowledge
from services.items import scope
from services.progress.standings import standings
from tests.support.alertrig import add_target, at, county, report, run
from tests.support.factories import add_person, add_unit


def _said(result) -> tuple:
    """What a tick told whom (alert ids aside: a dry run's are not kept on PostgreSQL, and a warning's key
    names its pace alert's id)."""
    def key(k: str) -> str:
        return "warning" if k.startswith("warning|") else k

    return (result.alerts_created, result.escalated, result.resolved, len(result.pushes),
            sorted((m.person, m.kind, m.level, key(m.key)) for m in result.messages),
            sorted((p.person, p.alerts) for p in result.pushes), sorted((k, lv, key(x)) for k, lv, x in result.unheard))


async def test_a_remembered_tick_says_what_a_full_tick_would_say(database, clock) -> None:
    """Every 30 minutes over two working days, the remembering tick against a dry-run full tick just before it
    on the same database: equal every time, while a report, an acknowledgement, a person joining and a mute
    land in between; most ticks in between are idle and answered from memory."""
    c = await county(database, clock)
    late = await add_person(database, clock, name="王五", unit=c["unit"])  # joins on the second day
    yellow = await add_target(database, c, "Y", planned="1000", deadline=date(2026, 12, 31))
    red = await add_target(database, c, "R", planned="1000", deadline=date(2026, 12, 31))
    await report(database, yellow, "400", at(date(2026, 6, 30)), c["cadre"])
    await report(database, red, "300", at(date(2026, 6, 30)), c["cadre"])
    memory = idle.Memory()
    told: list[str] = []
    moment = at(date(2026, 7, 2), 7)
    while moment < at(date(2026, 7, 3), 19):
        full = await run(database, moment, dry_run=True)
        remembered = await run(database, moment, memory=memory)
        assert _said(remembered) == _said(full), moment
        told += [m.person for m in remembered.messages]
        if moment == at(date(2026, 7, 2), 11):
            await report(database, yellow, "700", moment, c["cadre"])  # the yellow pace recovers
        if moment == at(date(2026, 7, 2), 14):  # the cadre acknowledges the red pace alert
            async with database.uow() as uow:
                alert = (await uow.session.exec(select(Alert).where(Alert.kind == "pace", Alert.level == "red"))).one()
            clock.set(moment)
            await acknowledge(alert.id, 200, update_id=None, uow=database.uow(), clock=clock)
        if moment == at(date(2026, 7, 3), 9, 30):
            async with database.uow() as uow:
                person = await uow.session.get(Person, late.id)
                person.telegram_user_id, person.joined_at = 300, moment
                uow.session.add(person)
                await uow.commit()
        if moment == at(date(2026, 7, 3), 11):
            async with database.uow() as uow:
                uow.session.add(Mute(person_id=c["leader"].id, target_id=2, until=date(2026, 7, 10),
                                     created_at=moment))
                await uow.commit()
        moment += timedelta(minutes=30)
    assert memory.skipped >= 30  # most of the 72 ticks changed nothing
    assert late.code in told  # the late joiner heard of the alerts standing before they joined


async def test_reach_finds_the_same_people_as_the_queries_one_at_a_time(database, clock) -> None:
    """Two villages; leaders linked by unit and by target, a group head, a muted leader, a cadre gone
    unreachable: for every assignment, the people read once per tick are those the per-unit and per-target
    queries find, in their order."""
    c = await county(database, clock)
    v2 = await add_unit(database, clock, code="V2", name="石桥村")
    await add_person(database, clock, name="赵六", unit=v2, telegram_user_id=210)
    await add_person(database, clock, name="孙七", unit=v2, telegram_user_id=211)
    gone = await add_person(database, clock, name="周八", unit=v2, telegram_user_id=212)
    a1 = await add_target(database, c, "T1", deadline=date(2026, 12, 31))
    await add_target(database, c, "T2", deadline=date(2026, 12, 31))
    async with database.uow() as uow:
        s = uow.session
        s.add(LeaderLink(leader_person_id=c["head"].id, kind="target", target_id=1))
        s.add(LeaderLink(leader_person_id=c["admin"].id, kind="lagging_village", unit_id=v2.id))
        s.add(Mute(person_id=c["leader"].id, target_id=2, until=date(2026, 7, 5), created_at=at(date(2026, 7, 1))))
        person = await s.get(Person, gone.id)
        person.unreachable_at = at(date(2026, 6, 1))
        s.add(person)
        s.add(Assignment(target_id=a1, unit_id=v2.id, planned_value=Decimal(100)))
        await uow.commit()
    today = date(2026, 7, 1)
    async with database.uow() as uow:
        s = uow.session
        reach = await recipients.reach(s, today)
        found = await standings(s, as_of=today, tz=at(today).tzinfo)  # type: ignore[arg-type]
        assert len(found) == 3
        for st in found:
            by_id = sorted(await recipients.cadres(s, st.unit_id), key=lambda p: p.id)
            assert reach.cadres(st.unit_id) == by_id
            assert reach.cadres_by_name(st.unit_id) == await scope.cadres(s, st.unit_id)
            assert reach.leaders(st.target_id, st.unit_id, st.leading_group_id) == sorted(
                await recipients.leaders(s, st, today), key=lambda p: p.id)
            assert reach.unit_leaders(st.unit_id) == await scope.unit_leaders(s, st.unit_id)
        assert reach.office() == await scope.admins(s) == sorted(await recipients.office(s), key=lambda p: p.id)
        assert gone.id not in {p.id for p in reach.people.values()}
        muted = (await s.exec(select(Mute.person_id).where(col(Mute.until) >= today))).all()
        assert muted == [c["leader"].id]
