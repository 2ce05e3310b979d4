"""What a process does to the outbox when it becomes a county's active bot (bot/serve/runner.py).

It holds the county's lock (bot/serve/failover.py), so it is the only delivery worker of that database:
any lease still on a row was left by a holder that died or was cut off. Such rows were in flight
(perhaps sent, not yet marked): they are handed back at once instead of after their lease
(services/outbox.LEASE), so a takeover delivers them within seconds. They are exactly the rows that
may reach a chat twice; every other row is sent once.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col, select

from models.core import OutboxMessage
from models.db import UnitOfWork
from models.enums import OutboxStatus


async def release_orphaned_leases(*, uow: UnitOfWork) -> list[int]:
    """Clear every lease on a pending row; returns the ids of those rows (the attempts stay counted)."""
    async with uow:
        session = uow.session
        ids = list((await session.exec(
            select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.PENDING,
                                           col(OutboxMessage.lease_owner).is_not(None))
            .order_by(col(OutboxMessage.id))
        )).all())
        if ids:
            await session.exec(  # type: ignore[call-overload]
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_(ids), OutboxMessage.status == OutboxStatus.PENDING)
                .values(lease_owner=None, lease_expires_at=None)
                .execution_options(synchronize_session=False)
            )
            await uow.commit()
        return [i for i in ids if i is not None]
