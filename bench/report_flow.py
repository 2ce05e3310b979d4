"""Benchmark (not a test): N cadres doing whole /report dialogues against the fake Bot API, on a real
database, compared with a bare PTB echo bot served by the same fake in the same run.
Run ``.venv/bin/python -m bench.report_flow --help`` from the project root.

Each dialogue: ``/report <code>`` → a value → ``/skip`` → ``/done`` → press Confirm. Reply time is
from the update being queued in the fake to the bot's answering message being recorded there.
Saturation: every cadre runs dialogues back to back (closed loop) for --seconds. Open loop: updates
injected at --rate for rate × seconds updates, whatever the replies. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import signal
import sys
import tempfile
import time
import uuid
import warnings
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also runnable as ``python bench/report_flow.py``
    sys.path.insert(0, str(ROOT))

from bench.results import Result, percentile, report  # noqa: E402  (also used by bench/webhook.py)
from bot.sandbox.botapi.server import FakeBotAPI, FakeUser, SentMessage  # noqa: E402

USER0 = 700_000  # Telegram user id of cadre 0
VARIANTS = ("echo", "duban", "duban-unlimited")
STEPS = ("report", "value", "skip", "done", "confirm")


# --- the fake, with timestamps ----------------------------------------------------------------------

@dataclass
class Phase:
    samples: list[tuple[float, float]] = field(default_factory=list)  # (answered at, reply time)
    unmatched: int = 0  # messages that answered no update (pushes)
    errors: list[str] = field(default_factory=list)  # dialogues that went wrong


class TimedFake(FakeBotAPI):
    """Stamps every queued update and every message the bot sends. A chat's messages answer its
    updates in order: the bot replies once per step, and one chat's updates are handled in order."""

    def __init__(self) -> None:
        super().__init__()
        self.outstanding: dict[int, deque[tuple[float, asyncio.Future[SentMessage]]]] = {}
        self.answers: dict[int, asyncio.Future[SentMessage]] = {}  # update id -> its answer
        self.phase = Phase()

    async def _enqueue(self, kind: str, payload: dict) -> dict:
        chat = payload["chat"]["id"] if kind == "message" else payload["message"]["chat"]["id"]
        answer = asyncio.get_running_loop().create_future()
        self.outstanding.setdefault(chat, deque()).append((time.perf_counter(), answer))
        self.answers[self._next_update_id] = answer
        return await super()._enqueue(kind, payload)

    def _record(self, method: str, params: dict, msg: dict, text: str | None, file_id: str | None = None) -> dict:
        result = super()._record(method, params, msg, text, file_id)
        now, sent = time.perf_counter(), self.sent[-1]
        queue = self.outstanding.get(sent.chat_id)
        if not queue:
            self.phase.unmatched += 1
            return result
        queued, answer = queue.popleft()
        self.phase.samples.append((now, now - queued))
        if not answer.done():
            answer.set_result(sent)
        return result


# --- the bots ---------------------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def running_bot(kind: str, fake_url: str, token: str, db_url: str, evidence: Path) -> AsyncIterator[Any]:
    """One bot polling the fake, in this process; yields a CPU clock (this process's)."""
    if kind == "echo":  # a bare Application: default (sequential) update processing, no rate limiter
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
        from telegram.ext import ApplicationBuilder, CallbackQueryHandler, MessageHandler, filters

        from bot.sandbox.botapi.server import run_application

        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="echo:ok")]])

        async def on_message(update: Update, _: object) -> None:
            await update.message.reply_text(update.message.text or "?", reply_markup=keyboard)  # type: ignore[union-attr]

        async def on_press(update: Update, _: object) -> None:
            await update.callback_query.answer()  # type: ignore[union-attr]
            await update.callback_query.message.reply_text("OK", reply_markup=keyboard)  # type: ignore[union-attr]

        app = ApplicationBuilder().token(token).base_url(f"{fake_url}/bot").base_file_url(f"{fake_url}/file/bot")
        echo = app.build()
        echo.add_handlers([MessageHandler(filters.ALL, on_message), CallbackQueryHandler(on_press)])
        async with run_application(echo, timeout=10):
            yield time.process_time
        return

    from bot.app.build import build_application, start_polling, stop
    from config.settings import Settings
    from models.db import Database
    from services.core.clock import SystemClock

    # No repeating scheduler tick: its alerts would be pushes to the cadres' chats amid the replies.
    settings = Settings(token=token, database_url=db_url, bot_api_base_url=f"{fake_url}/bot",
                        bot_api_file_url=f"{fake_url}/file/bot", delivery_interval=1.0, per_chat_interval=0.0,
                        tick_interval=0.0, evidence_dir=evidence, _env_file=None)  # type: ignore[call-arg]
    db = Database(settings.database_url)
    duban = build_application(settings, db, SystemClock(settings.tz))
    if kind == "duban-unlimited":  # diagnostic: the same bot without PTB's 30 messages/s limiter
        duban.bot._rate_limiter = None
    await start_polling(duban, poll_timeout=10)
    try:
        yield time.process_time
    finally:
        await stop(duban)
        await db.dispose()


