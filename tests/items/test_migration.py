"""Revision 0009: rectifications made before it become supervision items from their inspections, with their
numbers, photos, alerts and the dialogues people were in the middle of; the downgrade brings them back."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import make_url

from models.alerts import Alert
from models.core import EvidenceFile
from models.db import Database
from models.enums import Role
from models.inspection import Inspection
from models.items import ItemFile, ItemNote, ItemPart, SupervisionItem
from models.migrate import alembic_config, upgrade
from models.types import UTCDateTime
from tests.support.botrig import Rig, make_settings, running_bot
from tests.support.factories import add_person, add_unit
from tests.support.itemrig import PNG, rows

PG_URL = os.environ.get("DUBAN_TEST_POSTGRES_URL", "").strip()
RECTS = sa.table("rectifications", *(sa.column(c) for c in (
    "id", "inspection_id", "unit_id", "owner_person_id", "opened_by_person_id", "description", "deadline", "status",
    "closing_note", "decision_note", "rejections")), *(sa.column(c, UTCDateTime()) for c in (
        "created_at", "submitted_at", "decided_at")))
PHOTOS = sa.table("rectification_photos", *(sa.column(c) for c in ("rectification_id", "evidence_id", "submission")))
STATES = sa.table("conversation_states", sa.column("name"), sa.column("conv_key"), sa.column("state", sa.JSON()),
                  sa.column("updated_at", UTCDateTime()))


def _dsn() -> str:
    return make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
async def old_database(db_kind: str, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database at revision 0008, before supervision items."""
    name = None
    if db_kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    else:
        name = f"duban_old_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(_dsn())
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    await upgrade(db.engine, "0008")
    yield db
    await db.dispose()
    if name is not None:
        admin = await asyncpg.connect(_dsn())
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def key(user: int) -> str:
    return json.dumps([user, user], separators=(",", ":"))


async def seed(db, clock) -> dict:
    """青山村 (cadre 张三 200), 钱督查 500 and a visit; rectification 1 open (its alert at the linked-leader
    stage; 张三 halfway through closing it, one photo sent), 2 submitted a second time after a rejection
    (钱督查 halfway through rejecting it again), 3 accepted; 钱督查 halfway through opening another."""
    unit = await add_unit(db, clock, code="V1", name="青山村")
    zhang = await add_person(db, clock, name="张三", unit=unit, telegram_user_id=200)
    qian = await add_person(db, clock, name="钱督查", roles=(Role.INSPECTOR,), telegram_user_id=500)
    now, day = clock.now(), clock.now().date()
    async with db.uow() as uow:
        s = uow.session
        visit = Inspection(inspector_person_id=qian.id, unit_id=unit.id, visited_at=now, rating="poor",
                           findings="路灯损坏")
        s.add(visit)
        files = [EvidenceFile(sha256=f"{n}" * 64, size=1, storage_key=f"k/{n}", telegram_file_id=f"f{n}",
                              mime_type="image/png", created_at=now) for n in range(4)]
        s.add_all(files)
        await s.flush()
        common = {"inspection_id": visit.id, "unit_id": unit.id, "owner_person_id": zhang.id,
                  "opened_by_person_id": qian.id, "created_at": now - timedelta(days=10)}
        await s.exec(sa.insert(RECTS).values([
            {**common, "id": 1, "description": "修复路灯", "deadline": day - timedelta(days=2), "status": "open",
             "closing_note": None, "decision_note": None, "rejections": 0, "submitted_at": None, "decided_at": None},
            {**common, "id": 2, "description": "补装护栏", "deadline": day + timedelta(days=5), "status": "submitted",
             "closing_note": "护栏已重新安装", "decision_note": "高度不够", "rejections": 1,
             "submitted_at": now - timedelta(days=1), "decided_at": None},
            {**common, "id": 3, "description": "清理垃圾", "deadline": day - timedelta(days=1), "status": "accepted",
             "closing_note": "已清理", "decision_note": None, "rejections": 0, "submitted_at": now - timedelta(days=3),
             "decided_at": now - timedelta(days=2)}]))
        await s.exec(sa.insert(PHOTOS).values([
            {"rectification_id": 2, "evidence_id": files[0].id, "submission": 1},
            {"rectification_id": 2, "evidence_id": files[1].id, "submission": 2},
            {"rectification_id": 3, "evidence_id": files[2].id, "submission": 1}]))
        s.add(Alert(key=f"rectification|r1|overdue|{day - timedelta(days=2)}", kind="rectification", level="overdue",
                    period=(day - timedelta(days=2)).isoformat(), created_at=now, stage=1, stage_at=now,
                    details={"rectification_id": 1}))
        await s.exec(sa.insert(STATES).values([
            {"name": "rect.draft", "conv_key": key(200), "updated_at": now, "state": {
                "kind": "close", "rect_id": 1, "note": "路灯已修好", "photos": [files[3].id], "serial": 77,
                "step": "close_photos"}},
            {"name": "rect", "conv_key": key(200), "state": "close_photos", "updated_at": now},
            {"name": "rect.draft", "conv_key": key(500), "updated_at": now, "state": {
                "kind": "open", "inspection_id": visit.id, "unit": "青山村", "findings": "路灯损坏",
                "candidates": [[zhang.id, "张三"]], "description": "更换全部路灯", "owner_id": zhang.id,
                "owner": "张三", "serial": 78, "step": "open_deadline"}},
            {"name": "rect", "conv_key": key(500), "state": "open_deadline", "updated_at": now},
            {"name": "rect.done", "conv_key": key(500), "state": [], "updated_at": now}]))
        await uow.commit()
    return {"unit": unit, "zhang": zhang, "qian": qian, "visit": visit.id, "files": [f.id for f in files]}


