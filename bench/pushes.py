"""Benchmark (not a test): what one scheduler tick pushes on a realistic county plan, mid-year with nothing reported.

    .venv/bin/python -m bench.pushes [--townships 10] [--villages 5] [--at 2027-07-01T09:00]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

The plan is tests/support/plan_factory.py's county (10 townships of 5 villages, 15 departments, 6 enterprises:
82 units), imported as the office would; everyone joins. One dry-run tick at ``--at`` (a Thursday, no report
ever made) is timed, and its pushes counted by person: how many pushes each person gets (the rule: one), how
many alerts a push carries, and how long the pushes are (the rule: at most 600 characters). A database URL runs
on a fresh PostgreSQL database; default SQLite in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also runnable as ``python bench/pushes.py``
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import col, func, select  # noqa: E402

from models.db import Database, make_engine  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.people import Person  # noqa: E402
from models.plan import Assignment, Target, Unit  # noqa: E402
from services.alerts import tick  # noqa: E402
from services.core.clock import FixedClock  # noqa: E402
from services.plan.importer import import_plan  # noqa: E402
from tests.support.plan_factory import build_county_plan, write_plan_xlsx  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")


async def _fresh_postgres(url: str) -> tuple[str, str]:
    base = make_url(url)
    name = f"duban_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(user=base.username, password=base.password, host=base.host, port=base.port or 5432,
                                 database=base.database or "postgres")
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return base.set(database=name).render_as_string(hide_password=False), name


async def measure(url: str, args: argparse.Namespace, folder: Path) -> None:
    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    db = Database(url)
    at = datetime.fromisoformat(args.at).replace(tzinfo=TZ)
    clock = FixedClock(at, TZ)
    plan = build_county_plan(seed=1, townships=args.townships, villages=args.villages)
    report = await import_plan(write_plan_xlsx(folder / "plan.xlsx", plan), db_uow=db.uow(), clock=clock,
                               actor="bench")
    assert not report.problems, report.problems[:3]
    async with db.uow() as uow:
        s = uow.session
        for n, person in enumerate((await s.exec(select(Person))).all()):
            person.telegram_user_id = 900_000 + n
            s.add(person)
        await uow.commit()
        units = (await s.exec(select(func.count()).select_from(Unit))).one()
        targets = (await s.exec(select(func.count()).select_from(Target))).one()
        assignments = (await s.exec(select(func.count()).select_from(Assignment))).one()
        people = (await s.exec(select(func.count()).select_from(Person).where(
            col(Person.telegram_user_id).is_not(None)))).one()
    started = time.perf_counter()
    result = await tick.tick(at, uow=db.uow(), dry_run=True)
    took = time.perf_counter() - started
    await db.dispose()
    per_person = Counter(p.person for p in result.pushes)
    carried = sorted(p.alerts for p in result.pushes)
    lengths = sorted(len(p.text) for p in result.pushes)
    print(f"plan: {units} units, {targets} targets, {assignments} assignments, {people} people joined")
    print(f"tick at {at.isoformat()} (dry run): {took:.2f} s, {result.alerts_created} alerts, "
          f"{len(result.messages)} alert deliveries")
    print(f"pushes: {len(result.pushes)} to {len(per_person)} people; most pushes to one person: "
          f"{max(per_person.values()) if per_person else 0}")
    if carried:
        print(f"alerts per push: median {statistics.median(carried):.0f}, max {carried[-1]}")
        print(f"push length (characters): median {statistics.median(lengths):.0f}, max {lengths[-1]}, "
              f"over 600: {sum(n > 600 for n in lengths)}")
        biggest = max(result.pushes, key=lambda p: p.alerts)
        print(f"the push with most alerts ({biggest.alerts}, {len(biggest.text)} characters), as sent:")
        print("    " + biggest.text.replace("\n", "\n    "))
        print("    buttons: " + " | ".join(b["text"] for row in biggest.markup["inline_keyboard"] for b in row))


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if args.database_url:
            url, name = await _fresh_postgres(args.database_url)
            print(f"PostgreSQL ({name})")
        else:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            print("SQLite")
        await measure(url, args, Path(tmp))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--townships", type=int, default=10)
    p.add_argument("--villages", type=int, default=5)
    p.add_argument("--at", default="2027-07-01T09:00")
    p.add_argument("--database-url", default=None)
    return p.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
