"""The audit log is a hash chain: ``duban audit verify`` accepts a chain the real code built and names the first
row an edit, a deletion, a swap or a reordering broke; rows are only ever appended, in one chain, also by
concurrent transactions; on PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from itertools import pairwise

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import col, func, select

from models.core import AuditLog
from models.types import UTCDateTime
from services.core import audit
from services.core.audit import GENESIS, AuditWrittenDirectly
from services.plan.importer import import_plan
from tests.support.plan_factory import build_county_plan, write_plan_xlsx

AUDIT = sa.table(
    "audit_log", sa.column("id", sa.Integer()), sa.column("at", UTCDateTime()),
    *(sa.column(c, sa.String()) for c in ("actor", "action", "entity", "entity_key", "prev_hash", "row_hash")),
    sa.column("before", sa.JSON()), sa.column("after", sa.JSON()),
)
CONTENT = ("at", "actor", "action", "entity", "entity_key", "before", "after")


async def rows(db) -> list[AuditLog]:
    async with db.uow() as uow:
        return list((await uow.session.exec(select(AuditLog).order_by(col(AuditLog.id)))).all())


async def append(db, clock, n: int, *, action: str = "unit.update") -> list[int]:
    """``n`` entries, one transaction each, a minute apart, each with a different value."""
    ids = []
    for i in range(n):
        clock.advance(timedelta(minutes=1))
        async with db.uow() as uow:
            entry = audit.record(uow.session, clock, actor="person:A01", action=action, entity="unit",
                                 key=f"V{i:03d}", before={"value": str(i)}, after={"value": str(i + 1)})
            await uow.commit()
        ids.append(entry.id)
    return ids


async def tamper(db, change: Callable[[sa.Connection], None]) -> None:
    """Change the table behind the application's back, as someone with database access could (on PostgreSQL
    the owner first switches the append-only trigger off)."""
    postgres = db.engine.dialect.name == "postgresql"
    async with db.engine.begin() as conn:
        if postgres:
            await conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        await conn.run_sync(change)
        if postgres:
            await conn.execute(sa.text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


def edit_actor(ids: list[int]) -> Callable[[sa.Connection], None]:
    return lambda c: c.execute(sa.update(AUDIT).where(AUDIT.c.id == ids[2]).values(actor="person:B02"))


def edit_after(ids: list[int]) -> Callable[[sa.Connection], None]:
    return lambda c: c.execute(sa.update(AUDIT).where(AUDIT.c.id == ids[2]).values(after={"value": "300"}))


def delete_one(ids: list[int]) -> Callable[[sa.Connection], None]:
    return lambda c: c.execute(sa.delete(AUDIT).where(AUDIT.c.id == ids[2]))


def swap_contents(ids: list[int]) -> Callable[[sa.Connection], None]:
    """Rows 2 and 4 exchange what they say; each keeps its id and hashes."""
    def change(c: sa.Connection) -> None:
        a, b = (c.execute(sa.select(*(AUDIT.c[k] for k in CONTENT)).where(AUDIT.c.id == i)).one() for i in
                (ids[1], ids[3]))
        c.execute(sa.update(AUDIT).where(AUDIT.c.id == ids[1]).values(**b._asdict()))
        c.execute(sa.update(AUDIT).where(AUDIT.c.id == ids[3]).values(**a._asdict()))
    return change


def reorder(ids: list[int]) -> Callable[[sa.Connection], None]:
    """Rows 2 and 4, whole (hashes included), exchange their places in the order."""
    def change(c: sa.Connection) -> None:
        for old, new in ((ids[1], -1), (ids[3], ids[1]), (-1, ids[3])):
            c.execute(sa.update(AUDIT).where(AUDIT.c.id == old).values(id=new))
    return change


def delete_first(ids: list[int]) -> Callable[[sa.Connection], None]:
    return lambda c: c.execute(sa.delete(AUDIT).where(AUDIT.c.id == ids[0]))


async def test_a_chain_built_by_the_real_code_verifies(cli, rig, tmp_path) -> None:
    """A plan import (hundreds of rows in one transaction), a person deactivated and a calendar loaded from the
    command line: one chain, from 64 zeros, every row's predecessor the row before it."""
    plan = build_county_plan(seed=2, townships=2, villages=2)
    report = await import_plan(write_plan_xlsx(tmp_path / "plan.xlsx", plan), db_uow=rig.db.uow(), clock=rig.clock,
                               actor="cli")
    assert report.ok
    assert (await cli("person", "deactivate", plan["people"][0]["code"])).code == 0
    calendar = tmp_path / "2027.toml"
    calendar.write_text('year = 2027\nholidays = ["2027-02-08"]\nworkdays = ["2027-02-14"]\n', encoding="utf-8")
    assert (await cli("calendar", "load", str(calendar))).code == 0
    chain = await rows(rig.db)
    assert len(chain) > 50
    assert chain[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.row_hash for a, b in pairwise(chain))
    assert all(row.row_hash == audit.digest(row.prev_hash, row) for row in chain)
    result = await cli("audit", "verify")
    assert result.code == 0, result.err
    assert result.out.strip() == f"审计日志完好：共 {len(chain)} 条记录，链头哈希 {chain[-1].row_hash}"
    english = await cli("audit", "verify", DUBAN_LOCALE="en")
    assert english.out.strip() == f"Audit log intact: {len(chain)} rows, head hash {chain[-1].row_hash}"


