"""A local fake of Telegram's Bot API for end-to-end tests of the Duban bot.

A real ``telegram.ext.Application`` talks to it over HTTP::

    fake = FakeBotAPI()
    await fake.start()
    app = fake.builder().build()          # ApplicationBuilder with token/base_url set
    ...add handlers...
    async with run_application(app):      # initialize/start/start_polling, then clean stop
        alice = fake.user(42, "Alice")
        await alice.send_text("/start")
        reply = await alice.wait_reply()
        await alice.press(reply, "yes")
        edited = await alice.wait_edit(reply)
    await fake.stop()

Everything the bot does is recorded (``requests``, ``sent``, ``commands``...), waits use
an ``asyncio.Condition`` with a timeout and fail with an ``AssertionError`` that lists
what was recorded.  ``getUpdates`` follows Telegram: an update stays pending (and is
redelivered) until a call arrives with ``offset`` greater than its ``update_id``.
Users, groups and :class:`SentMessage` live in :mod:`bot.sandbox.botapi.chats`; Telegram's
text checks (parse_mode, lengths, buttons) in :mod:`bot.sandbox.botapi.text`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.sandbox.botapi.chats import (
    CURRENT_REQUEST,
    FakeApiError,
    FakeFile,
    FakeGroup,
    FakeUser,
    SentMessage,
    Uploaded,
    UserMessage,
    parse_params,
)
from bot.sandbox.botapi.faults import Fault, FaultsMixin
from bot.sandbox.botapi.methods import MethodsMixin
from bot.sandbox.botapi.running import run_application

__all__ = [
    "FakeApiError",
    "FakeBotAPI",
    "FakeFile",
    "FakeGroup",
    "FakeUser",
    "SentMessage",
    "Uploaded",
    "UserMessage",
    "run_application",
]

class FakeBotAPI(FaultsMixin, MethodsMixin):
    """Fake Bot API server; see the module docstring."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "duban_test_bot",
        bot_id: int = 123456,
        *,
        first_update_id: int = 1000,
        bot_first_name: str = "Duban Test",
        strict_parse_mode: bool = True,
        auto_create_chats: bool = True,
        emulate_conflict: bool = False,
    ) -> None:
        self.token, self.bot_username, self.bot_id = token, bot_username, bot_id
        self.bot_first_name = bot_first_name
        self.strict_parse_mode = strict_parse_mode  # validate parse_mode markup like Telegram
        # unknown positive chat ids become private chats; otherwise 400 "chat not found"
        self.auto_create_chats = auto_create_chats
        self.emulate_conflict = emulate_conflict  # newer getUpdates -> 409 for the older one
        self.url = ""
        # inspection
        self.sent: list[SentMessage] = []
        self.requests: list[tuple[str, dict]] = []
        self.errors: list[tuple[str, dict, int, str]] = []  # (method, params, status, descr)
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.callback_answers: dict[str, dict] = {}
        self.chat_actions: list[tuple[Any, str]] = []
        self.files: dict[str, FakeFile] = {}
        self.webhook: dict | None = None
        self.webhook_attempts: list[tuple[int, int]] = []  # (update_id, HTTP status; 0: no connection)
        # updates
        self.first_update_id = first_update_id
        self.updates: list[dict] = []  # every update ever queued
        self.pending_updates: list[dict] = []
        self._forced: list[dict] = []  # redeliver(): returned once more regardless of offset
        self.confirmed_offset = 0
        self.delivery_counts: dict[int, int] = {}
        # state
        self.blocked: set[int] = set()
        self.migrated: dict[int, int] = {}  # group id -> its supergroup's id (FakeGroup.upgrade)
        self.left_chats: set[int] = set()  # groups the bot was removed from or left (leaveChat)
        self.chats: dict[int, dict] = {}
        self.messages: dict[tuple[int, int], SentMessage] = {}  # bot messages by (chat, id)
        self.user_messages: dict[tuple[int, int], dict] = {}
        self.callback_queries: dict[str, dict] = {}
        self._next_msg_id: dict[int, int] = {}
        self._next_update_id = first_update_id
        self._counter = 0
        self._seq = 0  # increases with every sent message / edit (for wait_reply/wait_edit)
        self._faults: dict[str, list[Fault]] = {}
        self._custom: dict[str, Callable[[dict], Any]] = {}
        self._cond = asyncio.Condition()
        self._closing = asyncio.Event()
        self._poll_generation = 0
        self._runner: web.AppRunner | None = None
        # the sandbox (bot/sandbox/) dates messages by its movable clock, keeps a journal and feeds its web chat
        self.clock_now: Callable[[], float] = time.time
        self.listeners: list[Callable[[str, Any], None]] = []

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self._closing.clear()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    def add_routes(self, app: web.Application) -> None:
        """Serve the Bot API (``/bot<token>/<method>``, ``/file/bot<token>/<path>``) on ``app``; whoever serves
        ``app`` sets ``url`` (the sandbox: its own web server)."""
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)

    async def stop(self) -> None:
        self._closing.set()  # releases long polls and injected delays at once
        await self._notify()
        if getattr(self, "_pusher", None) is not None:  # webhook delivery (bot/sandbox/botapi/webhook.py)
            await self._pusher.stop()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def builder(self) -> Any:
        """``ApplicationBuilder`` preconfigured with token, base_url and base_file_url."""
        from telegram.ext import ApplicationBuilder

        return ApplicationBuilder().token(self.token).base_url(self.base_url).base_file_url(self.base_file_url)

    def bot(self, **kwargs: Any) -> Any:
        """A plain ``telegram.Bot`` pointed at this fake (use ``async with``)."""
        from telegram import Bot

        return Bot(self.token, base_url=self.base_url, base_file_url=self.base_file_url, **kwargs)

    # ------------------------------------------------------------------ actors
    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh",
    ) -> FakeUser:
        """A Telegram user with its private chat (chat id == user id)."""
        user = FakeUser(self, user_id, first_name, last_name, username, language_code)
        self.chats[user_id] = user.chat
        return user

    def group(self, chat_id: int, title: str) -> FakeGroup:
        """A group (or supergroup when the id starts with -100) where users can write."""
        group = FakeGroup(self, chat_id, title)
        self.chats[chat_id] = group.chat
        return group

    def block_bot(self, user_id: int) -> None:
        """From now on anything sent to this user's chat answers 403 (bot was blocked)."""
        self.blocked.add(user_id)

    def unblock_bot(self, user_id: int) -> None:
        self.blocked.discard(user_id)

    # ------------------------------------------------------------------ inspection
    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.sent if m.chat_id == chat_id]

    def requests_for(self, method: str) -> list[dict]:
        return [p for m, p in self.requests if m == method]

    def get_commands(self, scope: dict | None = None, language_code: str = "") -> list[dict] | None:
        """Last ``setMyCommands`` for a scope dict (default scope) and language."""
        return self.commands.get(self.commands_key(scope, language_code))

    @staticmethod
    def commands_key(scope: dict | None, language_code: str | None = "") -> tuple[str, str]:
        return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or ""

    def describe(self, last: int = 40) -> str:
        """Readable dump of recent traffic, used in timeout messages."""
        lines, calls = [], []
        for method, params in self.requests[-last:]:
            if method == "getUpdates" and calls and calls[-1][0] == method:
                calls[-1][1] += 1
            else:
                calls.append([method, 1, params])
        lines.append(f"requests (last {last}):")
        for method, count, params in calls:
            brief = {
                k: v for k, v in params.items() if k in ("chat_id", "text", "message_id", "caption", "offset", "data")
            }
            lines.append(f"  {method}{f' x{count}' if count > 1 else ''} {brief or ''}")
        lines.append("sent messages:")
        lines += [f"  {m.summary()}" for m in self.sent[-last:]] or ["  (none)"]
        lines.append(
            f"pending updates: {[u['update_id'] for u in self.pending_updates]}"
            f" confirmed_offset={self.confirmed_offset}"
        )
        if self.errors:
            lines.append("error answers:")
            lines += [f"  {m} -> {s} {d}" for m, _, s, d in self.errors[-last:]]
        return "\n".join(lines)

    async def wait_until(self, check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
        """Wait until ``check()`` returns a truthy value (re-checked on every recorded
        change: request, message, edit, update); return that value."""

        def boxed() -> list | None:
            value = check()
            return [value] if value else None

        async with self._cond:
            try:
                box = await asyncio.wait_for(self._cond.wait_for(boxed), timeout)
            except TimeoutError:
                raise AssertionError(f"Timed out after {timeout}s waiting for {what}.\n{self.describe()}") from None
        return box[0]

    async def wait_for_request(
        self, method: str, predicate: Callable[[dict], bool] | None = None, timeout: float = 10.0, *, since: int = 0
    ) -> dict:
        """First request of ``method`` (from index ``since`` of ``requests``) matching."""

        def check() -> list[dict] | None:
            for name, params in self.requests[since:]:
                if name == method and (predicate is None or predicate(params)):
                    return [params]  # boxed: params may be an empty dict
            return None

        return (await self.wait_until(check, timeout, f"request {method}"))[0]

    async def wait_confirmed(self, update_id: int | None = None, timeout: float = 10.0) -> None:
        """Wait until the bot confirmed ``update_id`` (default: the last queued update)."""
        target = update_id if update_id is not None else self._next_update_id - 1
        await self.wait_until(lambda: self.confirmed_offset > target, timeout, f"confirmation of update {target}")

    # ------------------------------------------------------------------ extension (faults: fakebot_faults)
    def register(self, method: str, handler: Callable[[dict], Any]) -> None:
        """Serve an extra method: ``handler(params)`` (sync or async) returns the result."""
        self._custom[method.lower()] = handler

    # ------------------------------------------------------------------ internals
    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def _sleep(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), delay)

    def _next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def _new_message_id(self, chat_id: int) -> int:
        self._next_msg_id[chat_id] = self._next_msg_id.get(chat_id, 0) + 1
        return self._next_msg_id[chat_id]

    def _bump_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _store_file(
        self, data: bytes, kind: str, file_name: str | None = None, mime_type: str | None = None
    ) -> FakeFile:
        file_id = self._next_id(f"FAKE-{kind}-")
        ext = (file_name or "").rpartition(".")[2] if file_name and "." in file_name else "bin"
        if kind == "photo":
            ext = "jpg"
        path = f"{kind}s/file_{self._counter}.{ext}"
        rec = FakeFile(file_id, f"U{self._counter}", path, data, file_name, mime_type)
        self.files[file_id] = rec
        self._emit("file", rec)
        return rec

    async def _enqueue(self, kind: str, payload: dict) -> dict:
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self.updates.append(update)
        self.pending_updates.append(update)
        self._emit("update", update)
        await self._notify()
        return update

    def _now(self) -> int:
        return int(self.clock_now())

    def _emit(self, event: str, subject: Any) -> None:
        """Tell the listeners: ``sent``, ``edited``, ``deleted`` (a :class:`SentMessage`), ``file`` (a
        :class:`FakeFile`), ``update`` (an update dict), ``confirmed`` (the offset), ``answer`` (the params of
        answerCallbackQuery)."""
        for listener in self.listeners:
            listener(event, subject)

    @staticmethod
    def _error(status: int, description: str, parameters: dict | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        raw_method = request.match_info["method"]
        handler, method = self._lookup(raw_method)
        try:
            params = await parse_params(request)
        except ValueError as exc:
            return self._error(400, f"Bad Request: {exc}")
        self.requests.append((method, params))
        CURRENT_REQUEST.set(request)
        await self._notify()
        injected = await self._injected(method, params)
        if injected is not None:
            return injected
        if handler is None:
            return await self._fail(method, params, 404, "Not Found")
        try:
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except FakeApiError as exc:
            return await self._fail(method, params, exc.status, exc.description, exc.parameters)
        await self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _fail(
        self, method: str, params: dict, status: int, description: str, parameters: dict | None = None
    ) -> web.Response:
        self.errors.append((method, params, status, description))
        await self._notify()
        return self._error(status, description, parameters)

    def _lookup(self, raw: str) -> tuple[Callable[[dict], Any] | None, str]:
        key = raw.lower()
        if key in self._custom:
            return self._custom[key], raw
        canonical = self.METHODS.get(key)
        if canonical is None:
            return None, raw
        return getattr(self, f"_m_{canonical}"), canonical

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        path = request.match_info["path"]
        for rec in self.files.values():
            if rec.file_path == path:
                return web.Response(body=rec.data, content_type="application/octet-stream")
        return self._error(404, "Not Found")
