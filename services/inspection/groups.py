"""A group upgraded to a supergroup gets a new chat id (Telegram says so in a service message, and answers
400 with ``migrate_to_chat_id`` to anything sent to the old id). Follow it: the bound group moves to the
new id (audited) and the messages still waiting for the old id go to the new one."""

from __future__ import annotations

from sqlmodel import col, select, update

from models.core import OutboxMessage
from models.db import UnitOfWork
from models.enums import OutboxStatus
from models.inspection import BoundGroup
from services.core import audit
from services.core.clock import Clock


async def follow(old_chat_id: int, new_chat_id: int, *, uow: UnitOfWork, clock: Clock) -> int:
    """Move the binding and the pending messages of ``old_chat_id`` to ``new_chat_id``; returns how many
    messages were re-addressed. Idempotent: the service message and the 400 may both report it."""
    if old_chat_id == new_chat_id:
        return 0
    async with uow:
        s = uow.session
        # Locked: the old chat's and the new chat's service messages are handled concurrently (two chats).
        old = (await s.exec(select(BoundGroup).where(BoundGroup.chat_id == old_chat_id).with_for_update())).first()
        if old is not None and old.active:
            new = await s.get(BoundGroup, new_chat_id) or BoundGroup(chat_id=new_chat_id)
            new.title, new.active = old.title, True
            new.bound_by_person_id, new.bound_at = old.bound_by_person_id, old.bound_at
            old.active = False
            s.add_all([old, new])
            audit.record(s, clock, actor="telegram", action="group.migrate", entity="group", key=str(old_chat_id),
                         before={"chat_id": old_chat_id}, after={"chat_id": new_chat_id, "title": new.title})
        moved = await s.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(col(OutboxMessage.chat_id) == old_chat_id, col(OutboxMessage.status) == OutboxStatus.PENDING)
            .values(chat_id=new_chat_id, lease_owner=None, lease_expires_at=None, next_attempt_at=clock.now())
            .execution_options(synchronize_session=False)
        )
        await uow.commit()
        return int(moved.rowcount or 0)