async def serve(args: argparse.Namespace) -> None:
    """The child process: run one bot until SIGTERM."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    warnings.filterwarnings("ignore", message="If 'per_message=False'")
    done = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, done.set)
    async with running_bot(args.serve, args.fake_url, args.token, args.database_url, Path(args.evidence_dir)):
        print("READY", flush=True)
        await done.wait()


@contextlib.asynccontextmanager
async def child_bot(kind: str, fake_url: str, token: str, db_url: str, evidence: Path) -> AsyncIterator[Any]:
    """The bot in a child process (the default): a core of its own, as against the real Telegram.
    Yields a CPU clock: the child's CPU seconds (all its threads) so far."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.report_flow", "--serve", kind, "--fake-url", fake_url, "--token", token,
        "--database-url", db_url, "--evidence-dir", str(evidence), cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    try:
        if (await asyncio.wait_for(proc.stdout.readline(), 60)).strip() != b"READY":  # type: ignore[union-attr]
            raise RuntimeError(f"the bot process did not start (exit {await proc.wait()})")
        stat = Path(f"/proc/{proc.pid}/stat")
        yield lambda: sum(map(int, stat.read_text().rsplit(")", 1)[1].split()[11:13])) / os.sysconf("SC_CLK_TCK")
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)


# --- the database -----------------------------------------------------------------------------------

async def seed(db_url: str, cadres: int) -> None:
    """Migrate, then N units with one cadre each, N targets each split onto 5 units (5N assignments)."""
    from models.db import Database
    from models.migrate import upgrade
    from models.people import Person, RoleMembership
    from models.plan import Assignment, Target, Unit

    db = Database(db_url)
    await upgrade(db.engine)
    now, year = datetime.now().astimezone(), date.today().year
    async with db.uow() as uow:
        s = uow.session
        units = [Unit(code=f"B{i:04d}", name=f"压测村{i}", kind="village", unit_class="village", created_at=now)
                 for i in range(cadres)]
        targets = [Target(code=f"BT{i:04d}", year=year, title=f"压测目标{i}", category="investment", measure="万元",
                          mode="zero_base", deadline=date(year, 12, 31)) for i in range(cadres)]
        s.add_all(units + targets)
        await s.flush()
        people = [Person(code=f"BP{i:04d}", name=f"干部{i}", unit_id=u.id, telegram_user_id=USER0 + i, language="zh",
                         created_at=now, joined_at=now) for i, u in enumerate(units)]
        s.add_all(people)
        await s.flush()
        s.add_all([RoleMembership(person_id=p.id, role="cadre", unit_id=p.unit_id, created_at=now) for p in people])
        spread = sorted({(i, (i + k) % cadres) for i in range(cadres) for k in range(min(5, cadres))})
        s.add_all([Assignment(target_id=targets[t].id, unit_id=units[u].id, planned_value=Decimal(10**9))
                   for t, u in spread])
        await uow.commit()
    await db.dispose()


