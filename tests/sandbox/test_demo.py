"""The demo county is built through the services and the bot's own dialogues, on SQLite and on PostgreSQL:
everyone joined by invitation, weeks of reports (some behind pace, one unit silent), three inspections with
generated photos (one off-site, one re-used), a flagged supervision item, alerts, survey links, all audited."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select

from bot.sandbox import demo_plan
from bot.sandbox.run import open_sandbox
from models.alerts import Alert
from models.core import AuditLog
from models.db import Database
from models.inspection import Inspection
from models.items import ItemPart, SupervisionItem
from models.people import Person
from models.progress import ProgressReport

AT = datetime(2026, 6, 15, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


async def _count(db: Database, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with db.uow() as uow:
        return (await uow.session.exec(select(func.count()).select_from(model).where(*where))).one()


async def test_the_demo_county_is_played_through_the_bot(db_url, tmp_path) -> None:
    sandbox = open_sandbox(tmp_path / "data", port=0, at=AT, database_url=db_url)
    await sandbox.start()
    try:
        await sandbox.build_demo()
        assert sandbox.state.demo == "done"
        assert sandbox.state.notes["counts"] == {"people": 20, "reports": 60, "inspections": 3}
        assert sandbox.clock.now() >= AT
        assert len(sandbox.state.personas) == len(demo_plan.PEOPLE) == 20
        assert len(sandbox.state.notes["survey_links"]) == 9
        chats = {p.id: sandbox.fake.messages_to(p.id) for p in sandbox.state.personas}
        assert all(chats.values())  # everyone was greeted when they joined
    finally:
        await sandbox.stop()
    db = Database(db_url)
    try:
        assert await _count(db, Person, col(Person.telegram_user_id).is_not(None)) == 20
        assert await _count(db, ProgressReport) == 60
        async with db.uow() as uow:
            visits = (await uow.session.exec(select(Inspection).order_by(col(Inspection.id)))).all()
            item = (await uow.session.exec(select(SupervisionItem))).one()
            kinds = [{f["kind"] for f in v.flags or []} for v in visits]
            levels = set((await uow.session.exec(select(Alert.level).where(Alert.kind == "pace"))).all())
            actions = set((await uow.session.exec(select(AuditLog.action))).all())
        assert kinds[0] == set() and "exif_off_site" in kinds[1] and "reused_exact" in kinds[2]
        assert item.flagged and item.source == "instruction"
        assert await _count(db, ItemPart, ItemPart.item_id == item.id) == 2
        assert "red" in levels  # the units behind pace were warned
        assert await _count(db, Alert, Alert.kind == "missing_report") > 0  # and the silent one reminded
        assert {"unit.create", "invitation.redeem", "progress.report", "inspection.create", "item.open",
                "survey.link"} <= actions
    finally:
        await db.dispose()
