"""Handled Telegram update ids: a set with times (Telegram restarts ids after a quiet week)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from models.core import HandledUpdate
from models.db import UnitOfWork
from services.core.clock import Clock
from services.core.errors import DuplicateUpdate


async def is_handled(update_id: int, *, uow: UnitOfWork) -> bool:
    async with uow:
        return await uow.session.get(HandledUpdate, update_id) is not None


async def claim(session: AsyncSession, update_id: int | None, clock: Clock) -> None:
    """Record ``update_id`` in the caller's transaction; DuplicateUpdate if it was handled already.

    Call it in the transaction of the update's effect: both commit together or neither does.
    """
    if update_id is None:
        return
    if await session.get(HandledUpdate, update_id) is not None:
        raise DuplicateUpdate(update_id)
    session.add(HandledUpdate(update_id=update_id, handled_at=clock.now()))
    try:
        await session.flush()
    except IntegrityError as exc:  # another process recorded it between our read and write
        raise DuplicateUpdate(update_id) from exc


async def mark_handled(update_id: int, *, uow: UnitOfWork, clock: Clock) -> bool:
    """Record an update that had no effect of its own (a read-only command). False if already there."""
    async with uow:
        try:
            await claim(uow.session, update_id, clock)
        except DuplicateUpdate:
            return False
        await uow.commit()
        return True


async def prune(*, uow: UnitOfWork, clock: Clock, keep: timedelta) -> int:
    """Forget update ids older than ``keep`` (Telegram redelivers for at most 24 hours)."""
    async with uow:
        result = await uow.session.exec(  # type: ignore[call-overload]
            delete(HandledUpdate).where(HandledUpdate.handled_at < clock.now() - keep)
        )
        await uow.commit()
        return result.rowcount or 0
