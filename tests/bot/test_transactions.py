"""The hot path's budget: a dialogue step costs one read (the gate: handled already? who is this?) and one
write (the step itself, which records the update id, reads the person and draft, writes and queues together).
Counted with SQLAlchemy's "begin" event, attributed to the update being processed through its marks
(services/core/updates.py), so the delivery worker's own rounds do not count."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from sqlalchemy import event

from services.core import updates
from tests.progress.test_report import reports, seed


def _count_transactions(rig) -> Counter[int]:
    """Transactions begun while an update was processed, by update (in the order the updates came)."""
    begun: Counter[int] = Counter()

    def on_begin(_conn: Any) -> None:
        marks = updates.current()
        if marks is not None:
            begun[id(marks)] += 1

    db = rig.db
    for engine in {e.sync_engine for e in (db.engine, db.read_engine, db.hot_engine, db.hot_read_engine)}:
        event.listen(engine, "begin", on_begin)
    return begun


async def _all_done(cadre) -> None:
    """The chat's updates are handled one at a time: once a later one is answered, those before it are done."""
    await cadre.send_text("/cancel")
    await cadre.wait_reply()


async def test_each_step_of_a_report_is_one_read_and_one_write(bot) -> None:
    """5 updates (/report T1, a value, /skip, /done, Confirm): 2 transactions each, 10 in all. Before this
    budget the same dialogue took 4 to 5 per update: the gate's two reads, the step, after it a read to see
    whether the id was recorded, and a round of the outbox after every update."""
    await seed(bot)
    cadre = bot.fake.user(200)
    begun = _count_transactions(bot)
    for text in ("/report T1", "100", "/skip", "/done"):
        await cadre.send_text(text)
        last = await cadre.wait_reply()
    await cadre.press(last, next(d for t, d in last.buttons() if t == "确认提交"))
    assert "已提交" in (await cadre.wait_reply()).text
    await _all_done(cadre)
    assert list(begun.values())[:5] == [2, 2, 2, 2, 2], begun
    assert len(await reports(bot)) == 1


async def test_a_command_without_effect_of_its_own_is_recorded_once(bot) -> None:
    """/mytargets reads twice (the gate, then the list) and has its id recorded in a third transaction; a
    redelivery of it is read once by the gate and dropped, not answered again."""
    await seed(bot)
    cadre = bot.fake.user(200)
    begun = _count_transactions(bot)
    sent = await cadre.send_text("/mytargets")
    first = await cadre.wait_reply()
    assert "T1" in first.text
    await bot.fake.wait_confirmed(sent.update_id)
    await bot.fake.redeliver(sent.update_id)
    await _all_done(cadre)
    assert list(begun.values())[:2] == [3, 1], begun
    assert sum("T1" in m.text for m in cadre.replies()) == 1


async def test_ptbs_minutely_conversation_states_are_one_transaction(rig) -> None:
    """Every minute (and at stop) PTB hands over each changed conversation: 20 of them are written in one
    transaction, and read back as handed over (what a restart resumes from); a second round that ends
    some and changes others is one transaction again."""
    from bot.app.persistence import DbPersistence

    persistence = DbPersistence(rig.db, rig.clock)
    begun: list[int] = []
    for engine in {rig.db.engine.sync_engine, rig.db.hot_engine.sync_engine}:
        event.listen(engine, "begin", lambda _conn: begun.append(1))
    await asyncio.gather(*(persistence.update_conversation("report", (i, i), "await_value") for i in range(20)))
    assert len(begun) == 1
    states = await persistence.get_conversations("report")
    assert states == {(i, i): "await_value" for i in range(20)}
    begun.clear()  # (on PostgreSQL the read above is on the same engine)
    await asyncio.gather(*(persistence.update_conversation("report", (i, i), None if i < 5 else "await_note")
                           for i in range(20)))
    await persistence.flush()
    assert len(begun) == 1
    assert await persistence.get_conversations("report") == {(i, i): "await_note" for i in range(5, 20)}