async def test_an_empty_log_verifies(cli) -> None:
    result = await cli("audit", "verify", DUBAN_LOCALE="en")
    assert (result.code, result.out.strip()) == (0, f"Audit log intact: 0 rows, head hash {GENESIS}")


@pytest.mark.parametrize(("change", "bad", "kind", "matched"), [
    (edit_actor, 2, "content", 2),
    (edit_after, 2, "content", 2),
    (delete_one, 3, "link", 2),
    (swap_contents, 1, "content", 1),
    (reorder, 1, "link", 1),
    (delete_first, 1, "link", 0),
])
async def test_verify_names_the_first_row_that_does_not_match(cli, rig, change, bad, kind, matched) -> None:
    ids = await append(rig.db, rig.clock, 6)
    assert (await cli("audit", "verify")).code == 0
    await tamper(rig.db, change(ids))
    result = await cli("audit", "verify", DUBAN_LOCALE="en")
    assert result.code == 1 and result.out == ""
    line = result.err.strip()
    assert line.startswith(f"Audit row {ids[bad]} (") and "unit.update" in line
    assert f"The {matched} rows before it match." in line
    if kind == "content":
        assert "its contents do not match its hash" in line
    else:
        previous = f"row {ids[bad - 2 if change is delete_one else bad - 1]}" if matched else "the start of the chain"
        assert f"does not follow the row before it ({previous})" in line
    zh = await cli("audit", "verify")
    assert zh.code == 1 and zh.err.startswith(f"审计日志第 {ids[bad]} 号记录（")


async def test_a_rewrite_after_the_published_head_is_caught_by_the_known_hash(cli, rig) -> None:
    """Dropping the newest rows, or rewriting every hash after a row, leaves a chain that holds together: the
    head the admins were sent is what shows it."""
    ids = await append(rig.db, rig.clock, 5)
    sent = (await rows(rig.db))[-1].row_hash
    ok = await cli("audit", "verify", "--known", sent.upper(), DUBAN_LOCALE="en")
    assert ok.code == 0 and f"Known head {sent} is in the chain (row {ids[-1]})." in ok.out

    def rewrite(c: sa.Connection) -> None:  # change row 3, then re-hash it and every row after it
        c.execute(sa.update(AUDIT).where(AUDIT.c.id == ids[2]).values(actor="person:B02"))
        prev = c.execute(sa.select(AUDIT.c.row_hash).where(AUDIT.c.id == ids[1])).scalar_one()
        for row_id in ids[2:]:
            new = audit.digest(prev, _typed(c, row_id))
            c.execute(sa.update(AUDIT).where(AUDIT.c.id == row_id).values(prev_hash=prev, row_hash=new))
            prev = new

    await tamper(rig.db, rewrite)
    assert (await cli("audit", "verify")).code == 0  # the chain holds together again ...
    caught = await cli("audit", "verify", "--known", sent, DUBAN_LOCALE="en")
    assert caught.code == 1  # ... but not with what was published
    assert f"Known head {sent} is not in the chain" in caught.err
    await tamper(rig.db, lambda c: c.execute(sa.delete(AUDIT).where(AUDIT.c.id == ids[-1])))
    assert (await cli("audit", "verify", "--known", sent)).code == 1
    bad = await cli("audit", "verify", "--known", "abc", DUBAN_LOCALE="en")
    assert bad.code == 2 and "--known takes a hash of 64 hexadecimal digits" in bad.err


