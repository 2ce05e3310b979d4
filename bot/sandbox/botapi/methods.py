"""Bot API method handlers of :class:`bot.sandbox.botapi.server.FakeBotAPI` (mixed into it).

Each ``_m_<method>(params)`` returns the ``result`` of Telegram's envelope or raises
:class:`FakeApiError` with Telegram's status and description.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import re
from collections.abc import Callable
from typing import Any

from bot.sandbox.botapi.chats import CURRENT_REQUEST, FakeApiError, FakeFile, SentMessage, Uploaded
from bot.sandbox.botapi.settings import BotSettingsMixin
from bot.sandbox.botapi.text import TextError, check_reply_markup, check_text

# the server (bot/sandbox/botapi/server.py) mixes this in; it is not imported here, so that the modules of
# the package import each other in one direction only
_Base = object

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a message content and reply markup of the current message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_UNSET: Any = object()


def _checked(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except TextError as exc:
        raise FakeApiError(400, str(exc)) from None


def _inline(markup: Any) -> dict | None:
    """The inline keyboard Telegram keeps on a message (None when absent or empty)."""
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return markup
    return None


class MethodsMixin(BotSettingsMixin, _Base):
    METHODS = {
        name.lower(): name
        for name in (
            "getMe",
            "getUpdates",
            "sendMessage",
            "editMessageText",
            "editMessageReplyMarkup",
            "editMessageCaption",
            "answerCallbackQuery",
            "sendPhoto",
            "sendDocument",
            "getFile",
            "setMyCommands",
            "deleteMyCommands",
            "getMyCommands",
            "deleteWebhook",
            "setWebhook",
            "getWebhookInfo",
            "sendChatAction",
            "deleteMessage",
            "leaveChat",
            "logOut",
            "close",
        )
    }

    # ------------------------------------------------------------------ helpers
    def _bot_user(self) -> dict:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_first_name, "username": self.bot_username}

    def _chat_for(self, params: dict) -> dict:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise FakeApiError(400, "Bad Request: chat_id is empty")
        chat = self.chats.get(chat_id)
        if chat is None and self.auto_create_chats and isinstance(chat_id, int) and chat_id > 0:
            chat = self.chats[chat_id] = {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        if chat is None:
            raise FakeApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            raise FakeApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.left_chats:
            raise FakeApiError(403, "Forbidden: bot is not a member of the group chat")
        if chat_id in self.migrated:
            raise FakeApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                               {"migrate_to_chat_id": self.migrated[chat_id]})
        return chat

    def _find_message(self, chat_id: int, message_id: Any) -> dict | None:
        sent = self.messages.get((chat_id, message_id))
        if sent is not None and not sent.deleted:
            msg = copy.deepcopy(sent.message)
        elif (chat_id, message_id) in self.user_messages:
            msg = copy.deepcopy(self.user_messages[(chat_id, message_id)])
        else:
            return None
        msg.pop("reply_to_message", None)
        return msg

    def _base_message(self, chat: dict, params: dict) -> dict:
        msg: dict[str, Any] = {"message_id": 0, "from": self._bot_user(), "chat": dict(chat), "date": self._now()}
        reply = params.get("reply_parameters") or {}
        reply_id = reply.get("message_id") if isinstance(reply, dict) else None
        reply_id = reply_id or params.get("reply_to_message_id")
        if reply_id:
            original = self._find_message(chat["id"], reply_id)
            if original is not None:
                msg["reply_to_message"] = original
            elif not (reply.get("allow_sending_without_reply") or params.get("allow_sending_without_reply")):
                raise FakeApiError(400, "Bad Request: message to be replied not found")
        if params.get("message_thread_id"):
            msg["message_thread_id"] = params["message_thread_id"]
        msg["message_id"] = self._new_message_id(chat["id"])
        return msg

    def _record(self, method: str, params: dict, msg: dict, text: str | None, file_id: str | None = None) -> dict:
        markup = params.get("reply_markup")
        if _inline(markup):
            msg["reply_markup"] = markup
        if params.get("entities"):
            msg["entities"] = params["entities"]
        if params.get("caption_entities"):
            msg["caption_entities"] = params["caption_entities"]
        sent = SentMessage(
            msg["message_id"],
            msg["chat"]["id"],
            text,
            markup,
            params.get("parse_mode"),
            method,
            params,
            msg,
            self._bump_seq(),
            file_id=file_id,
        )
        self.sent.append(sent)
        self.messages[(sent.chat_id, sent.message_id)] = sent
        self._emit("sent", sent)
        return copy.deepcopy(msg)

    def _photo_sizes(self, rec: FakeFile) -> list[dict]:
        thumb = self._store_file(rec.data, "photo")
        return [
            {
                "file_id": thumb.file_id,
                "file_unique_id": thumb.file_unique_id,
                "file_size": len(thumb.data),
                "width": 90,
                "height": 90,
            },
            {
                "file_id": rec.file_id,
                "file_unique_id": rec.file_unique_id,
                "file_size": len(rec.data),
                "width": 1280,
                "height": 960,
            },
        ]

    @staticmethod
    def _document_dict(rec: FakeFile) -> dict:
        doc = {"file_id": rec.file_id, "file_unique_id": rec.file_unique_id, "file_size": len(rec.data)}
        if rec.file_name:
            doc["file_name"] = rec.file_name
        if rec.mime_type:
            doc["mime_type"] = rec.mime_type
        return doc

    def _input_file(self, params: dict, field: str, kind: str) -> FakeFile:
        value = params.get(field)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value[len("attach://") :])
        if isinstance(value, Uploaded):
            return self._store_file(value.data, kind, value.filename, value.content_type)
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        if isinstance(value, str) and re.match(r"^https?://", value):
            return self._store_file(b"", kind, value.rsplit("/", 1)[-1] or None)
        if value in (None, ""):
            raise FakeApiError(400, f"Bad Request: there is no {field} in the request")
        raise FakeApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _edit_target(self, params: dict) -> SentMessage:
        if params.get("inline_message_id"):
            raise FakeApiError(400, "Bad Request: inline messages are not supported by the fake")
        chat = self._chat_for(params)
        key = (chat["id"], params.get("message_id"))
        sent = self.messages.get(key)
        if sent is None or sent.deleted:
            if key in self.user_messages:
                raise FakeApiError(400, "Bad Request: message can't be edited")
            raise FakeApiError(400, "Bad Request: message to edit not found")
        return sent

    def _apply_edit(
        self, sent: SentMessage, method: str, params: dict, markup: Any, text: Any = _UNSET, plain: str | None = None
    ) -> dict:
        if text is not _UNSET:
            field = "text" if "text" in sent.message else "caption"
            entities = "entities" if field == "text" else "caption_entities"
            new_entities = params.get(entities)
            if (text, _inline(markup), new_entities) == (
                sent.text,
                _inline(sent.message.get("reply_markup")),
                sent.message.get(entities),
            ):
                raise FakeApiError(400, NOT_MODIFIED)
        elif _inline(markup) == _inline(sent.message.get("reply_markup")):
            raise FakeApiError(400, NOT_MODIFIED)
        sent.edits.append(
            {
                "method": method,
                "params": params,
                "seq": self._bump_seq(),
                "old_text": sent.text,
                "old_reply_markup": sent.reply_markup,
            }
        )
        if text is not _UNSET:
            sent.text, sent.parse_mode = text, params.get("parse_mode")
            sent.message[field] = plain
            sent.message.pop(entities, None)
            if new_entities:
                sent.message[entities] = new_entities
        sent.reply_markup = _inline(markup)
        sent.message.pop("reply_markup", None)
        if _inline(markup):
            sent.message["reply_markup"] = markup
        sent.message["edit_date"] = self._now()
        self._emit("edited", sent)
        return copy.deepcopy(sent.message)

    # ------------------------------------------------------------------ methods
    @staticmethod
    def _client_gone() -> bool:
        request = CURRENT_REQUEST.get()
        return request is not None and request.transport is None

    def _m_getMe(self, p: dict) -> dict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_getUpdates(self, p: dict) -> list[dict]:
        if self.webhook and self.webhook.get("url"):
            raise FakeApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is "
                "active; use deleteWebhook to delete the webhook first",
            )
        offset = int(p.get("offset") or 0)
        limit = max(1, min(100, int(p.get("limit") or 100)))
        timeout = max(0.0, float(p.get("timeout") or 0))
        self._poll_generation += 1
        generation = self._poll_generation
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self._cond:
            if offset > 0:
                self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]
                if offset > self.confirmed_offset:
                    self.confirmed_offset = offset
                    self._emit("confirmed", offset)
            self._cond.notify_all()
            while True:
                if self.emulate_conflict and generation != self._poll_generation:
                    raise FakeApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                if offset < 0:
                    batch = self.pending_updates[offset:][:limit]
                else:
                    batch = [u for u in self.pending_updates if u["update_id"] >= offset][:limit]
                forced_now, self._forced = self._forced, []
                if forced_now:
                    batch = sorted(forced_now + [u for u in batch if u not in forced_now], key=lambda u: u["update_id"])
                remaining = deadline - loop.time()
                if self._client_gone():  # the poller gave up (e.g. Updater.stop): deliver nothing
                    self._forced = [u for u in batch if u in forced_now] + self._forced
                    return []
                if batch or remaining <= 0 or self._closing.is_set():
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._cond.wait(), remaining)
        for update in batch:
            uid = update["update_id"]
            self.delivery_counts[uid] = self.delivery_counts.get(uid, 0) + 1
        return batch

    def _m_sendMessage(self, p: dict) -> dict:
        chat = self._chat_for(p)
        plain = _checked(check_text, p.get("text"), p.get("parse_mode"), strict=self.strict_parse_mode)
        _checked(check_reply_markup, p.get("reply_markup"))
        msg = self._base_message(chat, p)
        msg["text"] = plain
        return self._record("sendMessage", p, msg, p.get("text"))

    def _send_media(self, p: dict, method: str, field: str) -> dict:
        chat = self._chat_for(p)
        caption = p.get("caption")
        plain = None
        if caption is not None:
            plain = _checked(check_text, caption, p.get("parse_mode"), caption=True, strict=self.strict_parse_mode)
        _checked(check_reply_markup, p.get("reply_markup"))
        rec = self._input_file(p, field, field)
        msg = self._base_message(chat, p)
        if field == "photo":
            msg["photo"] = self._photo_sizes(rec)
        else:
            msg["document"] = self._document_dict(rec)
        if plain:
            msg["caption"] = plain
        return self._record(method, p, msg, caption, file_id=rec.file_id)

    def _m_sendPhoto(self, p: dict) -> dict:
        return self._send_media(p, "sendPhoto", "photo")

    def _m_sendDocument(self, p: dict) -> dict:
        return self._send_media(p, "sendDocument", "document")

    def _m_editMessageText(self, p: dict) -> dict:
        sent = self._edit_target(p)
        if "text" not in sent.message:
            raise FakeApiError(400, "Bad Request: there is no text in the message to edit")
        plain = _checked(check_text, p.get("text"), p.get("parse_mode"), strict=self.strict_parse_mode)
        _checked(check_reply_markup, p.get("reply_markup"))
        return self._apply_edit(sent, "editMessageText", p, p.get("reply_markup"), p.get("text"), plain)

    def _m_editMessageCaption(self, p: dict) -> dict:
        sent = self._edit_target(p)
        if "text" in sent.message:
            raise FakeApiError(400, "Bad Request: there is no caption in the message to edit")
        plain = _checked(check_text, p.get("caption"), p.get("parse_mode"), caption=True, strict=self.strict_parse_mode)
        _checked(check_reply_markup, p.get("reply_markup"))
        return self._apply_edit(sent, "editMessageCaption", p, p.get("reply_markup"), p.get("caption"), plain)

    def _m_editMessageReplyMarkup(self, p: dict) -> dict:
        sent = self._edit_target(p)
        _checked(check_reply_markup, p.get("reply_markup"))
        return self._apply_edit(sent, "editMessageReplyMarkup", p, p.get("reply_markup"))

    def _m_answerCallbackQuery(self, p: dict) -> bool:
        query_id = str(p.get("callback_query_id"))
        if query_id not in self.callback_queries or query_id in self.callback_answers:
            raise FakeApiError(400, QUERY_INVALID)
        if len(str(p.get("text") or "")) > 200:
            raise FakeApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = p
        self._emit("answer", p)
        return True

    def _m_getFile(self, p: dict) -> dict:
        rec = self.files.get(str(p.get("file_id")))
        if rec is None:
            raise FakeApiError(400, "Bad Request: invalid file_id")
        if len(rec.data) > 20 * 1024 * 1024:
            raise FakeApiError(400, "Bad Request: file is too big")
        return rec.as_dict()

    def _m_sendChatAction(self, p: dict) -> bool:
        chat = self._chat_for(p)
        self.chat_actions.append((chat["id"], p.get("action")))
        return True

    def _m_deleteMessage(self, p: dict) -> bool:
        chat = self._chat_for(p)
        key = (chat["id"], p.get("message_id"))
        sent = self.messages.get(key)
        if sent is not None and not sent.deleted:
            sent.deleted = True
            self._bump_seq()
            self._emit("deleted", sent)
        elif self.user_messages.pop(key, None) is None:
            raise FakeApiError(400, "Bad Request: message to delete not found")
        return True

    def _m_logOut(self, p: dict) -> bool:
        return True

    def _m_close(self, p: dict) -> bool:
        return True
