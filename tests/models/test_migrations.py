"""The migrations build exactly the tables the models declare, and an upgrade keeps the dialogues people are
in the middle of: a /report begun before revision 0006 (its draft in a table of its own then) is finished
after it, with the Confirm button it was shown before."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel, select

import models.alerts
import models.assessment
import models.calendar
import models.core
import models.inspection
import models.people
import models.plan
import models.progress  # noqa: F401  (every table module fills the metadata)
from models.db import Database
from models.migrate import upgrade
from models.plan import Assignment
from models.progress import ProgressReport
from models.types import DecimalValue, UTCDateTime
from tests.support.botrig import Rig, make_settings, running_bot
from tests.support.factories import add_person, add_unit

PG_URL = os.environ.get("DUBAN_TEST_POSTGRES_URL", "").strip()
# The /report draft table as revision 0005 left it, and the conversation states.
OLD_DRAFTS = sa.table("report_drafts", *(sa.column(c) for c in ("id", "person_id", "chat_id", "status", "step",
                                                                 "assignment_id", "value_text")),
                      sa.column("value", DecimalValue()), sa.column("attachments", sa.JSON()),
                      sa.column("created_at", UTCDateTime()), sa.column("updated_at", UTCDateTime()))
# The plan's tables as revision 0005 knew them (a later revision may add columns the ORM models then write).
OLD_TARGETS = sa.table("targets", *(sa.column(c) for c in ("id", "code", "year", "title", "category", "measure",
                                                           "direction", "mode", "report_interval_days",
                                                           "description", "closed")), sa.column("deadline", sa.Date()))
STATES = sa.table("conversation_states", sa.column("name"), sa.column("conv_key"), sa.column("state", sa.JSON()),
                  sa.column("updated_at", UTCDateTime()))


async def test_the_migrated_schema_is_the_models_schema(database) -> None:
    def diff(connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return compare_metadata(context, SQLModel.metadata)

    async with database.engine.connect() as connection:
        assert await connection.run_sync(diff) == []


@pytest.fixture
async def old_database(db_kind: str, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database brought to revision 0005 (before the drafts moved to JSON)."""
    if db_kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        name = None
    else:
        name = f"duban_old_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(make_url(PG_URL).set(drivername="postgresql").render_as_string(
            hide_password=False))
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    await upgrade(db.engine, "0005")
    yield db
    await db.dispose()
    if name is not None:
        admin = await asyncpg.connect(make_url(PG_URL).set(drivername="postgresql").render_as_string(
            hide_password=False))
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_a_report_begun_before_the_upgrade_is_confirmed_after_it(old_database, fake, clock, tmp_path) -> None:
    """Before 0006 a cadre typed 350万 into /report (draft 7, at the note); after it they send the note,
    finish, and press Confirm on a summary carrying ``rep:ok:7``: one report of 350, audited as usual."""
    db = old_database
    unit = await add_unit(db, clock, code="V1", name="青山村")
    cadre = await add_person(db, clock, name="张三", unit=unit, telegram_user_id=200)
    async with db.uow() as uow:
        await uow.session.exec(sa.insert(OLD_TARGETS).values(
            id=1, code="T1", year=2027, title="招商引资到位资金", category="investment", measure="万元",
            direction="higher", mode="zero_base", report_interval_days=7, description="", closed=False,
            deadline=date(2027, 12, 31)))
        assignment = Assignment(target_id=1, unit_id=unit.id, planned_value=Decimal(1000))
        uow.session.add(assignment)
        await uow.session.flush()
        await uow.session.exec(sa.insert(OLD_DRAFTS).values(
            id=7, person_id=cadre.id, chat_id=200, status="open", step="await_note", assignment_id=assignment.id,
            value=Decimal(350), value_text="350 万元", attachments=[], created_at=clock.now(),
            updated_at=clock.now()))
        await uow.session.exec(sa.insert(STATES).values(
            name="report", conv_key=json.dumps([200, 200], separators=(",", ":")), state="await_note",
            updated_at=clock.now()))
        await uow.session.exec(sa.insert(STATES).values(  # an admin editing notice 5, the old way
            name="notice.edit", conv_key=json.dumps([100, 100], separators=(",", ":")), state={"notice_id": 5},
            updated_at=clock.now()))
        await uow.commit()
    await upgrade(db.engine)
    async with db.uow() as uow:
        rows = (await uow.session.exec(sa.select(STATES.c.name, STATES.c.state))).all()
    edit = {name: state for name, state in rows}["notice.draft"]
    assert (edit["notice_id"], edit["step"]) == (5, "await_text") and isinstance(edit["serial"], int)
    assert "notice.edit" not in {name for name, _ in rows}

    rig = Rig(fake=fake, db=db, clock=clock, settings=make_settings(fake, db.url, tmp_path / "evidence"))
    async with running_bot(rig):
        user = fake.user(200, "张三")
        await user.send_text("两个项目资金已到账")
        assert "佐证" in (await user.wait_reply()).text  # the dialogue went on where it stood
        await user.send_text("/done")
        summary = await user.wait_reply()
        assert "350 万元" in summary.text and ("确认提交", "rep:ok:7") in summary.buttons()
        await user.press_button(summary, "确认提交")
        assert "已提交" in (await user.wait_reply()).text
    async with db.uow() as uow:
        (report,) = (await uow.session.exec(select(ProgressReport))).all()
    assert (report.value, report.note) == (Decimal(350), "两个项目资金已到账")
