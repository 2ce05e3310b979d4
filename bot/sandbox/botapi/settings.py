"""The bot's settings at the fake Telegram: command menus per scope and language (setMyCommands and
friends), the webhook (setWebhook: from then on updates are POSTed, bot/sandbox/botapi/webhook.py) and
the groups it is in (leaveChat).
Mixed into :class:`bot.sandbox.botapi.server.FakeBotAPI` through
:class:`bot.sandbox.botapi.methods.MethodsMixin`."""

from __future__ import annotations

import re
from typing import Any

from bot.sandbox.botapi.chats import FakeApiError

# the server (bot/sandbox/botapi/server.py) mixes this in; it is not imported here, so that the modules of
# the package import each other in one direction only
_Base = object

SCOPES = {
    "default",
    "all_private_chats",
    "all_group_chats",
    "all_chat_administrators",
    "chat",
    "chat_administrators",
    "chat_member",
}


class BotSettingsMixin(_Base):
    def _commands_key(self, p: dict) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in SCOPES:
            raise FakeApiError(400, "Bad Request: wrong parameter scope")
        if scope["type"].startswith("chat") and scope.get("chat_id") in (None, ""):
            raise FakeApiError(400, "Bad Request: chat_id is empty")
        return self.commands_key(scope, p.get("language_code"))

    def _m_setMyCommands(self, p: dict) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise FakeApiError(400, "Bad Request: can't parse commands JSON object")
        for cmd in commands:
            if not isinstance(cmd, dict) or not re.fullmatch(r"[a-z0-9_]{1,32}", str(cmd.get("command", ""))):
                raise FakeApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description") or "")) <= 256:
                raise FakeApiError(400, "Bad Request: command description is invalid")
        self.commands[self._commands_key(p)] = commands
        return True

    def _m_deleteMyCommands(self, p: dict) -> bool:
        self.commands.pop(self._commands_key(p), None)
        return True

    def _m_getMyCommands(self, p: dict) -> list[dict]:
        return self.commands.get(self._commands_key(p), [])

    def _m_deleteWebhook(self, p: dict) -> bool:
        self.webhook = None
        if p.get("drop_pending_updates"):
            self.pending_updates = []
        return True

    def _m_setWebhook(self, p: dict) -> bool:
        self.webhook = dict(p) if p.get("url") else None
        if p.get("drop_pending_updates"):
            self.pending_updates = []
        if self.webhook:  # POST every pending and new update to it (bot/sandbox/botapi/webhook.py)
            from bot.sandbox.botapi.webhook import WebhookPusher

            self._pusher = getattr(self, "_pusher", None) or WebhookPusher(self)
            self._pusher.ensure_running()
        return True

    def _m_getWebhookInfo(self, p: dict) -> dict:
        info: dict[str, Any] = {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending_updates),
        }
        if self.webhook and self.webhook.get("allowed_updates"):
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    def _m_leaveChat(self, p: dict) -> bool:
        chat_id = int(p.get("chat_id") or 0)
        if chat_id >= 0:
            raise FakeApiError(400, "Bad Request: chat not found")
        if chat_id in self.left_chats:
            raise FakeApiError(403, "Forbidden: bot is not a member of the group chat")
        self.left_chats.add(chat_id)
        return True
