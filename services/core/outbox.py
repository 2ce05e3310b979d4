"""The outbox: every message the bot sends on its own initiative is a row written in the
transaction that decided it; delivery workers (bot/app/delivery.py) send the rows.

A worker *leases* a batch of rows (``lease_owner``, ``lease_expires_at``: one short committed
transaction), sends them with no transaction open, then records each outcome, clearing the lease.
A worker that dies leaves its leases behind; once they expire the rows are due again. So only rows
in flight at a crash can be sent twice, and none is lost. On PostgreSQL the lease takes the rows
with ``FOR UPDATE SKIP LOCKED`` so several workers share the outbox; on SQLite run one worker.

Each chat's messages go in order: only the oldest pending row of a chat (its head) is eligible, so
a row being sent or waiting for a retry holds back the ones behind it in that chat.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import normalise_language, th
from models.core import OutboxMessage
from models.db import UnitOfWork
from models.enums import OutboxStatus, Role
from models.people import Person, RoleMembership
from services.core import updates
from services.core.clock import Clock

BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 3600
# How long a leased row is a worker's; a crashed worker's rows come back after it.
LEASE = timedelta(minutes=2)
UNREACHABLE_KIND = "delivery.unreachable"


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
    updates.note_queued(session)  # the delivery worker is woken once this commits
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


async def any_due(*, uow: UnitOfWork, clock: Clock) -> bool:
    """Whether any row may be due now (a cheap read first, so an idle worker never takes the write lock)."""
    now = clock.now()
    async with uow:
        found = await uow.session.exec(
            select(OutboxMessage.id).where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.next_attempt_at <= now,
                or_(col(OutboxMessage.lease_expires_at).is_(None), col(OutboxMessage.lease_expires_at) <= now),
            ).limit(1)
        )
        return found.first() is not None


async def lease_due(
    *, uow: UnitOfWork, clock: Clock, owner: str, limit: int = 50, skip_chats: Collection[int] = (),
    lease: timedelta = LEASE,
) -> list[Delivery]:
    """Lease up to ``limit`` due rows for ``owner``, oldest first, at most one per chat (its head);
    ``skip_chats``: chats the caller is pacing. The lease is committed before anything is sent."""
    now = clock.now()
    # 1. Each chat's oldest pending row: one aggregate pass, a plan that stays cheap even when the
    #    planner's statistics are stale (an alert tick has just added thousands of rows).
    heads = select(func.min(OutboxMessage.id)).where(OutboxMessage.status == OutboxStatus.PENDING)
    if skip_chats:
        heads = heads.where(col(OutboxMessage.chat_id).not_in(list(skip_chats)))
    heads = heads.group_by(col(OutboxMessage.chat_id))
    async with uow:
        session = uow.session
        head_ids = sorted((await session.exec(heads)).all())
        rows: list[OutboxMessage] = []
        # 2. The due ones among them, by primary key, locked. PostgreSQL: rows another worker is
        #    leasing right now are skipped, not waited for, and the conditions are checked again on
        #    a row as that worker left it (a head sent meanwhile is no longer pending). SQLite ignores
        #    FOR UPDATE; its BEGIN IMMEDIATE serialises the lease transactions of its one worker.
        for start in range(0, len(head_ids), 500):
            chunk = head_ids[start:start + 500]
            rows += (
                await session.exec(
                    select(OutboxMessage)
                    .where(
                        col(OutboxMessage.id).in_(chunk),
                        OutboxMessage.status == OutboxStatus.PENDING,
                        OutboxMessage.next_attempt_at <= now,
                        or_(col(OutboxMessage.lease_expires_at).is_(None),
                            col(OutboxMessage.lease_expires_at) <= now),
                    )
                    .order_by(col(OutboxMessage.id))
                    .limit(limit - len(rows))
                    .with_for_update(skip_locked=True, of=OutboxMessage)  # type: ignore[arg-type]
                )
            ).all()
            if len(rows) >= limit:
                break
        if not rows:
            return []
        await session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_([row.id for row in rows]))
            .values(lease_owner=owner[:64], lease_expires_at=now + lease, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        await uow.commit()
    return [
        Delivery(r.id, r.chat_id, r.text, r.parse_mode, r.reply_markup, r.attempts + 1)  # type: ignore[arg-type]
        for r in rows
    ]


def _mine(row_id: int, owner: str) -> Any:
    return (OutboxMessage.id == row_id) & (OutboxMessage.lease_owner == owner[:64])


_UNLEASED: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}


async def _update(uow: UnitOfWork, where: Any, values: dict[str, Any]) -> int:
    async with uow:
        result = await uow.session.exec(  # type: ignore[call-overload]
            update(OutboxMessage).where(where).values(**values).execution_options(synchronize_session=False)
        )
        await uow.commit()
        return int(result.rowcount or 0)


async def mark_sent(row_id: int, message_id: int, *, uow: UnitOfWork, clock: Clock) -> None:
    await mark_sent_many([(row_id, message_id)], uow=uow, clock=clock)


async def mark_sent_many(sent: Sequence[tuple[int, int]], *, uow: UnitOfWork, clock: Clock) -> None:
    """Telegram accepted these messages: record each row's message id, in one transaction. A sent
    message is a fact, whoever leased the row (a row sent twice after an expired lease keeps the
    first message id)."""
    if not sent:
        return
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.status != OutboxStatus.SENT.value)
        .values(status=OutboxStatus.SENT.value, sent_at=clock.now(), telegram_message_id=bindparam("message_id"),
                last_error=None, **_UNLEASED)
    )
    async with uow:
        connection = await uow.session.connection()
        await connection.execute(statement, [{"row_id": r, "message_id": m} for r, m in sent])
        await uow.commit()


async def release(row_id: int, *, owner: str, uow: UnitOfWork) -> int:
    """Hand a leased row back unsent (worker stopping): due again at once, the attempt not counted."""
    return await _update(uow, _mine(row_id, owner), {"attempts": OutboxMessage.attempts - 1, **_UNLEASED})


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


async def retry_later(
    row_id: int, *, owner: str, uow: UnitOfWork, clock: Clock, error: str, after: timedelta | None = None,
    attempts: int, max_attempts: int,
) -> None:
    """Put a row back for a later attempt. ``after`` is a 429's retry_after: the wait Telegram asked
    for, and the attempt does not count. Otherwise (5xx, timeout) exponential backoff, and after
    ``max_attempts`` attempts the row fails."""
    values: dict[str, Any] = {"last_error": error[:500], **_UNLEASED}
    if after is not None:
        values |= {"next_attempt_at": clock.now() + after, "attempts": OutboxMessage.attempts - 1}
    elif max_attempts and attempts >= max_attempts:
        values |= {"status": OutboxStatus.FAILED}
    else:
        values |= {"next_attempt_at": clock.now() + backoff(attempts)}
    await _update(uow, _mine(row_id, owner), values)


async def give_up(row_id: int, *, owner: str, uow: UnitOfWork, error: str) -> None:
    """A request Telegram will never accept (400): stop trying this row."""
    await _update(uow, _mine(row_id, owner), {"status": OutboxStatus.FAILED, "last_error": error[:500], **_UNLEASED})


async def mark_unreachable(chat_id: int, *, uow: UnitOfWork, clock: Clock, error: str) -> int:
    """403: the user blocked the bot. Their pending rows stop, they are marked unreachable, and the
    admins who joined hear of it once per blocking (one outbox row each, in their language).
    Returns how many admins were told."""
    now = clock.now()
    async with uow:
        session = uow.session
        await session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id, OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.UNREACHABLE, last_error=error[:500], **_UNLEASED)
            .execution_options(synchronize_session=False)
        )
        person = (await session.exec(select(Person).where(Person.telegram_user_id == chat_id))).first()
        told = 0
        if person is not None and person.unreachable_at is None:
            person.unreachable_at = now
            session.add(person)
            await session.flush()
            if person.active:  # (nobody needs telling about someone who has left)
                told = await _tell_admins(session, clock, person)
        await uow.commit()
        return told


async def _tell_admins(session: AsyncSession, clock: Clock, blocked: Person) -> int:
    admins = (
        await session.exec(
            select(Person)
            .join(RoleMembership, col(RoleMembership.person_id) == col(Person.id))
            .where(
                RoleMembership.role == Role.ADMIN.value,
                col(Person.joined_at).is_not(None),
                col(Person.telegram_user_id).is_not(None),
                col(Person.unreachable_at).is_(None),
                Person.active == True,  # noqa: E712
                Person.id != blocked.id,
            )
            .distinct()
            .order_by(col(Person.id))
        )
    ).all()
    assert blocked.unreachable_at is not None
    # One notice per blocking: a person who rejoins (which clears unreachable_at) and blocks again
    # is a new event.
    key = f"unreachable:{blocked.id}:{blocked.unreachable_at.isoformat()}"
    told = 0
    for admin in admins:
        text = th("delivery.unreachable", normalise_language(admin.language), name=blocked.name, code=blocked.code)
        if await enqueue_to_person(session, clock, admin, text=text, kind=UNREACHABLE_KIND, dedup_key=key,
                                   parse_mode="HTML") is not None:
            told += 1
    return told


async def backlog(*, uow: UnitOfWork) -> int:
    async with uow:
        n = await uow.session.exec(
            select(func.count()).where(OutboxMessage.status == OutboxStatus.PENDING)
        )
        return int(n.one())
