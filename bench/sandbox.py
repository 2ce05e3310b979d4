"""How long the sandbox makes its user wait: building the demo county on first start, starting again (the
journal of the chats replayed), and the clock's steps (the tick on every working day passed).

    .venv/bin/python -m bench.sandbox                 # SQLite in a temporary folder
    .venv/bin/python -m bench.sandbox --at 2026-03-16T10:00

Prints one line per phase; always exits 0. Method and numbers: bench/README.md."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.sandbox.run import open_sandbox


async def main(at: datetime) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        sandbox = open_sandbox(data, port=0, at=at)
        began = time.perf_counter()
        await sandbox.start()
        started = time.perf_counter()
        await sandbox.build_demo()
        built = time.perf_counter()
        counts = sandbox.state.notes["counts"]
        print(f"first start (migrate, bot up): {started - began:6.2f} s")
        print(f"demo county ({counts['people']} people, {counts['reports']} reports, {counts['inspections']} "
              f"visits, {len(sandbox.fake.sent)} bot messages): {built - started:6.2f} s")
        await sandbox.stop()
        journal = (data / "sandbox-botapi" / "journal.jsonl").stat().st_size
        sandbox = open_sandbox(data, port=0)
        began = time.perf_counter()
        await sandbox.start()
        print(f"restart (journal {journal / 1024:.0f} KiB replayed, {len(sandbox.fake.sent)} messages): "
              f"{time.perf_counter() - began:6.2f} s")
        for step in ("day", "week", "year_end"):
            began = time.perf_counter()
            moved = await sandbox.move(step)
            ticked = time.perf_counter()
            await sandbox.app.bot_data.delivery.settle(600)  # type: ignore[union-attr]
            print(f"clock {step:8} -> {moved:%Y-%m-%d %H:%M}: ticks {ticked - began:6.2f} s, pushes delivered "
                  f"{time.perf_counter() - ticked:6.2f} s later ({len(sandbox.fake.sent)} bot messages in all)")
        await sandbox.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--at", default="2026-06-15T10:00", help="the sandbox clock's start (default 2026-06-15T10:00)")
    args = parser.parse_args()
    asyncio.run(main(datetime.fromisoformat(args.at).replace(tzinfo=ZoneInfo("Asia/Shanghai"))))
