"""The outbox: every message the bot sends on its own initiative is a row written in the
transaction that decided it; the delivery worker (bot/delivery.py) sends the rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UnitOfWork
from models.enums import OutboxStatus
from models.tables import OutboxMessage, Person
from services.clock import Clock

BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 3600
# A row being sent is leased for this long; a crashed sender's rows come back after it.
LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Delivery:
    id: int
    chat_id: int
    text: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    attempts: int


async def enqueue(
    session: AsyncSession,
    clock: Clock,
    *,
    chat_id: int,
    text: str,
    kind: str,
    person_id: int | None = None,
    dedup_key: str | None = None,
    reply_markup: dict[str, Any] | None = None,
    parse_mode: str | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage | None:
    """Add a message to the outbox in the caller's transaction.

    With a ``dedup_key``, a key already queued for this chat is not queued again (returns None).
    """
    if dedup_key is not None:
        existing = await session.exec(
            select(OutboxMessage.id).where(
                OutboxMessage.chat_id == chat_id, OutboxMessage.dedup_key == dedup_key
            )
        )
        if existing.first() is not None:
            return None
    now = clock.now()
    row = OutboxMessage(
        created_at=now,
        person_id=person_id,
        chat_id=chat_id,
        kind=kind,
        dedup_key=dedup_key,
        text=text,
        parse_mode=parse_mode,
        reply_markup=reply_markup,
        status=OutboxStatus.PENDING,
        next_attempt_at=not_before or now,
    )
    session.add(row)
    return row


async def enqueue_to_person(
    session: AsyncSession, clock: Clock, person: Person, *, text: str, kind: str, **kwargs: Any
) -> OutboxMessage | None:
    """Queue a message for a person; nothing for people who never joined, left or blocked the bot."""
    if person.telegram_user_id is None or not person.active or person.unreachable_at is not None:
        return None
    return await enqueue(
        session, clock, chat_id=person.telegram_user_id, text=text, kind=kind, person_id=person.id, **kwargs
    )


async def claim_due(*, uow: UnitOfWork, clock: Clock, limit: int = 50) -> list[Delivery]:
    """Lease due rows, oldest first: only the head (oldest pending row) of each chat, so each chat's
    messages go in order and a row waiting for a retry holds back the ones behind it."""
    now = clock.now()
    async with uow:
        heads = (
            select(func.min(OutboxMessage.id))
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .group_by(col(OutboxMessage.chat_id))
        )
        rows = (
            await uow.session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.id).in_(heads), OutboxMessage.next_attempt_at <= now)
                .order_by(col(OutboxMessage.id))
                .limit(limit)
            )
        ).all()
        result = []
        for row in rows:
            assert row.id is not None
            delivery = Delivery(row.id, row.chat_id, row.text, row.parse_mode, row.reply_markup, row.attempts + 1)
            # Lease: a concurrent worker no longer sees it as due; a crash returns it after LEASE.
            claimed = await uow.session.exec(  # type: ignore[call-overload]
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, OutboxMessage.next_attempt_at == row.next_attempt_at)
                .values(next_attempt_at=now + LEASE, attempts=delivery.attempts)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount == 1:
                result.append(delivery)
        await uow.commit()
        return result


async def mark_sent(row_id: int, message_id: int, *, uow: UnitOfWork, clock: Clock) -> None:
    async with uow:
        await uow.session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(status=OutboxStatus.SENT, sent_at=clock.now(), telegram_message_id=message_id, last_error=None)
        )
        await uow.commit()


async def retry_later(
    row_id: int, *, uow: UnitOfWork, clock: Clock, error: str, after: timedelta | None, attempts: int,
    max_attempts: int,
) -> None:
    """Put a row back for a later attempt: after ``after`` (429's retry_after) or with backoff."""
    if after is None:
        after = timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))
    values: dict[str, Any] = {"next_attempt_at": clock.now() + after, "last_error": error[:500]}
    if max_attempts and attempts >= max_attempts:
        values = {"status": OutboxStatus.FAILED, "last_error": error[:500]}
    async with uow:
        await uow.session.exec(  # type: ignore[call-overload]
            update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values)
        )
        await uow.commit()


async def give_up(row_id: int, *, uow: UnitOfWork, error: str) -> None:
    """A request Telegram will never accept (400): stop trying this row."""
    async with uow:
        await uow.session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(status=OutboxStatus.FAILED, last_error=error[:500])
        )
        await uow.commit()


async def mark_unreachable(row_id: int, chat_id: int, *, uow: UnitOfWork, clock: Clock, error: str) -> None:
    """403: the user blocked the bot. Mark them unreachable and drop their pending rows."""
    now = clock.now()
    async with uow:
        await uow.session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id, OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.UNREACHABLE, last_error=error[:500])
        )
        await uow.session.exec(  # type: ignore[call-overload]
            update(Person)
            .where(Person.telegram_user_id == chat_id, col(Person.unreachable_at).is_(None))
            .values(unreachable_at=now)
        )
        await uow.commit()


async def backlog(*, uow: UnitOfWork) -> int:
    async with uow:
        n = await uow.session.exec(
            select(func.count()).where(OutboxMessage.status == OutboxStatus.PENDING)
        )
        return int(n.one())