def _typed(c: sa.Connection, row_id: int) -> AuditLog:
    """A row read with the model's column types (aware times, JSON), as ``verify`` reads it."""
    table = AuditLog.__table__  # type: ignore[attr-defined]
    row = c.execute(sa.select(table).where(table.c.id == row_id)).one()
    return AuditLog(**row._asdict())


async def test_rows_are_only_appended_through_record(database, clock) -> None:
    """Adding, changing or deleting an audit row through a session is refused on both databases; a row that
    claims a predecessor another row already claims is refused by the database."""
    (first,) = await append(database, clock, 1)
    async with database.uow() as uow:
        uow.session.add(AuditLog(at=clock.now(), actor="cli", action="x", entity="x"))
        with pytest.raises(AuditWrittenDirectly):
            await uow.session.flush()
    async with database.uow() as uow:
        row = await uow.session.get(AuditLog, first)
        row.actor = "person:B02"
        uow.session.add(row)
        with pytest.raises(AuditWrittenDirectly):
            await uow.commit()
    async with database.uow() as uow:
        await uow.session.delete(await uow.session.get(AuditLog, first))
        with pytest.raises(AuditWrittenDirectly):
            await uow.commit()
    with pytest.raises(IntegrityError):
        async with database.engine.begin() as conn:
            await conn.execute(sa.insert(AUDIT).values(at=clock.now(), actor="x", action="x", entity="x",
                                                       entity_key="", prev_hash=GENESIS, row_hash="0" * 64))
    assert [r.id for r in await rows(database)] == [first]


async def test_entries_of_a_rolled_back_transaction_or_savepoint_are_not_written(database, clock) -> None:
    (first,) = await append(database, clock, 1)
    async with database.uow() as uow:
        audit.record(uow.session, clock, actor="cli", action="lost", entity="unit")  # never committed
    async with database.uow() as uow:
        audit.record(uow.session, clock, actor="cli", action="kept.before", entity="unit")
        with pytest.raises(RuntimeError):
            async with uow.session.begin_nested():
                audit.record(uow.session, clock, actor="cli", action="lost.inside", entity="unit")
                raise RuntimeError("the savepoint rolls back")
        audit.record(uow.session, clock, actor="cli", action="kept.after", entity="unit")
        await uow.commit()
    chain = await rows(database)
    assert [r.action for r in chain] == ["unit.update", "kept.before", "kept.after"]
    assert chain[0].id == first and chain[1].prev_hash == chain[0].row_hash


@pytest.mark.postgres_only
async def test_postgres_refuses_update_delete_and_truncate_of_audit_rows(database, clock) -> None:
    ids = await append(database, clock, 2)
    before = [(r.actor, r.row_hash) for r in await rows(database)]
    statements = [sa.update(AUDIT).where(AUDIT.c.id == ids[0]).values(actor="person:B02"),
                  sa.delete(AUDIT).where(AUDIT.c.id == ids[1]), sa.text("TRUNCATE audit_log")]
    for statement in statements:
        with pytest.raises(DBAPIError, match="audit_log is append-only"):
            async with database.engine.begin() as conn:
                await conn.execute(statement)
    assert [(r.actor, r.row_hash) for r in await rows(database)] == before


@pytest.mark.postgres_only
async def test_concurrent_transactions_append_one_unbroken_chain(database, clock, cli) -> None:
    """Eight transactions, all open at once (each has read before any records), each append five entries and
    commit together: one chain of 40 rows, each transaction's rows side by side, no predecessor claimed
    twice."""
    writers, each = 8, 5
    everyone_read = asyncio.Barrier(writers)

    async def writer(n: int) -> list[int]:
        async with database.uow() as uow:
            await uow.session.exec(select(func.count(col(AuditLog.id))))
            await everyone_read.wait()
            entries = [audit.record(uow.session, clock, actor=f"person:W{n}", action="unit.update", entity="unit",
                                    key=f"{n}:{i}") for i in range(each)]
            await uow.commit()
        return [e.id for e in entries]

    written: list[list[int]] = await asyncio.gather(*(writer(n) for n in range(writers)))
    chain = await rows(database)
    assert len(chain) == writers * each and len({r.prev_hash for r in chain}) == len(chain)
    position = {r.id: i for i, r in enumerate(chain)}
    for ids in written:
        assert [position[i] for i in ids] == list(range(position[ids[0]], position[ids[0]] + each))
    result = await cli("audit", "verify")
    assert result.code == 0 and f"共 {writers * each} 条记录" in result.out
