"""PTB persistence for conversations only, on our own tables, as JSON (never pickle).

Handlers of a dialogue write the next state in the transaction of their effect (see
services/core/conversations.py); PTB's own writes (``update_conversation``) are the same value again,
or the end of a conversation. Bot, chat, user and callback data are not persisted: the database
is the state.
"""

from __future__ import annotations

import asyncio
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

from models.db import Database
from services.core import conversations
from services.core.clock import Clock


class DbPersistence(BasePersistence[dict, dict, dict]):
    def __init__(self, db: Database, clock: Clock) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=False, callback_data=False),
            update_interval=60,
        )
        self.db = db
        self.clock = clock
        self._pending: dict[tuple[str, str], object | None] = {}
        self._batch: asyncio.Future[None] | None = None

    async def get_conversations(self, name: str) -> dict:
        stored = await conversations.load(name, uow=self.db.read_uow())
        return {conversations.key_tuple(k): v for k, v in stored.items()}

    async def update_conversation(self, name: str, key: tuple[int | str, ...], new_state: object | None) -> None:
        """PTB hands over every changed conversation at once (each minute, and at stop): they are written
        together, in one transaction, instead of one transaction each."""
        self._pending[(name, conversations.key_text(key))] = new_state
        if self._batch is None:
            self._batch = asyncio.ensure_future(self._write_pending())
        await asyncio.shield(self._batch)

    async def _write_pending(self) -> None:
        await asyncio.sleep(0)  # the rest of this round is handed over meanwhile
        try:
            while self._pending:  # what came while writing goes in the next transaction
                pending, self._pending = self._pending, {}
                await conversations.save_many(pending, uow=self.db.uow(), clock=self.clock)
        finally:
            self._batch = None

    # Nothing else is persisted: PTB asks, we have nothing; PTB hands over, we keep nothing.
    async def get_user_data(self) -> dict[int, dict]:
        return {}

    async def get_chat_data(self) -> dict[int, dict]:
        return {}

    async def get_bot_data(self) -> dict:
        return {}

    async def get_callback_data(self) -> Any:
        return None

    async def update_user_data(self, user_id: int, data: dict) -> None:
        pass

    async def update_chat_data(self, chat_id: int, data: dict) -> None:
        pass

    async def update_bot_data(self, data: dict) -> None:
        pass

    async def update_callback_data(self, data: Any) -> None:
        pass

    async def drop_chat_data(self, chat_id: int) -> None:
        pass

    async def drop_user_data(self, user_id: int) -> None:
        pass

    async def refresh_user_data(self, user_id: int, user_data: dict) -> None:
        pass

    async def refresh_chat_data(self, chat_id: int, chat_data: dict) -> None:
        pass

    async def refresh_bot_data(self, bot_data: dict) -> None:
        pass

    async def flush(self) -> None:
        if self._batch is not None:
            await asyncio.shield(self._batch)
