"""The bot process of bench/soak.py: the real bot on a movable clock, polling the fake Bot API, driven by one JSON
line per command on stdin (``tick``: jump the clock and run the scheduler's tick; ``measure``: settle the outbox,
then RSS, the garbage collector's counts and pauses, the per-bot memories' sizes and, with ``--trace``,
tracemalloc's biggest growths between two snapshots), answered by one ``SOAK {json}`` line on stdout."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import json
import logging
import os
import signal
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bot.sandbox.clock import MovableClock

ROOT = Path(__file__).resolve().parent.parent

# --- the parent's side ----------------------------------------------------------------------------------

class Child:
    """The bot process as bench/soak.py drives it: one JSON line per command, one answer."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def call(self, **cmd: Any) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        await self.proc.stdin.drain()
        while not (line := await asyncio.wait_for(self.proc.stdout.readline(), 900)).startswith(b"SOAK "):
            if not line:
                raise RuntimeError(f"the bot process ended (exit {await self.proc.wait()})")
        return json.loads(line[5:])


@contextlib.asynccontextmanager
async def child_bot(fake: Any, db_url: str, evidence: Path, start: str, args: argparse.Namespace) -> Any:
    """This module in a child process (a core of its own, as against the real Telegram), for ``fake``."""
    extra = [flag for flag, on in (("--trace", args.trace), ("--freeze", args.freeze), ("--trim", args.trim),
                                             ("--no-tick", args.no_tick), ("--tick-apart", args.tick_apart)) if on]
    env = {**os.environ, **dict(pair.split("=", 1) for pair in args.env)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.soak_bot", "--fake-url", fake.url, "--token", fake.token,
        "--database-url", db_url, "--evidence-dir", str(evidence), "--start", start, *extra, cwd=ROOT,
        env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 20)
    try:
        assert proc.stdout is not None
        while (line := await asyncio.wait_for(proc.stdout.readline(), 120)).strip() != b"SOAK READY":
            if not line:
                raise RuntimeError(f"the bot process did not start (exit {await proc.wait()})")
        yield Child(proc)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 60)
        except TimeoutError:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)


# --- the child process: the bot, a control line per command on stdin --------------------------------------

