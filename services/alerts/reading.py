"""How the scheduler's tick reads big sets without holding the event loop (every county the process serves)
for long: the county's standings in a worker thread, other rows in parts with a turn of the loop between."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import make_engine, make_session_factory
from services.progress.standings import Standing, paused_gc, standings

PART = 500  # rows read before the event loop gets a turn


async def rows_of(session: AsyncSession, query: Any, *, scalars: bool = True) -> list[Any]:
    """All rows of ``query``, fetched and turned into objects ``PART`` at a time with a turn of the event loop
    between (one big fetch of ORM objects would hold the loop for as long as it takes)."""
    out: list[Any] = []
    result = await session.stream(query.execution_options(yield_per=PART))
    async for part in (result.scalars() if scalars else result).partitions():
        out.extend(part)
        await asyncio.sleep(0)
    return out


def _read_apart(url: str, today: date, tz: ZoneInfo) -> list[Standing]:
    """``standings`` in this (worker) thread, on a loop and an engine of its own: 20,000 assignments are seconds
    of Python, which would otherwise hold the bot's event loop (every county of the process) for as long. The
    cyclic GC pauses meanwhile (a full collection of the big heap would hold the loop too)."""
    async def read() -> list[Standing]:
        engine = make_engine(url, readonly=True) if url.startswith("sqlite") else make_engine(url, poolclass=NullPool)
        try:
            async with make_session_factory(engine)() as s:
                return await standings(s, as_of=today, tz=tz, unit_ids=None, apart=True)
        finally:
            await engine.dispose()
    with paused_gc():
        return asyncio.run(read())


async def standings_apart(session: AsyncSession, today: date, tz: ZoneInfo) -> list[Standing]:
    """Every assignment's standing at the end of ``today``: read apart (``_read_apart``) when the database can be
    opened again by its URL, else in ``session``."""
    url = session.bind.url.render_as_string(hide_password=False) if session.bind is not None else ""
    if not url or (url.startswith("sqlite") and ("memory" in url or url.rstrip("/").endswith(":"))):
        return await standings(session, as_of=today, tz=tz, unit_ids=None)
    return await asyncio.to_thread(_read_apart, url, today, tz)
