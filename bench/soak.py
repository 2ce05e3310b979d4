"""Benchmark (not a test): the bot's memory over a simulated day of traffic on a county of 5,000 people and
20,000 assignments. Run ``.venv/bin/python -m bench.soak --help`` from the project root.

A fresh database (SQLite, or a scratch PostgreSQL database created and dropped), migrated and seeded; the real
bot (``build_application``) in a child process (bench/soak_bot.py) polling the fake Bot API on loopback, on a
movable clock (``bot.sandbox.clock.MovableClock``). Each hour-equivalent: the clock jumps one hour, the
scheduler's tick runs (``bot.app.jobs.tick_job``, as the repeating job does), then ``--seconds-per-hour`` of
traffic at ``--rate`` updates a second (/report dialogues by ever new cadres, /mytargets with a page turned,
/history, /score, /alerts and /portfolio by leaders, /inspect with a site photo, strangers writing), then the
outbox is settled and the child's RSS and garbage collector are read. Goal (issue #19): RSS under 200 MB at the
end, no growth from the second to the last hour-equivalent. Always exits 0. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.report_flow import fresh_database, percentile  # noqa: E402
from bench.soak_bot import child_bot, rss_mb  # noqa: E402
from bot.sandbox.botapi.server import FakeBotAPI, FakeUser, SentMessage  # noqa: E402
from bot.sandbox.clock import MovableClock  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2027, 6, 14, 7, tzinfo=TZ)  # a Monday, 07:00: the first tick is quiet, 08:00 brings the day's
USER0, STRANGER0 = 800_000, 9_000_000  # Telegram ids: person id + USER0; strangers from STRANGER0
UNITS, PER_UNIT, TARGETS = 1000, 20, 200
ADMINS, LEADERS, INSPECTORS, PEOPLE = 10, 150, 40, 5000
BEHIND = range(101, 111)  # units whose reports are far behind pace (red alerts, leaders told)
SILENT = range(111, 121)  # units whose last report is 9 days old (missing-report nudges)
CATEGORIES = ["industry", "project_acquisition", "project_delivery", "investment", "other"]
MIX = (("report", 35), ("mytargets", 20), ("history", 10), ("score", 5), ("leader", 10), ("inspect", 5),
       ("stranger", 15))
WAIT = 60.0


# --- the database ---------------------------------------------------------------------------------------

def planned(aid: int) -> int:
    return 1000 + (aid * 37) % 4000


def target_of(unit: int, k: int) -> int:
    return (unit * 7 + k * 11) % TARGETS + 1  # 11 is invertible mod 200: a unit's 20 targets differ


def unit_of_cadre(pid: int) -> int:
    return (pid - ADMINS - LEADERS - INSPECTORS - 1) % UNITS + 1


async def seed(db_url: str) -> dict[str, int]:
    """1,000 units (30 townships, 670 villages, 100 departments, 200 enterprises), 200 targets, 20 assignments
    a unit with one report each (on pace but for BEHIND, last week but for SILENT), 5,000 people joined:
    10 admins, 150 leaders with four links each, 40 inspectors (every unit), 4,800 cadres (4–5 a unit)."""
    from sqlalchemy import insert, text

    from models.db import Database
    from models.migrate import upgrade
    from models.people import Person, RoleMembership
    from models.plan import Assignment, LeaderLink, Target, Unit
    from models.progress import ProgressReport

    db = Database(db_url)
    await upgrade(db.engine)
    rnd, created, counts = random.Random(19), datetime(2027, 1, 1, tzinfo=UTC), {}

    async def bulk(table: Any, rows: list[dict]) -> None:
        async with db.uow() as uow:
            for at in range(0, len(rows), 2_000):
                await uow.session.execute(insert(table.__table__), rows[at:at + 2_000])
            await uow.commit()
        counts[table.__tablename__] = len(rows)

    kinds = ["township"] * 30 + ["village"] * 670 + ["department"] * 100 + ["enterprise"] * 200
    await bulk(Unit, [{"id": u, "code": f"U{u:04d}", "name": f"{kind}{u}", "kind": kind, "unit_class": kind,
                       "parent_id": (u % 30) + 1 if kind == "village" else None, "active": True, "created_at": created,
                       "latitude": 30 + rnd.random(), "longitude": 104 + rnd.random()}
                      for u, kind in enumerate(kinds, 1)])
    await bulk(Target, [{"id": t, "code": f"T{t:03d}", "year": 2027, "title": f"目标{t}", "category": CATEGORIES[t % 5],
                         "measure": "万元", "direction": "higher", "mode": "continuous", "deadline": date(2027, 12, 31),
                         "report_interval_days": 7, "description": "", "closed": False} for t in range(1, TARGETS + 1)])
    people, roles = [], []
    for pid in range(1, PEOPLE + 1):
        role = ("admin" if pid <= ADMINS else "leader" if pid <= ADMINS + LEADERS
                else "inspector" if pid <= ADMINS + LEADERS + INSPECTORS else "cadre")
        unit = unit_of_cadre(pid) if role == "cadre" else None
        people.append({"id": pid, "code": f"P{pid:05d}", "name": f"{role}{pid}", "unit_id": unit,
                       "telegram_user_id": USER0 + pid, "language": "en" if pid % 10 == 0 else "zh", "active": True,
                       "created_at": created, "joined_at": created})
        roles.append({"person_id": pid, "role": role, "unit_id": unit, "scope": "", "created_at": created})
    await bulk(Person, people)
    await bulk(RoleMembership, roles)
    links = []
    for n, pid in enumerate(range(ADMINS + 1, ADMINS + LEADERS + 1)):
        links += [{"leader_person_id": pid, "kind": "enterprise", "target_id": None, "unit_id": 801 + n % 200},
                  {"leader_person_id": pid, "kind": "lagging_village", "target_id": None, "unit_id": 101 + n % 100},
                  {"leader_person_id": pid, "kind": "key_project", "target_id": n % TARGETS + 1, "unit_id": None},
                  {"leader_person_id": pid, "kind": "investment_project", "target_id": 4 + 5 * (n % 40),
                   "unit_id": None}]
    await bulk(LeaderLink, links)
    assignments, reports, aid = [], [], 0
    for u in range(1, UNITS + 1):
        cadre = ADMINS + LEADERS + INSPECTORS + u
        for k in range(PER_UNIT):
            aid += 1
            assignments.append({"id": aid, "target_id": target_of(u, k), "unit_id": u,
                                "planned_value": Decimal(planned(aid)), "baseline_value": Decimal(0),
                                "weight": Decimal(1)})
            share = Decimal("0.1") if u in BEHIND else Decimal("0.55")  # expected mid-June: about 0.45
            when = START - timedelta(days=9 if u in SILENT else 2)
            reports.append({"id": aid, "assignment_id": aid, "reporter_person_id": cadre,
                            "value": (planned(aid) * share).quantize(Decimal(1)), "note": "", "confirmed_at": when})
    await bulk(Assignment, assignments)
    await bulk(ProgressReport, reports)
    if db_url.startswith("postgresql"):  # the ids were given: the sequences must go on after them
        async with db.uow() as uow:
            for table in counts:
                await uow.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                               f"(SELECT max(id) FROM {table}))"))
            await uow.commit()
    await db.dispose()
    return counts


# --- the fake: every chat's messages in order, memory trimmed between hours -------------------------------

class SoakFake(FakeBotAPI):
    def __init__(self) -> None:
        super().__init__()
        self.box: dict[int, list[SentMessage]] = {}
        self.bell: dict[int, asyncio.Event] = {}
        self.sent_count = 0

    def _emit(self, event: str, subject: Any) -> None:
        super()._emit(event, subject)
        if event in ("sent", "edited"):  # an edit answers a button press as a message does
            self.sent_count += 1
            self.box.setdefault(subject.chat_id, []).append(subject)
            if subject.chat_id in self.bell:
                self.bell[subject.chat_id].set()

    async def next(self, user: FakeUser, mark: int, want: str | None) -> tuple[SentMessage, int]:
        """The first message to ``user`` at or after index ``mark`` (with a button whose data starts with
        ``want``); returns it and the next mark. Pushes that come between are skipped."""
        bell = self.bell.setdefault(user.id, asyncio.Event())
        deadline = time.monotonic() + WAIT
        while True:
            bell.clear()
            box = self.box.get(user.id, [])
            for i in range(mark, len(box)):
                if want is None or any((d or "").startswith(want) for _, d in box[i].buttons()):
                    return box[i], i + 1
            mark = len(box)
            await asyncio.wait_for(bell.wait(), max(0.01, deadline - time.monotonic()))

    def trim(self) -> None:
        """Forget what the hour recorded (nothing runs between hours)."""
        for name in ("sent", "requests", "updates", "errors", "chat_actions"):
            getattr(self, name).clear()
        for name in ("messages", "user_messages", "callback_queries", "callback_answers", "delivery_counts",
                     "box", "bell"):
            getattr(self, name).clear()


# --- the traffic ----------------------------------------------------------------------------------------

class Traffic:
    def __init__(self, fake: SoakFake, clock: MovableClock) -> None:
        self.fake, self.clock = fake, clock
        rnd = self.rnd = random.Random(23)
        self.cadres = list(range(ADMINS + LEADERS + INSPECTORS + 1, PEOPLE + 1))
        rnd.shuffle(self.cadres)
        self.values: dict[tuple[int, int], int] = {}  # (unit, k) -> last value reported in the soak
        self.next_cadre = self.strangers = self.sessions = self.failed = self.updates = 0
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def cadre(self) -> tuple[FakeUser, int]:
        pid = self.cadres[self.next_cadre % len(self.cadres)]
        self.next_cadre += 1
        return self.fake.user(USER0 + pid, f"cadre{pid}"), unit_of_cadre(pid)

    async def ask(self, user: FakeUser, act: Any, want: str | None = None) -> SentMessage:
        mark = len(self.fake.box.get(user.id, []))
        began = time.perf_counter()
        await act
        self.updates += 1
        msg, _ = await self.fake.next(user, mark, want)
        self.latencies.append(time.perf_counter() - began)
        return msg

    async def report(self) -> None:
        user, unit = self.cadre()
        k = self.rnd.randrange(PER_UNIT)
        aid = (unit - 1) * PER_UNIT + k + 1
        share = Decimal("0.1") if unit in BEHIND else Decimal("0.55")
        value = self.values[unit, k] = self.values.get((unit, k), int(planned(aid) * share)) + 1
        await self.ask(user, user.send_text(f"/report T{target_of(unit, k):03d}"))
        await self.ask(user, user.send_text(str(value)))
        await self.ask(user, user.send_text("/skip"))
        summary = await self.ask(user, user.send_text("/done"), "rep:ok:")
        await self.ask(user, user.press(summary, next(d for _, d in summary.buttons() if d.startswith("rep:ok:"))))

    async def mytargets(self) -> None:
        user, _ = self.cadre()
        page = await self.ask(user, user.send_text("/mytargets"))
        turn = [d for t, d in page.buttons() if d and ("▶" in (t or "") or "›" in (t or ""))]
        if turn:
            await self.ask(user, user.press(page, turn[0]))

    async def history(self) -> None:
        user, unit = self.cadre()
        await self.ask(user, user.send_text(f"/history T{target_of(unit, self.rnd.randrange(PER_UNIT)):03d}"))

    async def score(self) -> None:
        user, _ = self.cadre()
        await self.ask(user, user.send_text("/score"))

    async def leader(self) -> None:
        pid = self.rnd.randrange(ADMINS + 1, ADMINS + LEADERS + 1)
        user = self.fake.user(USER0 + pid, f"leader{pid}")
        await self.ask(user, user.send_text("/alerts" if self.rnd.random() < 0.5 else "/portfolio"))

    async def inspect(self) -> None:
        from bot.sandbox.photos import site_photo

        pid = self.rnd.randrange(ADMINS + LEADERS + 1, ADMINS + LEADERS + INSPECTORS + 1)
        user, unit = self.fake.user(USER0 + pid, f"inspector{pid}"), self.rnd.randrange(1, UNITS + 1)
        targets = await self.ask(user, user.send_text(f"/inspect U{unit:04d}"), "ins:t:")
        await self.ask(user, user.press(targets, next(d for _, d in targets.buttons() if d.startswith("ins:t:"))))
        await self.ask(user, user.send_location(30.5, 104.5, horizontal_accuracy=8.0))
        photo = site_photo(self.sessions, taken=self.clock.now() - timedelta(minutes=5), gps=(30.5, 104.5))
        await self.ask(user, user.send_document(photo, "IMG_0001.jpg", "image/jpeg"), "ins:done")
        await self.ask(user, user.send_text("/done"))
        await self.ask(user, user.send_text("现场施工正常。"), "ins:skip")
        rating = await self.ask(user, user.send_text("100"), "ins:r:")
        summary = await self.ask(user, user.press(rating, "ins:r:good"), "ins:ok:")
        await self.ask(user, user.press(summary, next(d for _, d in summary.buttons() if d.startswith("ins:ok:"))))

    async def stranger(self) -> None:
        self.strangers += 1
        user = self.fake.user(STRANGER0 + self.strangers, f"路人{self.strangers}")
        await user.send_text("你好" if self.strangers % 2 else "/start")  # answered at most once in 300 s: no wait
        self.updates += 1

    async def session(self, kind: str) -> None:
        self.sessions += 1
        try:
            await getattr(self, kind)()
        except (TimeoutError, StopIteration, AssertionError) as exc:
            self.failed += 1
            self.errors.append(f"{kind}: {type(exc).__name__} {str(exc)[:120]}")

    async def hour(self, rate: float, seconds: float) -> None:
        """Sessions of the mix for ``seconds``, started so that about ``rate`` updates a second go out."""
        cost = {"report": 5, "mytargets": 2, "history": 1, "score": 1, "leader": 1, "inspect": 9, "stranger": 1}
        kinds, weights = zip(*MIX, strict=True)
        running, budget, began = [], 0.0, time.perf_counter()
        last = began
        while (now := time.perf_counter()) < began + seconds:
            budget += (now - last) * rate
            last = now
            while budget >= 1:
                kind = self.rnd.choices(kinds, weights)[0]
                budget -= cost[kind]
                running.append(asyncio.ensure_future(self.session(kind)))
            await asyncio.sleep(0.05)
        await asyncio.gather(*running)


# --- the parent: the database, the fake, the child, the hours ---------------------------------------------

async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="duban-soak-") as tmp:
        db_url, drop = await fresh_database(args.database_url, Path(tmp))
        kind = "SQLite" if db_url.startswith("sqlite") else "PostgreSQL"
        try:
            began = time.perf_counter()
            counts = await seed(db_url)
            print(f"{kind}: seeded {counts} in {time.perf_counter() - began:.1f} s; {os.cpu_count()} CPUs, "
                  f"load average {os.getloadavg()[0]:.2f}; {args.hours} hour-equivalents of "
                  f"{args.seconds_per_hour:g} s at {args.rate:g} updates/s{', tracemalloc on' if args.trace else ''}"
                  f"{', gc.freeze() after start' if args.freeze else ''}{', no tick' if args.no_tick else ''}"
                  f"{', the tick in a process of its own' if args.tick_apart else ''}"
                  f"{', malloc_trim hourly' if args.trim else ''}{''.join(', ' + e for e in args.env)}", flush=True)
            clock = MovableClock.starting_at(START, TZ)
            async with SoakFake() as fake:
                fake.clock_now = clock.timestamp
                traffic = Traffic(fake, clock)
                rows = []
                async with child_bot(fake, db_url, Path(tmp) / "evidence", START.isoformat(), args) as child:
                    print(f"bot process {child.proc.pid}: {rss_mb(child.proc.pid):.1f} MB after start", flush=True)
                    print(HEADER, flush=True)
                    for h in range(args.hours):
                        at = START + timedelta(hours=h)
                        clock.jump(at)
                        tick = await child.call(op="tick", at=at.isoformat())
                        traffic.latencies = []
                        updates0, failed0, sent0 = traffic.updates, traffic.failed, fake.sent_count
                        await traffic.hour(args.rate, args.seconds_per_hour)
                        m = await child.call(op="measure", settle=60,
                                             snapshot=args.trace and h in (0, 1, args.hours - 1))
                        lat = traffic.latencies
                        row = {"hour": h + 1, "at": at, **tick, "updates": traffic.updates - updates0,
                               "failed": traffic.failed - failed0, "p50": percentile(lat, 0.5) * 1000,
                               "p99": percentile(lat, 0.99) * 1000, "sent": fake.sent_count - sent0, **m}
                        rows.append(row)
                        print(line(row), flush=True)
                        fake.trim()
                verdict(rows, traffic, args)
        finally:
            if drop is not None:
                await drop()


HEADER = (f"{'hour':>4} {'sim time':>9} {'tick s':>6} {'upd':>4} {'fail':>4} {'p50 ms':>6} {'p99 ms':>6} {'msgs':>5} "
          f"{'tick MB':>7} {'RSS MB':>7} {'peak MB':>7} {'live':>8} {'gc2':>4} {'gc2 max ms':>10}  sizes")


def line(r: dict) -> str:
    """One hour-equivalent: RSS after the tick, at the end of the hour and the peak so far (VmHWM)."""
    trimmed = f"  trimmed {r['rss_trimmed']:.1f}" if "rss_trimmed" in r else ""
    heap = f"  arenas {r['arenas_mb']:.0f} MB, in use {r['blocks_mb']:.0f}"
    traced = f"  python {r['py_mb']:.1f} MB (peak {r['py_peak_mb']:.1f})" if "py_mb" in r else ""
    sizes = json.dumps(r["sizes"])
    return (f"{r['hour']:>4} {r['at']:%a %H:%M} {r['tick_s']:>6.1f} {r['updates']:>4} {r['failed']:>4} "
            f"{r['p50']:>6.0f} {r['p99']:>6.0f} {r['sent']:>5} {r['rss_after_tick']:>7.1f} {r['rss']:>7.1f} "
            f"{r['hwm']:>7.1f} {r['live']:>8} {r['gc2']:>4} {r['pause_max_ms']['2']:>10.0f}  "
            f"{sizes}{heap}{trimmed}{traced}")


def verdict(rows: list[dict], traffic: Traffic, args: argparse.Namespace) -> None:
    if not rows:
        return
    last = rows[-1]
    print(f"\nsessions {traffic.sessions}, failed {traffic.failed}, strangers {traffic.strangers}, "
          f"cadres {min(traffic.next_cadre, PEOPLE)} different")
    for error in traffic.errors[:5]:
        print(f"  e.g. {error}")
    print(f"RSS at the end {last['rss']:.1f} MB (goal < 200 MB: {'met' if last['rss'] < 200 else 'NOT met'})")
    if len(rows) >= 3:
        second = rows[1]
        growth = last["rss"] - second["rss"]
        per_hour = growth / (len(rows) - 2)
        print(f"growth from hour 2 to hour {last['hour']}: {growth:+.1f} MB ({per_hour:+.2f} MB an hour-equivalent); "
              f"live objects {last['live'] - second['live']:+d}")
    print(f"load average at the end {os.getloadavg()[0]:.2f} (other work on the machine skews the numbers)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench.soak", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--hours", type=int, default=24, help="hour-equivalents to simulate (default 24)")
    p.add_argument("--rate", type=float, default=4.0, help="updates a second during the traffic (default 4)")
    p.add_argument("--seconds-per-hour", type=float, default=5.0,
                   help="seconds of traffic in each hour-equivalent (default 5; the tick and settling come on top)")
    p.add_argument("--database-url", help="a PostgreSQL server to create a scratch database on (default: SQLite)")
    p.add_argument("--trace", action="store_true",
                   help="tracemalloc in the bot: the biggest growths from hour 2 to the last (on stderr; slower)")
    p.add_argument("--freeze", action="store_true", help="what-if: gc.freeze() in the bot after start-up")
    p.add_argument("--trim", action="store_true",
                   help="what-if: after each hour's reading, gc.collect() and malloc_trim(0) in the bot (RSS after)")
    p.add_argument("--no-tick", action="store_true", help="what-if: no scheduler tick (the traffic alone)")
    p.add_argument("--tick-apart", action="store_true",
                   help="what-if: each tick in a process of its own (as `duban jobs tick` from cron would run it)")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   help="what-if: an environment variable of the bot process, e.g. PYTHONMALLOC=malloc (repeatable)")
    args = p.parse_args(argv)
    if args.hours < 1 or args.rate <= 0 or args.seconds_per_hour <= 0:
        p.error("hours, rate and seconds-per-hour must be positive")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # killed: the scratch database is dropped all the same
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(arguments))
    sys.exit(0)
