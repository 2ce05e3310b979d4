"""Group chats: where published notices go, and nothing else (the bot acts on nothing else in groups).

- ``/bindgroup`` / ``/unbindgroup`` by an active admin bind a group (notices are published there) or unbind it.
- The bot stays only in groups an active admin added it to: when anyone else adds it, it leaves (the
  handler does) and the admins are told who tried, audited. Removed from a bound group, the binding ends.
- A group upgraded to a supergroup gets a new chat id (Telegram says so in a service message, and answers
  400 with ``migrate_to_chat_id`` to anything sent to the old id). The binding follows it (audited) and
  the messages still waiting for the old id go to the new one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import th
from models.core import OutboxMessage
from models.db import UnitOfWork
from models.enums import OutboxStatus, Role
from models.inspection import BoundGroup
from models.people import Person, RoleMembership
from services.core import audit, outbox, updates
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.errors import DomainError


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


async def _admin(s: AsyncSession, user_id: int) -> Person:
    """The active admin behind a Telegram account; DomainError ``notice.group_refused`` otherwise."""
    try:
        person = await active_person(s, user_id)
    except DomainError:
        raise DomainError("notice.group_refused") from None
    if (await s.exec(select(RoleMembership.id).where(
            RoleMembership.person_id == person.id, RoleMembership.role == Role.ADMIN.value))).first() is None:
        raise DomainError("notice.group_refused")
    return person


async def active_admins(s: AsyncSession) -> list[Person]:
    """Admins who are active and joined (reachable through the outbox)."""
    return list((await s.exec(select(Person).join(RoleMembership, col(RoleMembership.person_id) == col(Person.id))
                              .where(RoleMembership.role == Role.ADMIN.value, Person.active == True,  # noqa: E712
                                     col(Person.joined_at).is_not(None))
                              .order_by(col(Person.id)).distinct())).all())


async def bind_group(chat_id: int, title: str, *, user_id: int, update_id: int | None, uow: UnitOfWork,
                     clock: Clock) -> bool:
    """/bindgroup by an active admin: published notices go to this chat. False if it was bound already."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        person = await _admin(s, user_id)
        group = await s.get(BoundGroup, chat_id)
        if group is not None and group.active:
            if title and group.title != title[:200]:
                group.title = title[:200]
                s.add(group)
                await uow.commit()
            return False
        before = {"active": False, "title": group.title} if group is not None else None
        group = group or BoundGroup(chat_id=chat_id)
        group.title, group.active = title[:200], True
        group.bound_by_person_id, group.bound_at = person.id, clock.now()
        s.add(group)
        audit.record(s, clock, actor=f"person:{person.code}", action="group.bind", entity="group", key=str(chat_id),
                     before=before, after={"active": True, "title": group.title})
        await uow.commit()
        return True


async def unbind_group(chat_id: int, *, user_id: int, update_id: int | None, uow: UnitOfWork, clock: Clock) -> bool:
    """/unbindgroup by an active admin: no more notices here. False if it was not bound."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        person = await _admin(s, user_id)
        group = await s.get(BoundGroup, chat_id)
        if group is None or not group.active:
            return False
        group.active = False
        s.add(group)
        audit.record(s, clock, actor=f"person:{person.code}", action="group.unbind", entity="group",
                     key=str(chat_id), before={"active": True, "title": group.title}, after={"active": False})
        await uow.commit()
        return True


@dataclass(frozen=True)
class Membership:
    """What the bot does about being added to (or removed from) a group."""
    stay: bool  # False: leave the group now
    admins_told: int = 0


async def bot_added(chat_id: int, title: str, *, by_user_id: int, by_name: str, update_id: int | None,
                    uow: UnitOfWork, clock: Clock) -> Membership:
    """The bot was added to a group by ``by_user_id``. An active admin: it stays (audited). Anyone else: it
    leaves, and every active admin is told who tried (audited); nothing of the group is kept."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        try:
            person: Person | None = await _admin(s, by_user_id)
        except DomainError:
            person = None
        if person is not None:
            audit.record(s, clock, actor=f"person:{person.code}", action="group.joined", entity="group",
                         key=str(chat_id), after={"title": title[:200]})
            await uow.commit()
            return Membership(stay=True)
        known = (await s.exec(select(Person).where(Person.telegram_user_id == by_user_id))).first()
        who = f"{known.name} ({known.code})" if known is not None else f"{by_name} (Telegram {by_user_id})"
        audit.record(s, clock, actor=f"telegram:{by_user_id}", action="group.refused", entity="group",
                     key=str(chat_id), after={"title": title[:200], "added_by": who})
        admins = await active_admins(s)
        for admin in admins:
            await outbox.enqueue_to_person(s, clock, admin, kind="group.refused", parse_mode="HTML",
                                           dedup_key=f"group:{chat_id}:refused:{update_id}",
                                           text=th("group.left", admin.language or "", title=title, name=who))
        await uow.commit()
        return Membership(stay=False, admins_told=len(admins))


async def bot_removed(chat_id: int, *, by_user_id: int, update_id: int | None, uow: UnitOfWork,
                      clock: Clock) -> bool:
    """The bot was removed from a group (or left it): its binding ends (audited). False if it was not bound."""
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        group = await s.get(BoundGroup, chat_id)
        if group is None or not group.active:
            await uow.commit()
            return False
        group.active = False
        s.add(group)
        audit.record(s, clock, actor=f"telegram:{by_user_id}", action="group.removed", entity="group",
                     key=str(chat_id), before={"active": True, "title": group.title}, after={"active": False})
        await uow.commit()
        return True
