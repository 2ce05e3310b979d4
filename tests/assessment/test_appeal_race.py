"""One pending appeal per unit holds when two cadres of the unit file at the same moment (PostgreSQL: both
read "no pending appeal" at once without the lock on the unit's result)."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from models.assessment import Appeal
from services.assessment import appeal_records, rounds
from services.core.errors import DomainError
from tests.support.factories import add_person
from tests.support.results_rig import CADRE_ZH, seed


@pytest.mark.postgres_only
async def test_two_cadres_of_one_unit_appealing_at_once_file_one_appeal(rig) -> None:
    county = await seed(rig)
    await add_person(rig.db, rig.clock, name="王五", unit=county.units["T1"], telegram_user_id=201)
    await rounds.publish(2027, 7, actor="cli", uow=rig.db.uow(), clock=rig.clock)

    async def file(user_id: int) -> str:
        try:
            await appeal_records.appeal("第二笔资金未计入", user_id=user_id, update_id=None, uow=rig.db.uow(),
                                        clock=rig.clock)
        except DomainError as exc:
            return exc.key
        return "filed"

    outcomes = await asyncio.gather(file(CADRE_ZH), file(201))
    assert sorted(outcomes) == ["appeal.pending_exists", "filed"]
    async with rig.db.uow() as uow:
        assert len((await uow.session.exec(select(Appeal))).all()) == 1
