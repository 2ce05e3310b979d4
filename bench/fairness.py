"""Benchmark (not a test): one chat floods the bot while 20 others do ordinary /report dialogues; the
others' reply times with the flood against the same run without it. Run
``.venv/bin/python -m bench.fairness --help`` from the project root; see bench/README.md.

The cadres follow bench/report_flow.py's open loop (``/report <code>`` → a value → ``/skip`` → ``/done`` →
Confirm, updates at --rate a second round robin over the cadres). In the flood phase, --flood-after
seconds in, one more registered cadre sends --flood messages at once. Reply time is from the update
being queued in the fake Telegram to the bot's answer being recorded there; only the 20 cadres' replies
count. Goal: their p99 with the flood within 1.5× of their p99 without it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also runnable as ``python bench/fairness.py``
    sys.path.insert(0, str(ROOT))

from bench.report_flow import USER0, Cadre, TimedFake, fresh_database, open_loop, percentile, seed  # noqa: E402
from bot.sandbox.botapi.server import FakeBotAPI  # noqa: E402

# fair: the bot as built (its chat's turn before a slot, the per-user throttle at its defaults);
# fair-unthrottled: the same with DUBAN_USER_RATE=0 (the scheduling alone);
# ptb-order: the order before (PTB's semaphore of 64 taken before the chat's lock) and no throttle.
VARIANTS = ("fair", "fair-unthrottled", "ptb-order")


class FloodFake(TimedFake):
    """bench/report_flow.py's timed fake; the flooder's updates and answers are left out of the samples."""

    def __init__(self, flooder: int) -> None:
        super().__init__()
        self.flooder = flooder
        self.flood_answers = 0

    async def _enqueue(self, kind: str, payload: dict) -> dict:
        chat = payload["chat"]["id"] if kind == "message" else payload["message"]["chat"]["id"]
        if chat == self.flooder:
            return await FakeBotAPI._enqueue(self, kind, payload)
        return await super()._enqueue(kind, payload)

    def _record(self, method: str, params: dict, msg: dict, text: str | None, file_id: str | None = None) -> dict:
        result = super()._record(method, params, msg, text, file_id)
        if self.sent[-1].chat_id == self.flooder:
            self.flood_answers += 1
            self.phase.unmatched -= 1  # (counted as unmatched by TimedFake: not one of the cadres' updates)
        return result


# --- the bot ----------------------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def running_bot(kind: str, fake_url: str, token: str, db_url: str, evidence: Path) -> AsyncIterator[None]:
    from telegram.ext._utils.asyncio import TrackedBoundedSemaphore

    from bot.app.build import build_application, start_polling, stop
    from config.settings import Settings
    from models.db import Database
    from services.core.clock import SystemClock

    settings = Settings(token=token, database_url=db_url, bot_api_base_url=f"{fake_url}/bot",  # type: ignore[call-arg]
                        bot_api_file_url=f"{fake_url}/file/bot", delivery_interval=1.0, per_chat_interval=0.0,
                        tick_interval=0.0, evidence_dir=evidence, user_rate=1.0 if kind == "fair" else 0.0,
                        _env_file=None)
    db = Database(settings.database_url)
    app = build_application(settings, db, SystemClock(settings.tz))
    if kind == "ptb-order":  # diagnostic: PTB's semaphore (taken before our chat lock) back at 64
        app.update_processor._semaphore = TrackedBoundedSemaphore(settings.concurrent_updates)
    await start_polling(app, poll_timeout=10)
    try:
        yield
    finally:
        await stop(app)
        await db.dispose()


async def serve(args: argparse.Namespace) -> None:
    """The child process: run one bot until SIGTERM."""
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)  # (the throttle's warning is expected)
    warnings.filterwarnings("ignore", message="If 'per_message=False'")
    done = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, done.set)
    async with running_bot(args.serve, args.fake_url, args.token, args.database_url, Path(args.evidence_dir)):
        print("READY", flush=True)
        await done.wait()


@contextlib.asynccontextmanager
async def child_bot(kind: str, fake_url: str, token: str, db_url: str, evidence: Path) -> AsyncIterator[None]:
    """The bot in a child process: a core of its own, as against the real Telegram."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.fairness", "--serve", kind, "--fake-url", fake_url, "--token", token,
        "--database-url", db_url, "--evidence-dir", str(evidence), cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    try:
        if (await asyncio.wait_for(proc.stdout.readline(), 60)).strip() != b"READY":  # type: ignore[union-attr]
            raise RuntimeError(f"the bot process did not start (exit {await proc.wait()})")
        yield
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)


# --- the run ----------------------------------------------------------------------------------------

class Result(NamedTuple):
    label: str
    updates: int
    p50: float  # ms
    p99: float
    worst: float
    late: int  # updates that had to wait for an earlier answer of their cadre
    flood_answers: int  # messages the bot sent the flooder


