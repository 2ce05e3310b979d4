"""``duban sandbox``: wire the sandbox (bot/sandbox/sandbox.py) to its web chat (web.py) and its demo county
(demo.py), start it, say where it is, build the demo county when it is new, and run until stopped."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.sandbox.demo import build_demo
from bot.sandbox.sandbox import Paths, Sandbox, environment
from bot.sandbox.web import make_app


def open_sandbox(data: Path, *, host: str = "127.0.0.1", port: int = 8090, at: datetime | None = None,
                 fresh: bool = False, database_url: str | None = None, locale: str = "zh",
                 demo: bool = True) -> Sandbox:
    return Sandbox(Paths(data), host=host, port=port, at=at, fresh=fresh, database_url=database_url,
                   locale=locale, make_app=make_app, demo=build_demo if demo else None)


async def serve(sandbox: Sandbox, stop_event: asyncio.Event, say: Callable[[str, dict], None]) -> None:
    """Start, announce (``say(key, params)``), build the demo county if needed, wait for ``stop_event``."""
    await sandbox.start()
    try:
        data = str(sandbox.paths.data.resolve())
        say("sandbox.cli.ready", {"url": sandbox.url, "data": data})
        say("sandbox.cli.environment", {"data": data})
        env = environment(sandbox.paths, sandbox.fake.url, sandbox.database_url)
        for name, value in env.items():
            say("", {"line": f"  {name}={value}"})
        if sandbox.needs_demo:
            say("sandbox.cli.building", {})
            building = asyncio.create_task(sandbox.build_demo())
            stopping = asyncio.create_task(stop_event.wait())
            await asyncio.wait({building, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not building.done():  # stopped meanwhile: the half-built county is built again next time
                building.cancel()
                await asyncio.gather(building, return_exceptions=True)
                return
            stopping.cancel()
            building.result()
            say("sandbox.cli.built", sandbox.state.notes["counts"])
        await stop_event.wait()
    finally:
        await sandbox.stop()