async def fresh_database(url: str | None, tmp: Path) -> tuple[str, Any]:
    """A new database: a SQLite file in ``tmp``, or a new PostgreSQL database on ``url``'s server
    (dropped afterwards by the function returned with it)."""
    if url is None or url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp / 'bench.db'}", None
    import asyncpg
    from sqlalchemy.engine import make_url

    base = make_url(url)
    dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"duban_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(dsn)
        await conn.execute(sql)
        await conn.close()

    await admin(f'CREATE DATABASE "{name}"')
    return base.set(database=name).render_as_string(hide_password=False), lambda: admin(
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the cadres -------------------------------------------------------------------------------------

class Cadre:
    def __init__(self, fake: TimedFake, i: int) -> None:
        self.fake = fake
        self.user: FakeUser = fake.user(USER0 + i, f"干部{i}")
        self.code = f"BT{i:04d}"
        self.value = 100  # rises with every dialogue: no decrease to confirm, never far above the plan
        self.reset()

    def reset(self) -> None:
        self.step = 0  # a new /report cancels a draft left open
        self.summary: asyncio.Future[SentMessage] | None = None
        self.tail: asyncio.Future[Any] | None = None  # open loop: this cadre's updates waiting their turn

    async def act(self) -> asyncio.Future[SentMessage]:
        """Queue this cadre's next update; returns the future of its answer."""
        step = STEPS[self.step]
        self.step = (self.step + 1) % len(STEPS)
        if step == "confirm":
            summary = await self.summary  # type: ignore[misc]
            buttons = [d for _, d in summary.buttons() if d]
            data = next((d for d in buttons if d.startswith("rep:ok:")), buttons[0] if buttons else None)
            if data is None:
                raise RuntimeError(f"no Confirm button under {summary.text!r}")
            return self.fake.answers.pop((await self.user.press(summary, data))["update_id"])
        if step == "value":
            self.value += 1
        text = {"report": f"/report {self.code}", "value": str(self.value), "skip": "/skip", "done": "/done"}[step]
        answer = self.fake.answers.pop((await self.user.send_text(text)).update_id)
        if step == "done":
            self.summary = answer
        return answer


async def saturation(fake: TimedFake, cadres: list[Cadre], seconds: float) -> Phase:
    """Closed loop: every cadre sends its next update as soon as the previous one is answered."""
    fake.phase = Phase()
    stop_at = time.perf_counter() + seconds

    async def run(c: Cadre) -> None:
        c.reset()
        while c.step != 0 or time.perf_counter() < stop_at:  # a dialogue once begun is finished
            try:
                await asyncio.wait_for(await c.act(), 60)
            except (RuntimeError, TimeoutError) as exc:
                fake.phase.errors.append(f"{c.code}: {exc!r}")
                c.reset()

    await asyncio.gather(*(run(c) for c in cadres))
    return fake.phase


async def open_loop(fake: TimedFake, cadres: list[Cadre], rate: float, count: int, *, offset: float = 0.0,
                    poisson: random.Random | None = None) -> tuple[Phase, int]:
    """Updates at a fixed rate, round robin over the cadres, whatever the replies. A Confirm whose
    summary has not arrived yet (and what that cadre sends after it) waits for it without holding
    up the others, and is counted as late. ``offset``: the first update that many seconds after the
    start; ``poisson``: random (exponential) gaps of mean 1/rate instead of even ones."""
    fake.phase = Phase()
    for c in cadres:
        c.reset()
    late, answers, chained = 0, [], []

    async def after(prev: asyncio.Future[Any] | None, c: Cadre) -> asyncio.Future[SentMessage]:
        await (prev if prev is not None else asyncio.sleep(0))
        return await c.act()

    start, due = time.perf_counter() + offset, 0.0
    for k in range(count):
        if k:
            due += poisson.expovariate(rate) if poisson is not None else 1 / rate
        await asyncio.sleep(max(0.0, start + due - time.perf_counter()))
        c = cadres[k % len(cadres)]
        waiting = c.tail is not None and not c.tail.done()
        if waiting or (STEPS[c.step] == "confirm" and not (c.summary and c.summary.done())):
            late += 1
            c.tail = asyncio.ensure_future(after(c.tail if waiting else None, c))
            chained.append(c.tail)
        else:
            answers.append(await c.act())
    answers += await asyncio.gather(*chained)
    try:
        await asyncio.wait_for(asyncio.gather(*answers), 120)
    except TimeoutError:
        fake.phase.errors.append(f"{sum(not a.done() for a in answers)} updates unanswered after 120 s")
    return fake.phase, late


# --- the run ----------------------------------------------------------------------------------------

async def run_variant(kind: str, fake: TimedFake, cadres: list[Cadre], args: argparse.Namespace, db_url: str,
                      evidence: Path) -> list[Result]:
    results = []
    async with (running_bot if args.inline else child_bot)(kind, fake.url, fake.token, db_url, evidence) as bot_cpu:
        for label in ("saturation", "alone", f"open {args.rate:g}/s"):
            t0, b0, f0 = time.perf_counter(), bot_cpu(), time.process_time()
            if label in ("saturation", "alone"):  # the first second warms up and is not counted
                who = cadres if label == "saturation" else cadres[:1]  # alone: one cadre, nobody else
                phase, late, lo = await saturation(fake, who, 1.0 + args.seconds), 0, t0 + 1.0
                hi = lo + args.seconds
            else:
                phase, late = await open_loop(fake, cadres, args.rate, int(args.rate * args.seconds))
                lo, hi = t0, time.perf_counter()
            wall = time.perf_counter() - t0
            kept = [lat for at, lat in phase.samples if lo <= at <= hi]
            results.append(Result(f"{kind} {label}", len(kept), len(kept) / (hi - lo), percentile(kept, 0.5) * 1000,
                                  percentile(kept, 0.99) * 1000, (bot_cpu() - b0) / wall,
                                  (time.process_time() - f0) / wall, late))
            if phase.unmatched or phase.errors:
                print(f"  {kind} {label}: {phase.unmatched} messages answered no update; {len(phase.errors)} "
                      f"dialogues went wrong{', e.g. ' + phase.errors[0] if phase.errors else ''}", file=sys.stderr)
    return results


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="duban-bench-") as tmp:
        db_url, drop = await fresh_database(args.database_url, Path(tmp))
        try:
            await seed(db_url, args.cadres)
            results: list[Result] = []
            async with TimedFake() as fake:
                cadres = [Cadre(fake, i) for i in range(args.cadres)]
                print(f"{args.cadres} cadres, {'SQLite' if db_url.startswith('sqlite') else 'PostgreSQL'}, "
                      f"{'one process' if args.inline else 'bot in a child process'}, {os.cpu_count()} CPUs, "
                      f"load average {os.getloadavg()[0]:.2f}", flush=True)
                for kind in args.variants.split(","):
                    print(f"running {kind} ...", flush=True)
                    results += await run_variant(kind, fake, cadres, args, db_url, Path(tmp) / "evidence")
            report(results, args)
            print(f"load average at the end {os.getloadavg()[0]:.2f} (other work on the machine skews the numbers)")
        finally:
            if drop is not None:
                await drop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench.report_flow", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--cadres", type=int, default=100, help="simulated cadres (default 100)")
    p.add_argument("--rate", type=float, default=25.0,
                   help="open-loop updates per second (default 25, below Telegram's ~30 messages/s per bot)")
    p.add_argument("--seconds", type=float, default=10.0,
                   help="length of each saturation run; the open loop sends rate × seconds updates (default 10)")
    p.add_argument("--database-url", help="a PostgreSQL server to create a scratch database on (default: SQLite)")
    p.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    p.add_argument("--inline", action="store_true", help="run the bot in this process too (e.g. for cProfile)")
    for hidden in ("--serve", "--fake-url", "--token", "--evidence-dir"):  # the child process's arguments
        p.add_argument(hidden, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    unknown = set(args.variants.split(",")) - set(VARIANTS)
    if unknown or args.cadres < 1 or args.rate <= 0 or args.seconds <= 0:
        p.error(f"bad options: {', '.join(sorted(unknown)) or 'cadres, rate and seconds must be positive'}")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(arguments) if arguments.serve else main(arguments))
    sys.exit(0)