async def test_rectifications_become_items_and_the_dialogues_go_on(old_database, fake, clock, tmp_path) -> None:
    db = old_database
    c = await seed(db, clock)
    await upgrade(db.engine)
    items = await rows(db, SupervisionItem)
    assert [(i.id, i.source, i.inspection_id, i.task, i.state) for i in items] == [
        (1, "inspection", c["visit"], "修复路灯", "open"), (2, "inspection", c["visit"], "补装护栏", "open"),
        (3, "inspection", c["visit"], "清理垃圾", "closed")]
    parts = await rows(db, ItemPart)
    assert [(p.id, p.state, p.reports, p.returns, p.signed_by_person_id) for p in parts] == [
        (1, "signed", 0, 0, c["zhang"].id), (2, "reported", 2, 1, c["zhang"].id), (3, "closed", 1, 0, c["zhang"].id)]
    assert [(n.part_id, n.kind, n.submission, n.text) for n in await rows(db, ItemNote)] == [
        (2, "report", 1, ""), (2, "report", 2, "护栏已重新安装"), (3, "report", 1, "已清理"), (3, "approved", 1, "")]
    files = await rows(db, ItemFile)
    assert [f.evidence_id for f in files] == c["files"][:3] and all(f.note_id for f in files)
    (alert,) = await rows(db, Alert)
    assert (alert.kind, alert.level, alert.stage, alert.details["part_id"]) == ("item", "red", 1, 1)
    assert alert.key == f"item|p1|overdue|{clock.now().date() - timedelta(days=2)}"
    async with db.uow() as uow:
        names = {(r.name, r.conv_key) for r in (await uow.session.exec(sa.select(STATES))).all()}
    assert names == {("itemwork.draft", key(200)), ("itemwork", key(200)), ("newitem.draft", key(500)),
                     ("newitem", key(500))}

    rig = Rig(fake=fake, db=db, clock=clock, settings=make_settings(fake, db.url, tmp_path / "evidence"))
    async with running_bot(rig):
        zhang, qian = fake.user(200), fake.user(500)
        await zhang.send_photo(PNG)  # the closing goes on at its photos, with the one sent before
        assert "已收到 2 个" in (await zhang.wait_reply()).text
        await zhang.send_text("/done")
        summary = await zhang.wait_reply()
        assert "路灯已修好" in summary.text and ("确认提交", "iw:y:77") in summary.buttons()
        await zhang.press_button(summary, "确认提交")
        assert "等待 钱督查 核查" in (await zhang.wait_reply()).text
        await qian.send_text("2027-04-30")  # the opening goes on at its deadline, the task kept
        summary = await qian.wait_reply(lambda m: "请确认督办件" in (m.text or ""))
        assert "更换全部路灯" in summary.text and "2027-04-30" in summary.text
        await qian.press_button(summary, "确认交办")
        # numbered after the rectifications (the push of #1 waiting for qian's check may come first)
        assert "已交办督办件 #4" in (await qian.wait_reply(lambda m: "已交办" in (m.text or ""))).text
    assert [p.state for p in await rows(db, ItemPart)] == ["reported", "reported", "closed", "assigned"]
    assert date(2027, 4, 30) == (await rows(db, SupervisionItem))[-1].deadline


async def test_the_downgrade_brings_rectifications_back(old_database, clock) -> None:
    db = old_database
    await seed(db, clock)
    await upgrade(db.engine)

    def down(connection) -> None:  # type: ignore[no-untyped-def]
        cfg = alembic_config(str(db.engine.url))
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0008")

    async with db.engine.connect() as connection:
        await connection.run_sync(down)
        await connection.commit()
    async with db.uow() as uow:
        back = (await uow.session.exec(sa.select(RECTS.c.id, RECTS.c.status, RECTS.c.rejections)
                                       .order_by(RECTS.c.id))).all()
        photos = (await uow.session.exec(sa.select(sa.func.count()).select_from(PHOTOS))).one()
    assert [tuple(r) for r in back] == [(1, "open", 0), (2, "submitted", 1), (3, "accepted", 0)]
    assert photos[0] == 3
