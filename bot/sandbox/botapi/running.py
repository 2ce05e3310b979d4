"""Running a PTB Application against the fake in a test: ``run_application`` (re-exported by the server)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any


@contextlib.asynccontextmanager
async def run_application(
    app: Any, *, poll_interval: float = 0.0, timeout: int = 1, **polling_kwargs: Any
) -> AsyncIterator[Any]:
    """initialize/start/start_polling a PTB Application; stop everything cleanly on exit."""
    await app.initialize()
    try:
        await app.start()
        await app.updater.start_polling(poll_interval=poll_interval, timeout=timeout, **polling_kwargs)
        yield app
    finally:
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
