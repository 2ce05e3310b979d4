"""Data types and the user side (users, groups) of :mod:`bot.sandbox.botapi.server` (request parsing:
:mod:`bot.sandbox.botapi.params`)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.botapi.params import CURRENT_REQUEST, Uploaded, parse_params
from bot.sandbox.botapi.text import utf16_len

__all__ = ["CURRENT_REQUEST", "Uploaded", "parse_params"]  # re-exported for the server and its methods

FakeBotAPI = Any  # bot/sandbox/botapi/server.py (not imported: it imports this module)


class FakeApiError(Exception):
    """Raise from a method handler to answer ``{"ok": false, ...}`` with ``status``."""

    def __init__(self, status: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters


@dataclass
class FakeFile:
    """A file in the fake's store; downloadable at ``/file/bot<token>/<file_path>``."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes = field(repr=False)
    file_name: str | None = None
    mime_type: str | None = None

    def as_dict(self) -> dict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


class UserMessage(dict):
    """The message dict a user sent (as queued in the update).  ``msg["update_id"]`` and
    ``msg.update_id`` give the id of the update that carried it (not part of the JSON)."""

    def __init__(self, message: dict, update_id: int) -> None:
        super().__init__(message)
        self.update_id = update_id

    def __missing__(self, key: str) -> Any:
        if key == "update_id":
            return self.update_id
        raise KeyError(key)