async def phase(fake: FloodFake, cadres: list[Cadre], flooder: Cadre | None, args: argparse.Namespace,
                label: str) -> Result:
    async def flood() -> None:
        await asyncio.sleep(args.flood_after)
        for _ in range(args.flood):
            await flooder.user.send_text("你好")  # type: ignore[union-attr]

    fake.flood_answers = 0
    flooding = asyncio.ensure_future(flood() if flooder is not None else asyncio.sleep(0))
    result, late = await open_loop(fake, cadres, args.rate, int(args.rate * args.seconds))
    await flooding
    if result.errors:
        print(f"  {label}: {len(result.errors)} dialogues went wrong, e.g. {result.errors[0]}", file=sys.stderr)
    kept = [lat for _, lat in result.samples]
    return Result(label, len(kept), percentile(kept, 0.5) * 1000, percentile(kept, 0.99) * 1000,
                  max(kept, default=float("nan")) * 1000, late, fake.flood_answers)


async def run_variant(kind: str, fake: FloodFake, cadres: list[Cadre], flooder: Cadre, args: argparse.Namespace,
                      db_url: str, evidence: Path) -> list[Result]:
    async with child_bot(kind, fake.url, fake.token, db_url, evidence):
        await open_loop(fake, cadres, args.rate, int(args.rate * args.warmup))  # not counted: pools, caches
        quiet = await phase(fake, cadres, None, args, f"{kind}, no flood")
        flooded = await phase(fake, cadres, flooder, args, f"{kind}, flood of {args.flood}")
        # the flood's backlog is answered before the bot stops (a fair comparison for the next variant)
        await fake.wait_until(lambda: fake.flood_answers >= expected_answers(kind, args), 300, "the flood answered")
    return [quiet, flooded]


def expected_answers(kind: str, args: argparse.Namespace) -> int:
    """Messages the flooder gets: one per message, or with the throttle its burst and one too-fast line."""
    from config.settings import Settings

    burst = Settings.model_fields["user_burst"].default
    return burst + 1 if kind == "fair" and args.flood > burst else args.flood


def report(results: list[Result], out: Callable[..., Any] = print) -> None:
    out(f"\n{'run':<34}{'updates':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'late':>6}{'flood answered':>16}")
    for r in results:
        out(f"{r.label:<34}{r.updates:>8}{r.p50:>9.1f}{r.p99:>9.1f}{r.worst:>9.1f}{r.late:>6}{r.flood_answers:>16}")
    for quiet, flooded in zip(results[::2], results[1::2], strict=True):
        ratio = flooded.p99 / quiet.p99 if quiet.p99 else float("nan")
        kind = quiet.label.split(",")[0]
        out(f"{kind}: the cadres' p99 with the flood is {ratio:.2f}× their p99 without it "
            f"(goal ≤ 1.5×: {'met' if ratio <= 1.5 else 'NOT met'})")


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="duban-bench-") as tmp:
        db_url, drop = await fresh_database(args.database_url, Path(tmp))
        try:
            await seed(db_url, args.cadres + 1)  # the last one floods
            results: list[Result] = []
            async with FloodFake(USER0 + args.cadres) as fake:
                cadres = [Cadre(fake, i) for i in range(args.cadres)]
                flooder = Cadre(fake, args.cadres)
                print(f"{args.cadres} cadres at {args.rate:g} updates/s in all, a flood of {args.flood} at "
                      f"{args.flood_after:g} s, {args.seconds:g} s phases, "
                      f"{'SQLite' if db_url.startswith('sqlite') else 'PostgreSQL'}, {os.cpu_count()} CPUs, "
                      f"load average {os.getloadavg()[0]:.2f}", flush=True)
                for kind in args.variants.split(","):
                    print(f"running {kind} ...", flush=True)
                    started = time.perf_counter()
                    results += await run_variant(kind, fake, cadres, flooder, args, db_url, Path(tmp) / "evidence")
                    print(f"  {time.perf_counter() - started:.0f} s", flush=True)
            report(results)
            print(f"load average at the end {os.getloadavg()[0]:.2f} (other work on the machine skews the numbers)")
        finally:
            if drop is not None:
                await drop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench.fairness", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--cadres", type=int, default=20, help="cadres doing dialogues (default 20)")
    p.add_argument("--rate", type=float, default=10.0, help="their updates per second in all (default 10)")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each phase (default 20)")
    p.add_argument("--flood", type=int, default=300, help="messages the flooder sends at once (default 300)")
    p.add_argument("--flood-after", type=float, default=3.0, help="seconds into the phase (default 3)")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds of dialogues before measuring (default 3)")
    p.add_argument("--database-url", help="a PostgreSQL server to create a scratch database on (default: SQLite)")
    p.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    for hidden in ("--serve", "--fake-url", "--token", "--evidence-dir"):  # the child process's arguments
        p.add_argument(hidden, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    unknown = set(args.variants.split(",")) - set(VARIANTS)
    if unknown or args.cadres < 1 or args.rate <= 0 or args.seconds <= args.flood_after or args.flood < 1:
        p.error(f"bad options: {', '.join(sorted(unknown)) or 'cadres, rate, seconds and flood must be positive'}")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(arguments) if arguments.serve else main(arguments))
    sys.exit(0)
