"""Benchmark (not a test): the scheduler's tick on a county of 1,000 units, and how long it holds the event loop.

    .venv/bin/python -m bench.tick                  # SQLite, then PostgreSQL if DUBAN_TEST_POSTGRES_URL is set
    .venv/bin/python -m bench.tick --sqlite-only --units 300

The county is bench/dashboard.py's (30 townships, 670 villages, 100 departments, 200 enterprises; 200 targets;
20 assignments per unit with 3 reports each), plus one joined cadre per unit, 30 leaders linked to 40 units
and 5 targets each, the office (one admin) and 200 supervision items of two parts each (a fifth flagged, a
third not signed for in time). Ticks, each through bot/app/jobs.py's ``run_scheduled`` as the bot runs it (its
memory of the last tick kept between runs, when the code has one), on a working day at 10:00 and later:

* ``first``: the day's first tick on a county never ticked (every alert raised, every push queued);
* ``again``: a minute later, nothing changed (everything evaluated again, nothing new);
* ``idle``: a minute later again (nothing due, nothing changed: the goal is under 200 ms);
* ``report``: one report came in meanwhile;
* ``next day``: the next working day's first tick (pace, deadlines and reminders move on).

Each tick's wall time, and the event loop's longest stall meanwhile (a 10 ms ticker on the loop, as
bench/dashboard.py measures it; goal: under 100 ms) and the most CPU time the loop's thread spent between two
turns of the ticker (about the stall on an idle machine: under load the thread also waits for a core and the GIL).
``--where`` prints where the loop's thread was while held (sampled every 5 ms by a watching thread). Also the
rows the ticks queued, to compare versions.
On PostgreSQL a scratch database ``duban_bench_tick_<pid>_<hex>`` is created and dropped. Always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import inspect
import os
import random
import sys
import tempfile
import threading
import time
import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, update  # noqa: E402
from sqlmodel import select  # noqa: E402

from bench.dashboard import seed as seed_county  # noqa: E402
from bench.report_flow import fresh_database  # noqa: E402
from bot.app import jobs  # noqa: E402
from config.settings import Settings  # noqa: E402
from models.alerts import Alert, AlertDelivery  # noqa: E402
from models.core import OutboxMessage  # noqa: E402
from models.db import Database, make_engine  # noqa: E402
from models.items import ItemPart, SupervisionItem  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.people import Person, RoleMembership  # noqa: E402
from models.plan import LeaderLink  # noqa: E402
from models.progress import ProgressReport  # noqa: E402
from services.core.clock import FixedClock  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
DAY = datetime(2027, 6, 21, 10, tzinfo=TZ)  # a Monday (the weekly digest is due too, as in the bot)
NEXT = datetime(2027, 6, 22, 10, tzinfo=TZ)


async def seed(db: Database, units: int) -> dict[str, int]:
    counts = await seed_county(db, units, 20, 3)
    rnd = random.Random(19)
    created = datetime(2027, 1, 1, tzinfo=UTC)
    async with db.uow() as uow:
        s = uow.session
        await s.execute(update(Person.__table__).where(Person.__table__.c.id == 1).values(telegram_user_id=500_000))
        cadres = [{"id": 1 + u, "code": f"C{u:05d}", "name": f"干部{u}", "unit_id": u, "active": True,
                   "telegram_user_id": 600_000 + u, "created_at": created} for u in range(1, units + 1)]
        leaders = [{"id": 10_000 + k, "code": f"L{k:03d}", "name": f"领导{k}", "active": True,
                    "telegram_user_id": 700_000 + k, "created_at": created} for k in range(1, 31)]
        await s.execute(insert(Person.__table__), cadres)
        await s.execute(insert(Person.__table__), leaders)
        await s.execute(insert(RoleMembership.__table__), [
            {"person_id": 1 + u, "role": "cadre", "unit_id": u, "scope": "", "created_at": created}
            for u in range(1, units + 1)])
        await s.execute(insert(RoleMembership.__table__), [
            {"person_id": 10_000 + k, "role": "leader", "scope": "", "created_at": created} for k in range(1, 31)])
        links = set()
        for k in range(1, 31):
            links |= {(10_000 + k, "unit", None, u) for u in rnd.sample(range(1, units + 1), min(40, units))}
            links |= {(10_000 + k, "target", t, None) for t in rnd.sample(range(1, 201), 5)}
        await s.execute(insert(LeaderLink.__table__), [
            {"leader_person_id": p, "kind": kind, "target_id": t, "unit_id": u} for p, kind, t, u in sorted(
                links, key=str)])
        items, parts = [], []
        for i in range(1, 201):
            deadline = DAY.date() + timedelta(days=rnd.randint(-20, 30))
            items.append({"id": i, "source": "instruction", "task": f"督办事项{i}：" + "整改落实" * 5,
                          "deadline": deadline,
                          "flagged": i % 5 == 0, "opened_by_person_id": 1, "created_at": created, "state": "open"})
            for unit in rnd.sample(range(1, units + 1), 2):
                late = i % 3 == 0
                parts.append({"item_id": i, "unit_id": unit, "state": "assigned" if late or i % 2 else "signed",
                              "assigned_at": created, "sign_due_at": DAY - timedelta(days=2 if late else -3),
                              "reports": 0, "returns": 0})
        await s.execute(insert(SupervisionItem.__table__), items)
        await s.execute(insert(ItemPart.__table__), parts)
        await uow.commit()
    counts |= {"cadres": units, "leaders": 30, "leader_links": len(links), "supervision_items": 200,
               "supervision_parts": len(parts)}
    return counts


WHERE: collections.Counter[str] = collections.Counter()
cpu = [0.0]  # the longest the loop's thread computed between two turns of the ticker (load-independent)


LONGEST: list = [0.0, collections.Counter()]  # the longest stall seen with --where, and where it was


def _watch(beat: list[float], done: threading.Event, main: int) -> None:
    """``--where``: while the loop has not ticked for 50 ms, note where its thread is (our code's frames)."""
    episode: collections.Counter[str] = collections.Counter()
    began = None
    while not done.wait(0.005):
        if began is not None and beat[0] > began:  # the loop turned: the stall is over
            if beat[0] - began > LONGEST[0]:
                LONGEST[:] = [beat[0] - began, episode]
            episode, began = collections.Counter(), None
        if time.perf_counter() - beat[0] > 0.05:
            began = beat[0] if began is None else began
            frame = sys._current_frames().get(main)
            stack, inner = [], []
            while frame is not None:
                name = frame.f_code.co_filename
                where = f"{Path(name).name}:{frame.f_lineno} {frame.f_code.co_name}"
                if "/services/" in name or "/bot/" in name or "/models/" in name:
                    stack.append(where)
                elif len(inner) < 3:
                    inner.append(where)
                frame = frame.f_back
            WHERE[" < ".join(stack[:4] or inner)] += 5
            episode[" < ".join(stack[:4] or inner)] += 5


async def _stall(work, where: bool = False):  # type: ignore[no-untyped-def]
    """``work``'s result, and the longest the event loop was kept from a 10 ms ticker meanwhile."""
    worst = 0.0
    done = False
    beat = [time.perf_counter()]
    cpu[0] = 0.0

    async def ticker() -> None:
        nonlocal worst
        while not done:
            t0, c0 = time.perf_counter(), time.thread_time()
            await asyncio.sleep(0.01)
            beat[0] = time.perf_counter()
            worst = max(worst, beat[0] - t0 - 0.01)
            cpu[0] = max(cpu[0], time.thread_time() - c0)  # what the loop's thread itself did meanwhile

    running = asyncio.ensure_future(ticker())
    stop = threading.Event()
    if where:
        threading.Thread(target=_watch, args=(beat, stop, threading.get_ident()), daemon=True).start()
    await asyncio.sleep(0.02)
    try:
        result = await work
    finally:
        done = True
        stop.set()
        await running
    return result, worst


async def _queued(db: Database) -> tuple[int, int, int]:
    async with db.read_uow() as uow:
        s = uow.session
        return ((await s.exec(select(func.count()).select_from(Alert))).one(),
                (await s.exec(select(func.count()).select_from(AlertDelivery))).one(),
                (await s.exec(select(func.count()).select_from(OutboxMessage))).one())


async def measure(url: str, kind: str, args: argparse.Namespace, folder: Path) -> None:
    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    db = Database(url)
    settings = Settings(_env_file=None, token="123456:benchmark-token-abcdefgh",  # type: ignore[call-arg]
                        database_url=url, evidence_dir=folder / "evidence")
    keeps = "memory" in inspect.signature(jobs.run_scheduled).parameters  # this version remembers its last tick
    memory = __import__("services.alerts.idle", fromlist=["Memory"]).Memory() if keeps else None
    try:
        t0 = time.perf_counter()
        counts = await seed(db, args.units)
        print(f"\n== {kind}: seeded {counts} in {time.perf_counter() - t0:.1f} s")
        steps = [("first", DAY), ("again", DAY + timedelta(minutes=1)), ("idle", DAY + timedelta(minutes=2)),
                 ("idle", DAY + timedelta(minutes=3)), ("report", DAY + timedelta(minutes=4)),
                 ("again", DAY + timedelta(minutes=5)), ("idle", DAY + timedelta(minutes=6)),
                 ("next day", NEXT), ("again", NEXT + timedelta(minutes=1)), ("idle", NEXT + timedelta(minutes=2))]
        before = await _queued(db)
        for label, at in steps:
            if label == "report":
                async with db.uow() as uow:
                    top = (await uow.session.exec(select(func.max(ProgressReport.id)))).one()  # ids were given
                    await uow.session.execute(insert(ProgressReport.__table__), [{
                        "id": top + 1, "assignment_id": 7, "reporter_person_id": 1 + 1, "value": Decimal(10 ** 6),
                        "note": "",
                        "confirmed_at": at - timedelta(seconds=30)}])
                    await uow.commit()
            clock = FixedClock(at, TZ)
            extra = {"memory": memory} if keeps else {}
            t0 = time.perf_counter()
            work, stall = await _stall(jobs.run_scheduled(at, db=db, settings=settings, clock=clock, **extra),
                                       args.where)
            took = time.perf_counter() - t0
            t1 = time.perf_counter()
            from services.alerts import tick as alert_tick
            tick_only = SimpleNamespace(took=None)
            if args.tick_only:  # the alerts' tick alone, once more (an idle one after the run above)
                _, stall2 = await _stall(alert_tick.tick(at, uow=db.uow(), rules=jobs.rules(settings)))
                tick_only.took = (time.perf_counter() - t1, stall2)
            after = await _queued(db)
            r = work.result
            print(f"{label:9} {at:%m-%d %H:%M}  {took * 1000:8.1f} ms   longest stall {stall * 1000:7.1f} ms "
                  f"(CPU {cpu[0] * 1000:6.1f} ms)   "
                  f"alerts +{r.alerts_created} escalated {r.escalated} resolved {r.resolved} "
                  f"pushes {r.outbox_rows}   rows: alerts +{after[0] - before[0]} told +{after[1] - before[1]} "
                  f"outbox +{after[2] - before[2]}"
                  + (f"   | tick alone {tick_only.took[0] * 1000:.1f} ms, stall {tick_only.took[1] * 1000:.1f} ms"
                     if tick_only.took else ""))
            before = after
        if args.where:
            print("where the loop was held (ms over 50 ms, by the innermost frames of our code):")
            for stack, ms in WHERE.most_common(25):
                print(f"  {ms:6d}  {stack}")
            WHERE.clear()
            print(f"the longest stall seen ({LONGEST[0] * 1000:.0f} ms) was in:")
            for stack, ms in LONGEST[1].most_common(12):
                print(f"  {ms:6d}  {stack}")
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    parser.add_argument("--where", action="store_true", help="print where the loop was held (a watching thread)")
    parser.add_argument("--tick-only", action="store_true", help="also time services.alerts.tick alone after each")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # SQLModel's advice on execute() for inserts
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.postgres_only:
            await measure(f"sqlite+aiosqlite:///{tmp}/bench.db", "sqlite", args, Path(tmp))
        pg = os.environ.get("DUBAN_TEST_POSTGRES_URL", "").strip()
        if pg and not args.sqlite_only:
            url, drop = await fresh_database(pg, Path(tmp))  # a scratch database, dropped after
            try:
                await measure(url, "postgresql", args, Path(tmp))
            finally:
                await drop()
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