def rss_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    """The process's resident memory (``VmHWM``: its peak) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def serve(args: argparse.Namespace) -> None:
    import tracemalloc

    from bot.app import jobs
    from bot.app.build import build_application, start_polling, stop
    from config.settings import Settings
    from models.db import Database

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    warnings.filterwarnings("ignore", message="If 'per_message=False'")
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    gc_began = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_began[0] = time.perf_counter()
        else:
            pauses[info["generation"]].append(time.perf_counter() - gc_began[0])

    gc.callbacks.append(on_gc)
    settings = Settings(token=args.token, database_url=args.database_url, bot_api_base_url=f"{args.fake_url}/bot",
                        bot_api_file_url=f"{args.fake_url}/file/bot", tick_interval=0.0, evidence_dir=args.evidence_dir,
                        survey_secret="bench-soak-survey-secret-0123", _env_file=None)  # type: ignore[call-arg]
    clock = MovableClock.starting_at(datetime.fromisoformat(args.start), settings.tz)
    db = Database(settings.database_url)
    app = build_application(settings, db, clock)
    await start_polling(app, poll_timeout=10)
    if args.freeze:
        gc.collect()
        gc.freeze()
    deps, snapshots = app.bot_data, []
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("SOAK READY", flush=True)
    while line := await reader.readline():
        cmd = json.loads(line)
        out: dict[str, Any] = {}
        if cmd["op"] == "tick" and args.no_tick:  # what-if: the clock moves, no tick runs
            clock.jump(datetime.fromisoformat(cmd["at"]))
            out.update(tick_s=0.0, rss_before_tick=rss_mb(), rss_after_tick=rss_mb())
        elif cmd["op"] == "tick" and args.tick_apart:  # what-if: the tick in a process of its own, as cron would
            clock.jump(datetime.fromisoformat(cmd["at"]))  # run `duban jobs tick` with DUBAN_TICK_INTERVAL=0
            began, out["rss_before_tick"] = time.perf_counter(), rss_mb()
            ticker = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.soak_bot", "--tick-at", cmd["at"], "--database-url", args.database_url,
                "--evidence-dir", args.evidence_dir, cwd=ROOT)
            await ticker.wait()
            deps.delivery.wake()
            out["tick_s"], out["rss_after_tick"] = time.perf_counter() - began, rss_mb()
        elif cmd["op"] == "tick":
            clock.jump(datetime.fromisoformat(cmd["at"]))
            began, out["rss_before_tick"] = time.perf_counter(), rss_mb()
            await jobs.tick_job(SimpleNamespace(bot_data=deps, job=None))  # type: ignore[arg-type]
            out["tick_s"], out["rss_after_tick"] = time.perf_counter() - began, rss_mb()
        elif cmd["op"] == "measure":
            began = time.perf_counter()
            with contextlib.suppress(TimeoutError):
                await deps.delivery.settle(cmd["settle"])
            out["settle_s"] = time.perf_counter() - began
            out["rss"], out["hwm"] = rss_mb(), rss_mb(field="VmHWM")
            out["arenas_mb"], out["blocks_mb"] = obmalloc_mb()
            if tracemalloc.is_tracing():
                out["py_mb"], out["py_peak_mb"] = (n / 2**20 for n in tracemalloc.get_traced_memory())
                tracemalloc.reset_peak()
            out["gc_count"] = gc.get_count()
            out["gc2"] = gc.get_stats()[2]["collections"]
            out["objects"] = len(gc.get_objects())  # tracked, garbage not yet collected included
            gc.collect()
            out["live"] = len(gc.get_objects())  # after a full collection: what is really kept
            out["pause_max_ms"] = {g: max(p, default=0) * 1000 for g, p in pauses.items()}
            out["pause_sum_ms"] = {g: sum(p) * 1000 for g, p in pauses.items()}
            for p in pauses.values():
                p.clear()
            out["sizes"] = sizes(app)
            if args.trim:  # what-if: the heap's free memory handed back to the system after each hour
                gc.collect()
                ctypes.CDLL("libc.so.6").malloc_trim(0)
                out["rss_trimmed"] = rss_mb()
            if args.trace and cmd.get("snapshot"):  # hour 1: start tracing (one frame: the tick is slow enough)
                if not tracemalloc.is_tracing():
                    tracemalloc.start(1)
                snapshots.append(tracemalloc.take_snapshot())
                if len(snapshots) == 2:
                    print("TRACE the biggest growths since the previous snapshot:", file=sys.stderr)
                    for stat in snapshots[1].compare_to(snapshots[0], "lineno")[:15]:
                        print(f"TRACE {stat}", file=sys.stderr)
                    snapshots.pop(0)
        print("SOAK " + json.dumps(out), flush=True)
    await stop(app)
    await db.dispose()


def obmalloc_mb() -> tuple[float, float]:
    """Python's small-object allocator: MB of its arenas the process holds, and MB of blocks in use in them (the
    difference is fragmentation: memory freed inside arenas that still hold a live object)."""
    import os
    import tempfile

    with tempfile.TemporaryFile("w+") as out:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        stats = {k.strip(): v for k, _, v in (ln.partition("=") for ln in out.read().splitlines()) if v}
    if "# arenas allocated current" not in stats:  # PYTHONMALLOC=malloc: no arenas
        return float("nan"), float("nan")
    arenas = int(stats["# arenas allocated current"].replace(",", ""))  # of 1 MiB (3.10+)
    return arenas, int(stats["# bytes in allocated blocks"].replace(",", "")) / 2**20


def sizes(app: Any) -> dict[str, int]:
    """The per-bot memories that could grow with new people or updates."""
    from telegram.ext import ConversationHandler

    processor = app.update_processor
    conversations = sum(len(h._conversations) for group in app.handlers.values() for h in group
                        if isinstance(h, ConversationHandler))
    engine = app.bot_data.db.engine.sync_engine
    return {"viewers": len(app.bot_data.viewers), "user_data": len(app._user_data), "chat_data": len(app._chat_data),
            "conversations": conversations, "strangers": len(app.bot_data.strangers),
            "throttle": len(getattr(processor, "throttle", None) or ()),
            "sql_cache": len(engine._compiled_cache) if engine._compiled_cache is not None else 0}


async def tick_apart(args: argparse.Namespace) -> None:
    """One scheduler run at ``--tick-at`` and nothing else, as `duban jobs tick` does (which refuses the future)."""
    from bot.app.jobs import run_scheduled
    from config.settings import Settings
    from models.db import Database
    from services.core.clock import FixedClock

    settings = Settings(database_url=args.database_url, evidence_dir=args.evidence_dir,
                        survey_secret="bench-soak-survey-secret-0123", _env_file=None)  # type: ignore[call-arg]
    db = Database(settings.database_url)
    at = datetime.fromisoformat(args.tick_at)
    await run_scheduled(at, db=db, settings=settings, clock=FixedClock(at, settings.tz))
    await db.dispose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench.soak_bot", description="the bot process of bench/soak.py")
    for name in ("--fake-url", "--token", "--database-url", "--evidence-dir", "--start", "--tick-at"):
        p.add_argument(name)
    p.add_argument("--trace", action="store_true")
    p.add_argument("--freeze", action="store_true")
    p.add_argument("--trim", action="store_true")
    p.add_argument("--no-tick", action="store_true")
    p.add_argument("--tick-apart", action="store_true")
    return p.parse_args(argv)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        arguments = parse_args()
        asyncio.run(tick_apart(arguments) if arguments.tick_at else serve(arguments))
    sys.exit(0)