@dataclass(eq=False)
class SentMessage:
    """A message the bot sent.  ``text`` is the raw text/caption as sent (markup included,
    kept current by edits); ``plain_text`` is what Telegram would show."""

    message_id: int
    chat_id: int
    text: str | None
    reply_markup: dict | None
    parse_mode: str | None
    method: str
    params: dict = field(repr=False)
    message: dict = field(default_factory=dict, repr=False)  # Message object, kept current
    seq: int = 0
    edits: list[dict] = field(default_factory=list, repr=False)
    deleted: bool = False
    file_id: str | None = None

    @property
    def plain_text(self) -> str | None:
        return self.message.get("text", self.message.get("caption"))

    def button_rows(self) -> list[list[tuple[str, str | None]]]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(b.get("text"), b.get("callback_data", b.get("url"))) for b in row] for row in rows]

    def buttons(self) -> list[tuple[str, str | None]]:
        """Flat ``[(text, callback_data or url), ...]`` of the current inline keyboard."""
        return [button for row in self.button_rows() for button in row]

    def keyboard(self) -> list[str]:
        """Texts of a reply keyboard (``ReplyKeyboardMarkup``), flat."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [b if isinstance(b, str) else b.get("text") for row in rows for b in row]

    def summary(self) -> str:
        extra = f" buttons={self.buttons()}" if self.buttons() else ""
        extra += f" edits={len(self.edits)}" if self.edits else ""
        extra += " DELETED" if self.deleted else ""
        return f"#{self.message_id} -> {self.chat_id} {self.method}: {self.text!r}{extra}"


class _ChatView:
    """Common user-side helpers of a chat: sending, pressing, awaiting replies."""

    def __init__(self, fake: FakeBotAPI, chat: dict) -> None:
        self.fake, self.chat, self.chat_id = fake, chat, chat["id"]
        self.last_callback_id: str | None = None
        self._mark = 0  # replies must be newer than the last action of this view
        self._consumed = 0
        self._edits_consumed: dict[int, int] = {}

    def replies(self) -> list[SentMessage]:
        """All messages the bot sent to this chat."""
        return self.fake.messages_to(self.chat_id)

    async def wait_reply(
        self, predicate: Callable[[SentMessage], bool] | None = None, timeout: float = 10.0
    ) -> SentMessage:
        """Next message to this chat sent after the last action and after the last
        message returned by ``wait_reply``; messages skipped by ``predicate`` count as read."""
        return (await self.wait_replies(1, timeout, predicate))[0]

    async def wait_replies(
        self,
        n: int,
        timeout: float = 10.0,
        predicate: Callable[[SentMessage], bool] | None = None,
    ) -> list[SentMessage]:
        floor = max(self._mark, self._consumed)

        def check() -> list[SentMessage] | None:
            found = [
                m
                for m in self.fake.sent
                if m.chat_id == self.chat_id and m.seq > floor and (predicate is None or predicate(m))
            ]
            return found[:n] if len(found) >= n else None

        what = f"{n} new message(s) to chat {self.chat_id}{' matching predicate' if predicate else ''}"
        found = await self.fake.wait_until(check, timeout, what)
        self._consumed = found[-1].seq
        return found

    async def wait_edit(
        self, message: SentMessage | int, predicate: Callable[[SentMessage], bool] | None = None, timeout: float = 10.0
    ) -> SentMessage:
        """Wait until ``message`` is edited after the last action (and after the last edit
        returned for it); ``predicate`` sees the edited message."""
        msg = self._resolve(message)
        floor = max(self._mark, self._edits_consumed.get(msg.message_id, 0))

        def check() -> SentMessage | None:
            if msg.edits and msg.edits[-1]["seq"] > floor and (predicate is None or predicate(msg)):
                return msg
            return None

        await self.fake.wait_until(check, timeout, f"an edit of message {msg.message_id}")
        self._edits_consumed[msg.message_id] = msg.edits[-1]["seq"]
        return msg

    async def wait_deleted(self, message: SentMessage | int, timeout: float = 10.0) -> None:
        msg = self._resolve(message)
        await self.fake.wait_until(lambda: msg.deleted, timeout, f"deletion of {msg.message_id}")

    async def wait_callback_answer(self, timeout: float = 10.0) -> dict:
        """``answerCallbackQuery`` params for the last press in this chat."""
        query_id = self.last_callback_id
        if query_id is None:
            raise AssertionError("no button was pressed in this chat")
        return await self.fake.wait_until(
            lambda: self.fake.callback_answers.get(query_id), timeout, f"answerCallbackQuery({query_id})"
        )

    # ---------------------------------------------------------------- internals
    def _resolve(self, message: SentMessage | int) -> SentMessage:
        if isinstance(message, SentMessage):
            return message
        msg = self.fake.messages.get((self.chat_id, message))
        if msg is None:
            raise AssertionError(f"the bot sent no message {message} to chat {self.chat_id}")
        return msg

    def _acted(self) -> None:
        self._mark = self.fake._seq

    async def _post(self, sender: dict, content: dict, reply_to: Any = None) -> dict:
        fake = self.fake
        msg = {
            "message_id": fake._new_message_id(self.chat_id),
            "from": dict(sender),
            "chat": dict(self.chat),
            "date": fake._now(),
            **content,
        }
        if reply_to is not None:
            mid = reply_to.message_id if isinstance(reply_to, SentMessage) else reply_to
            original = fake._find_message(self.chat_id, mid)
            if original is None:
                raise AssertionError(f"no message {mid} in chat {self.chat_id} to reply to")
            msg["reply_to_message"] = original
        fake.user_messages[(self.chat_id, msg["message_id"])] = msg
        self._acted()
        update = await fake._enqueue("message", msg)
        return UserMessage(msg, update_id=update["update_id"])

    async def _send_text(self, sender: dict, text: str, reply_to: Any = None) -> dict:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            word = text.split(maxsplit=1)[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(word)}]
        return await self._post(sender, content, reply_to)

    async def _press(self, sender: dict, message: SentMessage | int, callback_data: str) -> dict:
        msg = self._resolve(message)
        if msg.deleted:
            raise AssertionError(f"message {msg.message_id} was deleted; cannot press its buttons")
        inline = (msg.message.get("reply_markup") or {}).get("inline_keyboard") or []
        datas = [b.get("callback_data") for row in inline for b in row]
        if callback_data not in datas:
            raise AssertionError(
                f"no button with callback_data {callback_data!r} in message {msg.message_id}; buttons: {msg.buttons()}"
            )
        fake = self.fake
        fake._counter += 1
        query_id = str(4_000_000_000_000_000 + fake._counter)
        query = {
            "id": query_id,
            "from": dict(sender),
            "message": copy.deepcopy(msg.message),
            "chat_instance": str(abs(self.chat_id) * 7919),
            "data": callback_data,
        }
        fake.callback_queries[query_id] = query
        self.last_callback_id = query_id
        self._acted()
        return await fake._enqueue("callback_query", query)

    def _button_data(self, message: SentMessage | int, text: str) -> str:
        msg = self._resolve(message)
        exact = [d for t, d in msg.buttons() if t == text]
        fuzzy = [d for t, d in msg.buttons() if text in (t or "")]
        found = exact or fuzzy
        if len(found) != 1:
            raise AssertionError(f"{len(found)} buttons match {text!r}: {msg.buttons()}")
        return str(found[0])


class FakeUser(_ChatView):
    """A Telegram user and its private chat with the bot (chat id == user id)."""

    def __init__(
        self,
        fake: FakeBotAPI,
        user_id: int,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh",
    ) -> None:
        self.id = user_id
        self.user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
        for key, value in (("last_name", last_name), ("username", username)):
            if value is not None:
                self.user[key] = chat[key] = value
        if language_code is not None:
            self.user["language_code"] = language_code
        super().__init__(fake, chat)

    async def send_text(self, text: str, *, reply_to: SentMessage | int | None = None) -> UserMessage:
        """Queue a text message (``bot_command`` entity for ``/cmd``); return the message."""
        return await self._send_text(self.user, text, reply_to)

    async def press(self, message: SentMessage | int, callback_data: str) -> dict:
        """Press an inline button (must exist in the message's current keyboard)."""
        return await self._press(self.user, message, callback_data)

    async def press_button(self, message: SentMessage | int, text: str) -> dict:
        """Press the inline button whose text equals (or uniquely contains) ``text``."""
        return await self.press(message, self._button_data(message, text))

    async def send_photo(self, data: bytes, caption: str | None = None) -> dict:
        content: dict[str, Any] = {"photo": self.fake._photo_sizes(self.fake._store_file(data, "photo"))}
        if caption is not None:
            content["caption"] = caption
        return await self._post(self.user, content)

    async def send_document(self, data: bytes, file_name: str, mime_type: str, caption: str | None = None) -> dict:
        rec = self.fake._store_file(data, "document", file_name, mime_type)
        content: dict[str, Any] = {"document": self.fake._document_dict(rec)}
        if caption is not None:
            content["caption"] = caption
        return await self._post(self.user, content)

    async def send_location(
        self,
        latitude: float,
        longitude: float,
        horizontal_accuracy: float | None = None,
        forwarded: bool = False,
        live_period: int | None = None,
    ) -> dict:
        location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        if horizontal_accuracy is not None:
            location["horizontal_accuracy"] = horizontal_accuracy
        if live_period is not None:
            location["live_period"] = live_period
        content: dict[str, Any] = {"location": location}
        if forwarded:
            origin_user = {"id": 777_000_001, "is_bot": False, "first_name": "Forwarded"}
            content["forward_origin"] = {"type": "user", "sender_user": origin_user, "date": self.fake._now() - 60}
        return await self._post(self.user, content)


class FakeGroup(_ChatView):
    """A group chat (supergroup when the id starts with -100) where users write."""

    def __init__(self, fake: FakeBotAPI, chat_id: int, title: str) -> None:
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        super().__init__(fake, {"id": chat_id, "type": kind, "title": title})

    async def send_text(self, user: FakeUser, text: str, *, reply_to: SentMessage | int | None = None) -> dict:
        return await self._send_text(user.user, text, reply_to)

    async def press(self, user: FakeUser, message: SentMessage | int, callback_data: str) -> dict:
        return await self._press(user.user, message, callback_data)

    async def add_bot(self, user: FakeUser, status: str = "member") -> dict:
        """``user`` adds the bot to this group: Telegram sends the bot a ``my_chat_member`` update."""
        return await self._membership(user, "left", status)

    async def remove_bot(self, user: FakeUser) -> dict:
        """``user`` removes the bot from this group."""
        return await self._membership(user, "member", "left")

    async def _membership(self, user: FakeUser, old: str, new: str) -> dict:
        fake = self.fake
        bot = fake._bot_user()
        change = {"chat": dict(self.chat), "from": dict(user.user), "date": fake._now(),
                  "old_chat_member": {"user": bot, "status": old},
                  "new_chat_member": {"user": bot, "status": new}}
        if new == "left":
            fake.left_chats.add(self.chat_id)
        else:
            fake.left_chats.discard(self.chat_id)
        self._acted()
        return await fake._enqueue("my_chat_member", change)

    async def upgrade(self, user: FakeUser, new_chat_id: int) -> FakeGroup:
        """The group becomes a supergroup with a new id, as Telegram does it: a service message in each
        chat, and anything sent to the old id answers 400 with ``migrate_to_chat_id``."""
        new = self.fake.group(new_chat_id, self.chat["title"])
        self.fake.migrated[self.chat_id] = new_chat_id
        await self._post(user.user, {"migrate_to_chat_id": new_chat_id})
        await new._post(user.user, {"migrate_from_chat_id": self.chat_id})
        return new
