"""Benchmark (not a test): what one dialogue update is made of, in CPU per operation, without Telegram,
HTTP or PTB: the floor the hot path stands on. Run ``.venv/bin/python -m bench.floor --help``.

On bench/report_flow.py's database (migrated, seeded), in one process, each measured as CPU seconds of the
whole process (every thread, so aiosqlite's too) over many repetitions:

* ``driver``: one primary-key SELECT straight through the driver (sqlite3 in this thread; aiosqlite's thread
  hop; asyncpg), the least a statement can cost;
* ``core``: the same SELECT through SQLAlchemy Core on an AsyncSession in a read transaction;
* ``orm``: the same row as an ORM object (``session.get`` on a fresh session);
* ``empty write``: ``BEGIN IMMEDIATE`` (SQLite) / ``BEGIN``, one INSERT of a handled update id, COMMIT, through
  our unit of work: the fixed price of a write transaction;
* the gate (``people.at_gate``: handled already? and the viewer) and each of the five steps of a /report
  dialogue (``services.progress.report``: begin, value, skip, summary, confirm) as the handlers call them,
  with the statements each sends counted.

The sum of the gate and a step, against the echo bot's whole CPU per update in bench/report_flow.py, is how
far the hot path is from the goal of 3× the echo bot; the driver and ORM lines say what a statement costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.report_flow import USER0, fresh_database, seed  # noqa: E402


async def cpu_per(label: str, n: int, op: Callable[[int], Awaitable[Any]], statements: list[int] | None = None
                  ) -> tuple[str, float, float]:
    """(label, µs of CPU per call, statements per call) of ``op(i)`` for i in range(n), after a warm-up."""
    for i in range(min(50, n)):
        await op(n + i)
    before = statements[0] if statements is not None else 0
    t0 = time.process_time()
    for i in range(n):
        await op(i)
    cpu = (time.process_time() - t0) / n * 1e6
    return label, cpu, ((statements[0] - before) / n) if statements is not None else float("nan")


async def measure(url: str, n: int) -> list[tuple[str, float, float]]:
    from sqlalchemy import event, select, text
    from sqlalchemy.engine import make_url

    from models.core import HandledUpdate
    from models.db import Database
    from models.people import Person
    from services.core import conversations, updates
    from services.core.clock import SystemClock
    from services.people import viewer as people
    from services.progress import report

    db, clock = Database(url), SystemClock(ZoneInfo("Asia/Shanghai"))
    # The hot path's units of work where the code has them (the handlers use them for the gate and the steps)
    write_uow = getattr(db, "hot_uow", db.uow)
    read_uow = getattr(db, "hot_read_uow", db.read_uow)
    statements = [0]

    def counted(*_: Any) -> None:
        statements[0] += 1

    for engine in {getattr(db, name) for name in ("engine", "read_engine", "hot_engine", "hot_read_engine")
                   if hasattr(db, name)}:
        event.listen(engine.sync_engine, "before_cursor_execute", counted)
    rows: list[tuple[str, float, float]] = []
    person_id = 1
    sqlite = url.startswith("sqlite")
    try:
        if sqlite:
            raw = sqlite3.connect(make_url(url).database)

            async def sync_driver(_: int) -> None:
                raw.execute("SELECT name FROM people WHERE id = ?", (person_id,)).fetchone()
            rows.append(await cpu_per("driver: sqlite3, in the loop's thread", n, sync_driver))
            import aiosqlite
            async with aiosqlite.connect(make_url(url).database) as conn:
                async def thread_driver(_: int) -> None:
                    async with conn.execute("SELECT name FROM people WHERE id = ?", (person_id,)) as cur:
                        await cur.fetchone()
                rows.append(await cpu_per("driver: aiosqlite (a thread hop)", n, thread_driver))
            raw.close()
        else:
            import asyncpg
            u = make_url(url)
            conn = await asyncpg.connect(user=u.username, host=u.host, port=u.port or 5432, database=u.database)
            try:
                async def pg_driver(_: int) -> None:
                    await conn.fetchrow("SELECT name FROM people WHERE id = $1", person_id)
                rows.append(await cpu_per("driver: asyncpg", n, pg_driver))
            finally:
                await conn.close()

        name = Person.__table__.c.name  # type: ignore[attr-defined]
        pid = Person.__table__.c.id  # type: ignore[attr-defined]

        async def core(_: int) -> None:
            async with read_uow() as uow:
                (await uow.session.execute(select(name).where(pid == person_id))).first()
        rows.append(await cpu_per("core: a read transaction, one SELECT", n, core, statements))

        async def orm(_: int) -> None:
            async with read_uow() as uow:
                await uow.session.get(Person, person_id)
        rows.append(await cpu_per("orm: a read transaction, session.get", n, orm, statements))

        async def empty_write(i: int) -> None:
            async with write_uow() as uow:
                uow.session.add(HandledUpdate(update_id=10**9 + i + n * 3, handled_at=clock.now()))
                await uow.commit()
        rows.append(await cpu_per("write: BEGIN, one INSERT, COMMIT", n, empty_write, statements))

        async def one(_: int) -> None:
            async with read_uow() as uow:
                await uow.session.execute(text("SELECT 1"))
        rows.append(await cpu_per("read: BEGIN, SELECT 1, end", n, one, statements))

        at_gate = getattr(people, "at_gate", None)  # older code: two reads (bench/README.md compares)

        async def gate(i: int) -> None:
            if at_gate is not None:
                await at_gate(2 * 10**9 + i, USER0, uow=read_uow())
            else:
                await updates.is_handled(2 * 10**9 + i, uow=read_uow())
                await people.viewer_for(USER0, uow=read_uow())
        rows.append(await cpu_per("the gate: handled already? who is it?", n, gate, statements))

        # The five steps of a /report dialogue, as the handlers call them, over many cadres in turn.
        cadres = 50
        serial = [3 * 10**9]

        def conv(i: int) -> conversations.ConvRef:
            user = USER0 + i % cadres
            return conversations.ConvRef(key=conversations.key_text((user, user)), chat_id=user, user_id=user)

        def uid() -> int:
            serial[0] += 1
            return serial[0]

        async def step_begin(i: int) -> None:
            await report.begin(f"BT{i % cadres:04d}", conv=conv(i), update_id=uid(), uow=write_uow(), clock=clock)

        async def step_value(i: int) -> None:
            await report.give_value(str(1000 + i), conv=conv(i), update_id=uid(), uow=write_uow(), clock=clock)

        async def step_skip(i: int) -> None:
            await report.give_text(None, conv=conv(i), update_id=uid(), uow=write_uow(), clock=clock)

        async def step_done(i: int) -> None:
            await report.to_summary(conv=conv(i), update_id=uid(), uow=write_uow(), clock=clock)

        async def step_confirm(i: int) -> None:
            snap = await report.resume(conv=conv(i), uow=read_uow(), clock=clock)
            assert snap is not None
            await report.confirm(snap.serial, conv=conv(i), update_id=uid(), uow=write_uow(), clock=clock)

        # Each step is measured over ``reps`` dialogues (each cadre in turn, one step at a time, so that every
        # call finds its draft at the step it takes); the confirm's own resume is measured apart and taken off.
        reps = max(cadres, n // 10 // cadres * cadres)
        steps = [("step: /report CODE", step_begin), ("step: a value", step_value), ("step: /skip", step_skip),
                 ("step: /done", step_done), ("step: Confirm (less its resume)", step_confirm)]
        totals = {label: [0.0, 0] for label, _ in steps}
        for base in range(0, reps, cadres):
            for label, op in steps:
                s0, t0 = statements[0], time.process_time()
                for i in range(base, base + cadres):
                    await op(i)
                totals[label][0] += time.process_time() - t0
                totals[label][1] += statements[0] - s0

        async def resume_only(i: int) -> None:
            await report.resume(conv=conv(i), uow=read_uow(), clock=clock)
        resumed = await cpu_per("resume", cadres * 2, resume_only, statements)
        for label, _ in steps:
            cpu, count = totals[label]
            per_cpu, per_count = cpu / reps * 1e6, count / reps
            if label.startswith("step: Confirm"):
                per_cpu, per_count = per_cpu - resumed[1], per_count - resumed[2]
            rows.append((label, per_cpu, per_count))
    finally:
        await db.dispose()
    return rows


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="duban-bench-floor-") as tmp:
        url, drop = await fresh_database(args.database_url, Path(tmp))
        try:
            await seed(url, 50)
            print(f"{'SQLite' if url.startswith('sqlite') else 'PostgreSQL'}, {args.n} repetitions, "
                  f"load average {os.getloadavg()[0]:.2f}", flush=True)
            rows = await measure(url, args.n)
        finally:
            if drop is not None:
                await drop()
    print(f"\n{'operation':<42}{'CPU µs':>10}{'statements':>12}")
    for label, cpu, count in rows:
        print(f"{label:<42}{cpu:>10.0f}{'' if count != count else f'{count:.1f}':>12}")
    steps = [cpu for label, cpu, _ in rows if label.startswith("step:")]
    gate = next(cpu for label, cpu, _ in rows if label.startswith("the gate"))
    if steps:
        print(f"\na dialogue update, gate + step, on average: {(gate + sum(steps) / len(steps)) / 1000:.1f} ms of CPU "
              f"(without PTB, HTTP, rendering)")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench.floor", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--database-url", help="a PostgreSQL server to create a scratch database on (default: SQLite)")
    p.add_argument("-n", type=int, default=2000, help="repetitions of each operation (default 2000)")
    return p.parse_args(argv)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parse_args()))
    sys.exit(0)
