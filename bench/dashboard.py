"""Benchmark (not a test): the dashboard's board for a county of 1,000 units and 20,000 assignments.

Measures, for the office (who sees every unit):
* ``board, county read`` / ``kept``: services.dashboard.board.board plus json.dumps, in process, with the county's
  standings read afresh (in a worker thread, as served) or kept;
* the event loop's longest stall (a 10 ms ticker) with nothing to do (the machine's own noise), while the county is
  read on the loop itself, and while it is read in a worker thread as served (issue #19: under 100 ms);
* ``GET /api/v1/board``: the same through our real web server on loopback (aiohttp client, session cookie);
* ``first render``: Chromium (Debian's, through Playwright) opening a one-time login link until the board's
  cells are on screen (the redirect, the page, its scripts, /api/v1/me, /api/v1/board and the table).

    .venv/bin/python bench/dashboard.py                 # SQLite, then PostgreSQL if DUBAN_TEST_POSTGRES_URL is set
    .venv/bin/python bench/dashboard.py --sqlite-only --runs 7
    .venv/bin/python bench/dashboard.py --read-only --runs 5    # the county read and its stalls only

Goals (issue #17): board JSON under 300 ms, first render under 1 s; (issue #19) the county read under 1 s and
the loop's longest stall during it under 100 ms. On PostgreSQL a scratch database
``duban_bench_dash_<pid>_<hex>`` is created on the server named by DUBAN_TEST_POSTGRES_URL and dropped at
the end. Always exits 0; prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.report_flow import fresh_database  # noqa: E402
from bot.serve.web import WebServer  # noqa: E402
from config.settings import Settings  # noqa: E402
from models.db import Database, make_engine  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.people import Person, RoleMembership  # noqa: E402
from models.plan import Assignment, Target, Unit  # noqa: E402
from models.progress import ProgressReport  # noqa: E402
from services.core.clock import FixedClock  # noqa: E402
from services.dashboard import access, board  # noqa: E402
from services.dashboard.scope import view_of  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2027, 6, 20, 10, tzinfo=TZ)
CATEGORIES = ["industry", "project_acquisition", "project_delivery", "investment", "other"]


async def seed(db: Database, units: int, per_unit: int, reports: int) -> dict[str, int]:
    """30 townships with 670 villages under them, 100 departments, 200 enterprises (scaled to ``units``);
    200 targets; ``per_unit`` assignments per unit; ``reports`` reports per assignment; one admin."""
    rnd = random.Random(17)
    created = datetime(2027, 1, 1, tzinfo=UTC)
    counts: dict[str, int] = {}

    async def bulk(table, rows: list[dict]) -> None:  # type: ignore[no-untyped-def]
        async with db.uow() as uow:
            for start in range(0, len(rows), 5_000):
                await uow.session.execute(insert(table.__table__), rows[start:start + 5_000])
            await uow.commit()
        counts[table.__tablename__] = counts.get(table.__tablename__, 0) + len(rows)

    townships = max(1, units * 3 // 100)
    villages = units * 67 // 100
    departments = units // 10
    enterprises = units - townships - villages - departments
    rows, uid = [], 0
    for kind, n in (("township", townships), ("village", villages), ("department", departments),
                    ("enterprise", enterprises)):
        for _ in range(n):
            uid += 1
            parent = (uid % townships) + 1 if kind == "village" else None
            rows.append({"id": uid, "code": f"U{uid:05d}", "name": f"{kind}{uid}", "kind": kind, "unit_class": kind,
                         "parent_id": parent, "active": True, "created_at": created,
                         "latitude": 30 + rnd.random(), "longitude": 104 + rnd.random()})
    await bulk(Unit, rows)
    await bulk(Person, [{"id": 1, "code": "ADMIN", "name": "目标办", "active": True, "created_at": created}])
    await bulk(RoleMembership, [{"person_id": 1, "role": "admin", "scope": "", "created_at": created}])
    n_targets = 200
    await bulk(Target, [{"id": t, "code": f"T{t:04d}", "year": 2027, "title": f"目标{t}",
                         "category": CATEGORIES[t % 5], "measure": "万元", "direction": "higher",
                         "mode": "continuous", "deadline": date(2027, 12, 31), "report_interval_days": 7,
                         "description": "", "closed": False} for t in range(1, n_targets + 1)])
    assignments, aid = [], 0
    for u in range(1, units + 1):
        for k in range(per_unit):
            aid += 1
            assignments.append({"id": aid, "target_id": (u * 7 + k * 11) % n_targets + 1, "unit_id": u,
                                "planned_value": Decimal(rnd.randint(50, 500)), "baseline_value": Decimal(0),
                                "weight": Decimal(1)})
    await bulk(Assignment, assignments)
    report_rows, rid = [], 0
    for a in assignments:
        value = Decimal(0)
        for r in range(reports):
            rid += 1
            value += Decimal(rnd.randint(0, int(a["planned_value"]) // (reports + 1)))
            report_rows.append({"id": rid, "assignment_id": a["id"], "reporter_person_id": 1, "value": value,
                                "note": "", "confirmed_at": datetime(2027, 1, 15, tzinfo=UTC) + timedelta(days=30 * r)})
    await bulk(ProgressReport, report_rows)
    return counts


def _summary(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    return f"min {ms[0]:7.1f} ms   median {statistics.median(ms):7.1f} ms   max {ms[-1]:7.1f} ms"


async def measure(url: str, kind: str, args: argparse.Namespace, evidence: Path) -> None:
    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    db = Database(url)
    clock = FixedClock(NOW, TZ)
    try:
        t0 = time.perf_counter()
        counts = await seed(db, args.units, args.per_unit, args.reports)
        print(f"\n== {kind}: seeded {counts} in {time.perf_counter() - t0:.1f} s")
        if kind == "postgresql":  # what autovacuum does within a minute of the seeding: the plans of a live server
            conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(
                hide_password=False))
            await conn.execute("VACUUM ANALYZE")
            await conn.close()
        async with db.read_uow() as uow:
            admin = await uow.session.get(Person, 1)
            assert admin is not None
            view = await view_of(uow.session, admin)
        for label, cold in (("board, county read  ", True), ("board, county kept  ", False)):
            times, cpu = [], []
            for _ in range(args.runs):
                if cold:
                    async with db.read_uow() as uow:
                        board.forget(uow.session)
                t0, c0 = time.perf_counter(), time.process_time()
                data = await board.board(view, uow=db.read_uow(), clock=clock)
                body = json.dumps(data, ensure_ascii=False)
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            rows = sum(len(g["rows"]) for g in data["groups"])
            print(f"{label} {_summary(times)}   {rows} rows, {len(body) // 1024} KiB of JSON; this process's CPU "
                  f"(all threads) median {statistics.median(cpu) * 1000:.0f} ms")
        idle = await _stall(asyncio.sleep(2))
        print(f"nothing to do for 2 s          the event loop's longest stall {idle * 1000:7.1f} ms   (the machine)")
        for label, apart in (("on the event loop", False), ("in a worker thread", True)):  # (leaves it kept)
            stalls = []
            for _ in range(1 if not apart else args.runs):
                async with db.read_uow() as uow:
                    board.forget(uow.session)
                    if apart:
                        stalls.append(await _stall(board.county(uow.session, clock.now().date(), clock)))
                    else:
                        stalls.append(await _stall(board._read(uow.session, clock.now().date(), clock)))
            ms = sorted(x * 1000 for x in stalls)
            print(f"county read {label:18} the event loop's longest stall {ms[-1]:7.1f} ms"
                  + (f"   (of {len(ms)} reads; median {statistics.median(ms):.1f} ms)" if len(ms) > 1 else ""))
        if not args.read_only:
            await _served(db, clock, args, evidence)
    finally:
        await db.dispose()


async def _stall(work) -> float:  # type: ignore[no-untyped-def]
    """The longest the event loop was kept from a 10 ms ticker while ``work`` ran."""
    worst = 0.0
    done = False

    async def tick() -> None:
        nonlocal worst
        while not done:
            t0 = time.perf_counter()
            await asyncio.sleep(0.01)
            worst = max(worst, time.perf_counter() - t0 - 0.01)

    ticker = asyncio.ensure_future(tick())
    await asyncio.sleep(0)
    try:
        await work
    finally:
        done = True
        await ticker
    return worst


async def _served(db: Database, clock: FixedClock, args: argparse.Namespace, evidence: Path) -> None:
    from telegram.ext import ApplicationBuilder, ContextTypes  # a bare Application carries the Deps the routes read

    from handlers.context import Deps
    from services.core.storage import LocalStorage

    settings = Settings(_env_file=None, token="123456:benchmark-token-abcdefgh",  # type: ignore[call-arg]
                        database_url=db.url, public_url="http://127.0.0.1", evidence_dir=evidence)
    server = WebServer(settings, host="127.0.0.1", port=0, base_path="/", webhook=False)
    await server.start()
    app = (ApplicationBuilder().token(settings.require_token()).updater(None)
           .context_types(ContextTypes(bot_data=Deps)).build())
    deps: Deps = app.bot_data
    deps.settings, deps.db, deps.clock, deps.storage = settings, db, clock, LocalStorage(evidence)
    server.watch("default", app)
    root = f"http://127.0.0.1:{server.port}"
    try:
        token = await access.create_login("ADMIN", actor="bench", uow=db.uow(), clock=clock)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{root}/dashboard/login?t={token}", allow_redirects=False) as r:
                assert r.status == 303
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                async with http.get(f"{root}/api/v1/board") as r:
                    await r.read()
                    assert r.status == 200
                times.append(time.perf_counter() - t0)
        print(f"GET /api/v1/board    {_summary(times)}")
        await _render(root, db, clock, args)
    finally:
        server.unmount("default")
        await server.stop()


async def _render(root: str, db: Database, clock: FixedClock, args: argparse.Namespace) -> None:
    from playwright.async_api import async_playwright

    chromium = os.environ.get("DUBAN_TEST_CHROMIUM", "/usr/bin/chromium")
    if not os.access(chromium, os.X_OK):
        print(f"first render         skipped: no Chromium at {chromium} (apt-get install chromium)")
        return
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium)
        linked, signed = [], []
        try:
            for _ in range(args.runs):
                for times in (linked, signed):
                    context = await browser.new_context(viewport={"width": 1280, "height": 800})
                    page = await context.new_page()
                    token = await access.create_login("ADMIN", actor="bench", uow=db.uow(), clock=clock)
                    if times is signed:  # the session cookie is there already: only the page and its data
                        session = await access.redeem_login(token, hours=8, uow=db.uow(), clock=clock)
                        await context.add_cookies([{"name": "duban_session", "value": f"default.{session}",
                                                    "url": root}])
                        url = f"{root}/dashboard/"
                    else:
                        url = f"{root}/dashboard/login?t={token}"
                    t0 = time.perf_counter()
                    await page.goto(url)
                    await page.wait_for_selector("#grid td.cell")
                    times.append(time.perf_counter() - t0)
                    marks = await page.evaluate("""() => Object.fromEntries(performance.getEntriesByType("mark")
                        .map((m) => [m.name, Math.round(m.startTime)]))""")
                    if args.marks:
                        print(f"    page marks (ms since navigation): {marks}")
                    await context.close()
        finally:
            await browser.close()
    print(f"first render, signed {_summary(signed)}   (/dashboard/ → the board's cells on screen, empty cache)")
    print(f"first render, link   {_summary(linked)}   (the one-time link's redirect first)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--per-unit", type=int, default=20)
    parser.add_argument("--reports", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--read-only", action="store_true",
                        help="only the board in process and the county read's stalls (no web server, no browser)")
    parser.add_argument("--marks", action="store_true", help="print the page's performance marks of each render")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await measure(f"sqlite+aiosqlite:///{tmp}/bench.db", "sqlite", args, Path(tmp) / "evidence")
        pg = os.environ.get("DUBAN_TEST_POSTGRES_URL", "").strip()
        if pg and not args.sqlite_only:
            url, drop = await fresh_database(pg, Path(tmp))  # a scratch database, dropped after
            try:
                await measure(url, "postgresql", args, Path(tmp) / "evidence")
            finally:
                await drop()


if __name__ == "__main__":
    asyncio.run(main())
