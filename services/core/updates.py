"""Handled Telegram update ids: a set with times (Telegram restarts ids after a quiet week).

While an update is processed (``tracking``), what its transactions committed is remembered in the
update's own context: whether its id was recorded (``claim``, so the gate need not record it again nor
read whether it was) and whether it queued a message in the outbox (so the delivery worker is woken only
then). Each update runs in a task of its own, so nothing is shared between updates or counties.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from models.core import HandledUpdate
from models.db import UnitOfWork, after_commit
from services.core.clock import Clock
from services.core.errors import DuplicateUpdate


@dataclass
class Marks:
    """What the transactions of the update being processed committed."""

    recorded: set[int] = field(default_factory=set)  # update ids recorded as handled
    queued: bool = False  # a message was queued in the outbox


_MARKS: contextvars.ContextVar[Marks | None] = contextvars.ContextVar("duban_update_marks", default=None)


@contextlib.contextmanager
def tracking() -> Iterator[Marks]:
    """Remember, while one update is processed, what its transactions committed."""
    marks = Marks()
    token = _MARKS.set(marks)
    try:
        yield marks
    finally:
        _MARKS.reset(token)


def current() -> Marks | None:
    """The marks of the update being processed (None outside ``tracking``)."""
    return _MARKS.get()


def note_queued(session: AsyncSession) -> None:
    """The caller's transaction queues a message: once it commits, the update's marks say so."""
    marks = _MARKS.get()
    if marks is not None:
        after_commit(session, lambda: setattr(marks, "queued", True))


async def is_handled(update_id: int, *, uow: UnitOfWork) -> bool:
    async with uow:
        return await handled_in(uow.session, update_id)


async def handled_in(session: AsyncSession, update_id: int) -> bool:
    """Whether ``update_id`` is recorded (in the caller's transaction)."""
    return await session.get(HandledUpdate, update_id) is not None


async def claim(session: AsyncSession, update_id: int | None, clock: Clock) -> None:
    """Record ``update_id`` in the caller's transaction; DuplicateUpdate if it was handled already.

    Call it in the transaction of the update's effect: both commit together or neither does.
    """
    if update_id is None:
        return
    marks = _MARKS.get()
    if marks is not None and update_id in marks.recorded:
        raise DuplicateUpdate(update_id)  # recorded by an earlier transaction of this very update
    session.add(HandledUpdate(update_id=update_id, handled_at=clock.now()))
    try:
        await session.flush()  # the primary key refuses an id recorded already (no read before)
    except IntegrityError as exc:  # recorded before (a redelivery), or by another process meanwhile
        raise DuplicateUpdate(update_id) from exc
    if marks is not None:
        after_commit(session, lambda: marks.recorded.add(update_id))


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
