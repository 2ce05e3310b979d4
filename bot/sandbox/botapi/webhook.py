"""Webhook delivery for :class:`bot.sandbox.botapi.server.FakeBotAPI`, as Telegram does it.

While a webhook is set (``setWebhook`` with a ``url``), every pending update is POSTed to the URL as
JSON, with ``X-Telegram-Bot-Api-Secret-Token`` when a ``secret_token`` was given. A 2xx answer
confirms the update (it leaves ``pending_updates``; ``confirmed_offset`` moves past it); anything
else, or a connection error, leaves it pending and it is tried again after a growing pause
(0.05 s, 0.1 s, ... at most 1 s). One update of a chat at a time, in order; up to
``max_connections`` (default 40) requests at once over all chats. ``redeliver()`` works here too.
Every attempt is recorded in ``fake.webhook_attempts`` as (update_id, HTTP status or 0 for a
connection error); ``getUpdates`` answers 409 while a webhook is set, as Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import aiohttp

FakeBotAPI = Any  # bot/sandbox/botapi/server.py (not imported: it imports this module)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _chat_of(update: dict) -> Any:
    for value in update.values():
        if isinstance(value, dict):
            chat = value.get("chat") or (value.get("message") or {}).get("chat")
            if chat:
                return chat.get("id")
            sender = value.get("from")
            if sender:
                return sender.get("id")
    return None


class WebhookPusher:
    """The delivery loop; one per fake, running while a webhook is set."""

    def __init__(self, fake: FakeBotAPI) -> None:
        self.fake = fake
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._inflight: dict[Any, asyncio.Task[None]] = {}  # chat -> its request
        self._failures: dict[int, int] = {}  # update id -> failed attempts in a row
        self._not_before: dict[int, float] = {}
        self._forced: list[dict] = []

    def ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="fakebot-webhook")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _active(self) -> dict | None:
        hook = self.fake.webhook
        return hook if hook and hook.get("url") and not self.fake._closing.is_set() else None

    def _due(self, limit: int) -> list[dict]:
        """Updates to POST now: forced ones first, then each idle chat's oldest pending update."""
        fake, now, chosen, busy = self.fake, time.monotonic(), [], set(self._inflight)
        self._forced += fake._forced
        fake._forced = []
        for update in [*self._forced, *fake.pending_updates]:
            chat = _chat_of(update)
            if len(chosen) + len(self._inflight) >= limit:
                break
            if chat in busy:
                continue
            busy.add(chat)  # a chat's later updates wait for this one
            if self._not_before.get(update["update_id"], 0.0) <= now:
                chosen.append(update)
        return chosen

    async def _run(self) -> None:
        fake = self.fake
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        try:
            while (hook := self._active()) is not None:
                for update in self._due(int(hook.get("max_connections") or 40)):
                    chat = _chat_of(update)
                    self._inflight[chat] = asyncio.create_task(self._post(hook, update, chat))
                waits = [t - time.monotonic() for t in self._not_before.values()]
                timeout = max(0.01, min(waits)) if waits else 1.0
                async with fake._cond:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(fake._cond.wait(), timeout)
        finally:
            for task in self._inflight.values():
                task.cancel()
            await asyncio.gather(*self._inflight.values(), return_exceptions=True)
            self._inflight.clear()
            await self._session.close()

    async def _post(self, hook: dict, update: dict, chat: Any) -> None:
        fake, uid = self.fake, update["update_id"]
        headers = {"Content-Type": "application/json"}
        if hook.get("secret_token"):
            headers[SECRET_HEADER] = str(hook["secret_token"])
        fake.delivery_counts[uid] = fake.delivery_counts.get(uid, 0) + 1
        try:
            assert self._session is not None
            async with self._session.post(hook["url"], data=json.dumps(update), headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        finally:
            self._inflight.pop(chat, None)
        fake.webhook_attempts.append((uid, status))
        if 200 <= status < 300:
            self._failures.pop(uid, None)
            self._not_before.pop(uid, None)
            if update in self._forced:
                self._forced.remove(update)
            else:
                fake.pending_updates = [u for u in fake.pending_updates if u["update_id"] != uid]
                fake.confirmed_offset = max(fake.confirmed_offset, uid + 1)
        else:
            n = self._failures[uid] = self._failures.get(uid, 0) + 1
            self._not_before[uid] = time.monotonic() + min(1.0, 0.05 * 2 ** (n - 1))
        await fake._notify()
