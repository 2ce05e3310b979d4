"""Conversation states kept in our tables (JSON), written in the transaction of the step's effect."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import tuple_
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.core import ConversationState
from models.db import UnitOfWork
from services.core.clock import Clock


@dataclass(frozen=True)
class ConvRef:
    """Which PTB conversation this dialogue is (its key as the persistence stores it)."""

    key: str
    chat_id: int
    user_id: int


def key_text(key: tuple[int | str, ...]) -> str:
    return json.dumps(list(key), separators=(",", ":"))


def key_tuple(text: str) -> tuple[int | str, ...]:
    return tuple(json.loads(text))


_READ = "duban_conversation_rows"  # session.info: the rows this transaction read or wrote, by (name, key)


async def rows(session: AsyncSession, key: str, names: list[str], *, lock: bool = False
               ) -> dict[str, ConversationState | None]:
    """The rows of one conversation key under ``names``, in one read (``lock``: FOR UPDATE); kept for the
    rest of the transaction, so that ``put`` on them reads nothing again."""
    query = select(ConversationState).where(ConversationState.conv_key == key,
                                            col(ConversationState.name).in_(names))
    found = {row.name: row for row in (await session.exec(query.with_for_update() if lock else query)).all()}
    kept = session.info.setdefault(_READ, {})
    for name in names:
        kept[(name, key)] = found.get(name)
    return {name: found.get(name) for name in names}


async def _row(session: AsyncSession, name: str, key: str) -> ConversationState | None:
    kept = session.info.setdefault(_READ, {})
    if (name, key) not in kept:
        kept[(name, key)] = (await session.exec(
            select(ConversationState).where(ConversationState.name == name, ConversationState.conv_key == key)
        )).first()
    return kept[(name, key)]


async def put(session: AsyncSession, clock: Clock, name: str, key: str, state: Any) -> None:
    """Set (or, with None, end) one conversation's state in the caller's transaction."""
    row = await _row(session, name, key)
    if state is None:
        if row is not None:
            await session.exec(delete(ConversationState).where(ConversationState.id == row.id))  # type: ignore[arg-type]
            session.info[_READ][(name, key)] = None
        return
    if row is None:
        row = ConversationState(name=name, conv_key=key, state=state, updated_at=clock.now())
        session.add(row)
        await session.flush()  # a second put in this transaction finds it (the session does not autoflush)
        session.info[_READ][(name, key)] = row
    elif row.state != state:
        row.state = state
        row.updated_at = clock.now()
        session.add(row)


async def save_many(states: dict[tuple[str, str], Any], *, uow: UnitOfWork, clock: Clock) -> None:
    """Set many conversations' states ((name, key) -> state, None ends one) in one transaction, one read."""
    if not states:
        return
    async with uow:
        s = uow.session
        pairs = list(states)
        found = (await s.exec(select(ConversationState).where(
            tuple_(ConversationState.name, ConversationState.conv_key).in_(pairs)))).all()
        kept = s.info.setdefault(_READ, {})
        for pair in pairs:
            kept[pair] = None
        for row in found:
            kept[(row.name, row.conv_key)] = row
        for (name, key), state in states.items():
            await put(s, clock, name, key, state)
        await uow.commit()


async def save(name: str, key: str, state: Any, *, uow: UnitOfWork, clock: Clock) -> None:
    async with uow:
        await put(uow.session, clock, name, key, state)
        await uow.commit()


async def load(name: str, *, uow: UnitOfWork) -> dict[str, Any]:
    async with uow:
        rows = (await uow.session.exec(select(ConversationState).where(ConversationState.name == name))).all()
        return {row.conv_key: row.state for row in rows}
