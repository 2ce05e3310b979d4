"""The web chat's view of one private chat: the bot's messages (as sent, edits applied) and the person's own,
in the order they happened, as JSON for the page (bot/sandbox/static/app.js renders them)."""

from __future__ import annotations

import html
from typing import Any

from bot.sandbox.botapi.chats import SentMessage
from bot.sandbox.botapi.server import FakeBotAPI


def _file(fake: FakeBotAPI, file_id: str | None) -> dict[str, Any] | None:
    rec = fake.files.get(file_id or "")
    if rec is None:
        return None
    return {"file_id": rec.file_id, "name": rec.file_name or rec.file_path.rpartition("/")[2],
            "size": len(rec.data), "mime": rec.mime_type}


def bot_message(fake: FakeBotAPI, sent: SentMessage) -> dict[str, Any]:
    """A message the bot sent: its HTML (Telegram's subset; the page keeps only those tags), buttons, keyboard."""
    message = sent.message
    text = sent.text or ""
    if sent.parse_mode is None or sent.parse_mode.upper() != "HTML":
        text = html.escape(text)
    out: dict[str, Any] = {"key": f"b{sent.message_id}", "from": "bot", "message_id": sent.message_id,
                           "order": [sent.seq, 0], "date": message.get("date"), "html": text,
                           "deleted": sent.deleted, "edited": bool(sent.edits)}
    if "photo" in message:
        out["photo"] = _file(fake, message["photo"][-1]["file_id"])
    if "document" in message:
        out["document"] = _file(fake, message["document"]["file_id"])
    markup = sent.reply_markup or {}
    if markup.get("inline_keyboard"):
        out["inline"] = [[{"text": b.get("text"), "data": b.get("callback_data"),
                           "url": b.get("url") or (b.get("web_app") or {}).get("url")}  # a Mini App opens as a link
                          for b in row] for row in markup["inline_keyboard"]]
    if markup.get("keyboard"):
        out["keyboard"] = {"rows": [[b if isinstance(b, dict) else {"text": b} for b in row]
                                    for row in markup["keyboard"]],
                           "one_time": bool(markup.get("one_time_keyboard"))}
    if markup.get("remove_keyboard"):
        out["remove_keyboard"] = True
    return out


def user_message(fake: FakeBotAPI, message: dict, order: int) -> dict[str, Any]:
    """A message the person sent: text, a file, a photo or a location."""
    text = message.get("text", message.get("caption")) or ""
    out: dict[str, Any] = {"key": f"u{message['message_id']}", "from": "me", "message_id": message["message_id"],
                           "order": [order, 1], "date": message.get("date"), "html": html.escape(text)}
    if "photo" in message:
        out["photo"] = _file(fake, message["photo"][-1]["file_id"])
    if "document" in message:
        out["document"] = _file(fake, message["document"]["file_id"])
    if "location" in message:
        out["location"] = {"latitude": message["location"]["latitude"],
                           "longitude": message["location"]["longitude"]}
    return out


def chat(fake: FakeBotAPI, chat_id: int, order: dict[tuple[int, int], int]) -> list[dict[str, Any]]:
    """Every message of the chat, oldest first."""
    out = [bot_message(fake, m) for m in fake.messages_to(chat_id)]
    out += [user_message(fake, msg, order.get(key, 0))
            for key, msg in fake.user_messages.items() if key[0] == chat_id]
    return sorted(out, key=lambda m: (m["order"], m["message_id"]))
