"""The person behind an update: registered and active, or a refusal that ends any dialogue."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.people import Person
from services.core.errors import Deactivated, NotRegistered


async def active_person(session: AsyncSession, telegram_user_id: int) -> Person:
    """The registered, active person behind a Telegram account; NotRegistered or Deactivated otherwise."""
    person = (await session.exec(select(Person).where(Person.telegram_user_id == telegram_user_id))).first()
    if person is None:
        raise NotRegistered
    if not person.active:
        raise Deactivated
    return person
