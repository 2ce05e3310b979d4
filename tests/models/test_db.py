"""The database layer keeps aware times and exact decimals on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlmodel import select

from models.core import AuditLog
from models.plan import Assignment, Target, Unit
from services.core import audit


async def test_timestamps_come_back_aware_and_decimals_exact(database, clock) -> None:
    async with database.uow() as uow:
        unit = Unit(code="V001", name="青山村", kind="village", created_at=clock.now())
        target = Target(
            code="T1", year=2027, title="招商", category="investment", measure="万元",
            mode="zero_base", deadline=date(2027, 12, 31),
        )
        uow.session.add_all([unit, target])
        await uow.session.flush()
        uow.session.add(Assignment(target_id=target.id, unit_id=unit.id, planned_value=Decimal("1234.5678"),
                                   baseline_value=Decimal("0.1"), weight=Decimal("2")))
        audit.record(uow.session, clock, actor="cli", action="test", entity="unit", key="V001",
                     after={"value": Decimal("1.50")})
        await uow.commit()
    async with database.uow() as uow:
        unit = (await uow.session.exec(select(Unit))).one()
        assert unit.created_at.tzinfo is not None
        assert unit.created_at == clock.now()
        assert unit.created_at.utcoffset() == timedelta(0)
        a = (await uow.session.exec(select(Assignment))).one()
        assert a.planned_value == Decimal("1234.5678")
        assert a.baseline_value == Decimal("0.1")
        log = (await uow.session.exec(select(AuditLog))).one()
        assert log.after == {"value": "1.5"}
        assert log.at.astimezone(UTC) == datetime(2027, 3, 22, 1, 0, tzinfo=UTC)


async def test_leaving_a_unit_of_work_without_commit_rolls_back(database, clock) -> None:
    async with database.uow() as uow:
        uow.session.add(Unit(code="X", name="X", kind="village", created_at=clock.now()))
        await uow.session.flush()
    async with database.uow() as uow:
        assert (await uow.session.exec(select(Unit))).all() == []
