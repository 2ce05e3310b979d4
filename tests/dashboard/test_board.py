"""The board's kept county: read once a minute and shared; older than that it is answered at once while a
read behind it brings it up to date."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from models.people import Person
from models.progress import ProgressReport
from services.dashboard import board
from services.dashboard.scope import view_of
from tests.support.dashrig import TZ, seed


def lights(answer: dict) -> dict[str, str]:
    return {r["code"]: r["cells"]["industry"]["light"] for g in answer["groups"] for r in g["rows"]
            if "industry" in r["cells"]}


async def test_a_new_report_shows_within_a_minute_and_a_read(rig) -> None:
    """河口村 (V2) reported 18 of 100 on A1: with 21.978 expected on 2027-03-22 its pace is 0.819, yellow. A new
    report of 25 makes it 25 / 21.978 = 1.1375 ≥ 0.9: green — but only once the kept county is read again."""
    c = await seed(rig.db, rig.clock, rig.settings.evidence_dir)
    async with rig.db.read_uow() as uow:
        admin = await uow.session.get(Person, c["admin"].id)
        assert admin is not None
        view = await view_of(uow.session, admin)
    first = await board.board(view, uow=rig.db.read_uow(), clock=rig.clock)
    assert lights(first) == {"V1": "red", "V2": "yellow"}
    async with rig.db.uow() as uow:
        uow.session.add(ProgressReport(assignment_id=c["assignments"]["v2a"], reporter_person_id=c["cadre2"].id,
                                       value=Decimal(25), confirmed_at=datetime(2027, 3, 22, 8, tzinfo=TZ)))
        await uow.commit()
    rig.clock.set(rig.clock.now() + timedelta(seconds=59))
    assert lights(await board.board(view, uow=rig.db.read_uow(), clock=rig.clock))["V2"] == "yellow"  # kept
    rig.clock.set(rig.clock.now() + timedelta(seconds=2))
    stale = await board.board(view, uow=rig.db.read_uow(), clock=rig.clock)
    assert lights(stale)["V2"] == "yellow"  # answered at once, a read behind it
    async with rig.db.read_uow() as uow:
        await board.settled(uow.session)
    assert lights(await board.board(view, uow=rig.db.read_uow(), clock=rig.clock)) == {"V1": "red", "V2": "green"}
