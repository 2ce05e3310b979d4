"""What the sandbox's Bot API knows, kept across restarts: every change (a bot message sent, edited or deleted,
a file stored, an update queued, an offset confirmed) is one JSON line appended to ``journal.jsonl``, each file
is written once under ``files/``; at start the lines are replayed into a fresh
:class:`bot.sandbox.botapi.server.FakeBotAPI`. Updates the bot had not confirmed are delivered again (as
Telegram does; the bot's exactly-once table skips those it had handled), so nothing a person sent is lost."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bot.sandbox.botapi.chats import FakeFile, SentMessage
from bot.sandbox.botapi.server import FakeBotAPI


def _message_line(sent: SentMessage) -> dict[str, Any]:
    return {"message_id": sent.message_id, "chat_id": sent.chat_id, "text": sent.text,
            "reply_markup": sent.reply_markup, "parse_mode": sent.parse_mode, "method": sent.method,
            "message": sent.message, "seq": sent.seq, "deleted": sent.deleted, "file_id": sent.file_id,
            "edits": len(sent.edits)}


class Journal:
    """Attach with :meth:`attach` after :meth:`restore`; ``order`` gives each user message its place among
    the bot's messages (the bot's sequence number when it was sent)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files = folder / "files"
        self.path = folder / "journal.jsonl"
        self.order: dict[tuple[int, int], int] = {}
        self.last_time = 0.0  # the sandbox clock's timestamp at the newest line (a restart resumes from there)
        self._fake: FakeBotAPI | None = None
        self._out: Any = None

    # ------------------------------------------------------------------ replay
    def restore(self, fake: FakeBotAPI) -> int:
        """Replay the journal into ``fake``; the number of lines read."""
        if not self.path.exists():
            return 0
        lines = 0
        sent: dict[tuple[int, int], SentMessage] = {}
        updates: dict[int, dict] = {}
        counters: dict[str, int] = {}
        with self.path.open(encoding="utf-8") as fh:
            for raw in fh:
                try:
                    line = json.loads(raw)
                except ValueError:  # a line cut short by a crash: the ones before it stand
                    break
                lines += 1
                counters = line.get("k", counters)
                self.last_time = max(self.last_time, counters.get("time", 0.0))
                kind = line["e"]
                if kind == "msg":
                    m = line["m"]
                    msg = SentMessage(m["message_id"], m["chat_id"], m["text"], m["reply_markup"], m["parse_mode"],
                                      m["method"], {}, m["message"], m["seq"], deleted=m["deleted"],
                                      file_id=m["file_id"])
                    msg.edits = [{"seq": m["seq"], "method": "restored"}] * m["edits"]
                    sent[(msg.chat_id, msg.message_id)] = msg
                elif kind == "file":
                    data = (self.files / line["file_id"]).read_bytes()
                    fake.files[line["file_id"]] = FakeFile(line["file_id"], line["file_unique_id"],
                                                           line["file_path"], data, line.get("file_name"),
                                                           line.get("mime_type"))
                elif kind == "update":
                    update = line["u"]
                    updates[update["update_id"]] = update
                    message = update.get("message")
                    if message is not None:
                        self.order[(message["chat"]["id"], message["message_id"])] = line["seq"]
                elif kind == "confirmed":
                    fake.confirmed_offset = max(fake.confirmed_offset, line["offset"])
        self._rebuild(fake, sent, updates, counters)
        return lines

    def _rebuild(self, fake: FakeBotAPI, sent: dict[tuple[int, int], SentMessage], updates: dict[int, dict],
                 counters: dict[str, int]) -> None:
        fake.sent = sorted(sent.values(), key=lambda m: m.seq)
        fake.messages = dict(sent)
        for update in sorted(updates.values(), key=lambda u: u["update_id"]):
            fake.updates.append(update)
            if update["update_id"] >= fake.confirmed_offset:
                fake.pending_updates.append(update)
            if "message" in update:
                message = update["message"]
                fake.user_messages[(message["chat"]["id"], message["message_id"])] = message
            if "callback_query" in update:
                fake.callback_queries[update["callback_query"]["id"]] = update["callback_query"]
        last_ids: dict[int, int] = {}
        for chat_id, message_id in [*sent, *fake.user_messages]:
            last_ids[chat_id] = max(last_ids.get(chat_id, 0), message_id)
        fake._next_msg_id.update(last_ids)
        fake._seq = max([counters.get("seq", 0), *(m.seq for m in fake.sent)])
        fake._counter = counters.get("counter", 0)
        fake._next_update_id = max([counters.get("next_update", fake._next_update_id),
                                    *(u + 1 for u in updates)])

    # ------------------------------------------------------------------ recording
    def attach(self, fake: FakeBotAPI) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.files.mkdir(exist_ok=True, mode=0o700)
        self._fake = fake
        self._out = self.path.open("a", encoding="utf-8")
        fake.listeners.append(self.record)

    def record(self, event: str, subject: Any) -> None:
        fake = self._fake
        assert fake is not None and self._out is not None
        if event in ("sent", "edited", "deleted"):
            line: dict[str, Any] = {"e": "msg", "m": _message_line(subject)}
        elif event == "file":
            target = self.files / subject.file_id
            if not target.exists():
                target.write_bytes(subject.data)
            line = {"e": "file", "file_id": subject.file_id, "file_unique_id": subject.file_unique_id,
                    "file_path": subject.file_path, "file_name": subject.file_name, "mime_type": subject.mime_type}
        elif event == "update":
            line = {"e": "update", "u": subject, "seq": fake._seq}
            message = subject.get("message")
            if message is not None:
                self.order[(message["chat"]["id"], message["message_id"])] = fake._seq
        elif event == "confirmed":
            line = {"e": "confirmed", "offset": subject}
        else:
            return
        # counters as they stand after this change (the update's id is already counted)
        line["k"] = {"seq": fake._seq, "counter": fake._counter, "next_update": fake._next_update_id,
                     "time": fake.clock_now()}
        self._out.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
        self._out.flush()

    def close(self) -> None:
        if self._out is not None:
            self._out.flush()
            os.fsync(self._out.fileno())
            self._out.close()
            self._out = None
        if self._fake is not None and self.record in self._fake.listeners:
            self._fake.listeners.remove(self.record)
