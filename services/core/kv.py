"""Small facts kept in the database (the bot's username learned from getMe, ...)."""

from __future__ import annotations

from models.core import KeyValue
from models.db import UnitOfWork
from services.core.clock import Clock

BOT_USERNAME = "bot_username"


async def get(key: str, *, uow: UnitOfWork) -> str | None:
    async with uow:
        row = await uow.session.get(KeyValue, key)
        return row.value if row else None


async def put(key: str, value: str, *, uow: UnitOfWork, clock: Clock) -> None:
    async with uow:
        row = await uow.session.get(KeyValue, key)
        if row is None:
            uow.session.add(KeyValue(key=key, value=value, updated_at=clock.now()))
        elif row.value != value:
            row.value = value
            row.updated_at = clock.now()
            uow.session.add(row)
        await uow.commit()
