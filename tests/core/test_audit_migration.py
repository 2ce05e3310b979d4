"""Revision 0007 chains the audit rows a county already has, in id order, exactly as the code chains new ones,
and its downgrade takes the chain and the PostgreSQL trigger away again."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from models.core import AuditLog
from models.db import Database
from models.migrate import alembic_config, upgrade
from models.types import UTCDateTime
from services.core import audit, audit_chain
from services.core.audit import GENESIS

PG_URL = os.environ.get("DUBAN_TEST_POSTGRES_URL", "").strip()
OLD_AUDIT = sa.table("audit_log", sa.column("at", UTCDateTime()), sa.column("before", sa.JSON()),
                     sa.column("after", sa.JSON()),
                     *(sa.column(c, sa.String()) for c in ("actor", "action", "entity", "entity_key")))


def _admin_dsn() -> str:
    return make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
async def old_database(db_kind: str, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database at revision 0006, before the chain."""
    name = None
    if db_kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    else:
        name = f"duban_old_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(_admin_dsn())
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    await upgrade(db.engine, "0006")
    yield db
    await db.dispose()
    if name is not None:
        admin = await asyncpg.connect(_admin_dsn())
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def downgrade(db: Database, revision: str) -> None:
    def run(connection) -> None:  # type: ignore[no-untyped-def]
        cfg = alembic_config(str(db.engine.url))
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)

    async with db.engine.connect() as connection:
        await connection.run_sync(run)
        await connection.commit()


async def chain(db: Database) -> list[AuditLog]:
    async with db.uow() as uow:
        return list((await uow.session.exec(select(AuditLog).order_by(col(AuditLog.id)))).all())


async def test_the_rows_already_there_are_chained_in_order(old_database, clock) -> None:
    db = old_database
    rows = [{"at": clock.now() + timedelta(seconds=i, microseconds=i * 7), "actor": "cli", "action": action,
             "entity": "unit", "entity_key": f"V{i}", "before": before, "after": after}
            for i, (action, before, after) in enumerate([
                ("unit.create", None, {"name": "青山村", "radius_m": 300, "lat": 30.5}),
                ("unit.update", {"name": "青山村"}, {"name": "青山村（新）", "tags": ["a", "b"]}),
                ("person.deactivate", {"active": True}, {"active": False}),
            ])]
    async with db.engine.begin() as conn:
        await conn.execute(sa.insert(OLD_AUDIT), rows)
    await upgrade(db.engine)
    migrated = await chain(db)
    assert [r.action for r in migrated] == ["unit.create", "unit.update", "person.deactivate"]
    assert migrated[0].prev_hash == GENESIS
    prev = GENESIS
    for row in migrated:  # the migration's copy of the definition and the code's agree
        assert (row.prev_hash, row.row_hash) == (prev, audit.digest(prev, row))
        prev = row.row_hash
    async with db.uow() as uow:  # the code appends onto the migrated chain
        audit.record(uow.session, clock, actor="cli", action="unit.update", entity="unit", key="V9")
        await uow.commit()
    verdict = await audit_chain.verify(uow=db.read_uow())
    assert verdict.ok and verdict.count == 4

    await downgrade(db, "0006")
    async with db.engine.begin() as conn:  # no chain, no trigger: the old schema again
        columns = await conn.run_sync(lambda c: {x["name"] for x in sa.inspect(c).get_columns("audit_log")})
        assert "prev_hash" not in columns and "row_hash" not in columns
        await conn.execute(sa.update(OLD_AUDIT).where(OLD_AUDIT.c.entity_key == "V9").values(actor="someone"))
    await upgrade(db.engine)
    verdict = await audit_chain.verify(uow=db.read_uow())
    assert verdict.ok and verdict.count == 4 and (await chain(db))[-1].actor == "someone"
