"""Self-tests of the fake Telegram Bot API (bot/sandbox/botapi/server.py) with real PTB clients."""

import asyncio
import contextlib
import datetime as dtm
import json
import warnings

import aiohttp
import pytest
import pytest_asyncio
from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.sandbox.botapi.server import FakeBotAPI, run_application

pytestmark = pytest.mark.asyncio

KEYBOARD = InlineKeyboardMarkup(
    [[InlineKeyboardButton("Yes", callback_data="yes"), InlineKeyboardButton("No", callback_data="no")]]
)


@pytest_asyncio.fixture
async def fake():
    api = FakeBotAPI()
    await api.start()
    yield api
    await api.stop()


@pytest_asyncio.fixture
async def bot(fake):
    async with fake.bot() as client:
        yield client


async def _start(update, context):
    await update.message.reply_text(f"Hello {update.effective_user.first_name}", reply_markup=KEYBOARD)


async def _button(update, context):
    query = update.callback_query
    await query.answer("ok")
    await query.edit_message_text(f"You chose {query.data}")


async def test_application_start_reply_and_button_edit(fake):
    app = fake.builder().build()
    app.add_handler(CommandHandler("start", _start))
    app.add_handler(CallbackQueryHandler(_button))
    alice = fake.user(42, "Alice")
    group = fake.group(-100500, "Duban fans")
    async with run_application(app):
        await alice.send_text("/start")
        reply = await alice.wait_reply()
        assert reply.text == "Hello Alice"
        assert reply.buttons() == [("Yes", "yes"), ("No", "no")]
        assert reply.message["from"]["username"] == "duban_test_bot"

        with pytest.raises(AssertionError, match=r"(?i)no button"):
            await alice.press(reply, "maybe")
        await alice.press(reply, "yes")
        assert (await alice.wait_callback_answer())["text"] == "ok"
        edited = await alice.wait_edit(reply)
        assert edited is reply and reply.text == "You chose yes"
        assert reply.buttons() == [] and len(reply.edits) == 1  # edit without markup drops it
        with pytest.raises(AssertionError):
            await alice.press(reply, "yes")

        await group.send_text(alice, "/start@duban_test_bot")
        assert (await group.wait_reply()).text == "Hello Alice"
        with pytest.raises(AssertionError, match=r"(?i)Timed out"):
            await alice.wait_reply(timeout=0.2)
        await fake.wait_confirmed()
    assert fake.pending_updates == []
    assert set(fake.delivery_counts.values()) == {1}  # each update delivered exactly once
    assert fake.requests[0][0] == "getMe"
    assert "deleteWebhook" in [method for method, _ in fake.requests]


async def test_user_message_shapes(fake, bot):
    alice = fake.user(7, "Alice", username="alice")
    msg = await alice.send_text("/start@duban_test_bot payload")
    assert msg["entities"] == [{"type": "bot_command", "offset": 0, "length": 21}]
    await alice.send_location(31.23, 121.47, horizontal_accuracy=12.5, forwarded=True)
    updates = await bot.get_updates()
    assert updates[0].message.text == "/start@duban_test_bot payload"
    assert updates[0].message.from_user.username == "alice"
    location = updates[1].message.location
    assert (location.latitude, location.longitude, location.horizontal_accuracy) == (31.23, 121.47, 12.5)
    assert updates[1].message.forward_origin is not None


async def test_redelivery_until_confirmed(fake, bot):
    alice = fake.user(1)
    await alice.send_text("hello")
    await alice.send_text("again")

    first = await bot.get_updates()
    assert [u.update_id for u in first] == [1000, 1001]
    again = await bot.get_updates()  # no offset: nothing confirmed, same updates again
    assert [u.update_id for u in again] == [1000, 1001]
    assert [u.update_id for u in await bot.get_updates(offset=1000, limit=1)] == [1000]

    rest = await bot.get_updates(offset=1001)  # confirms 1000
    assert [u.update_id for u in rest] == [1001]
    assert [u["update_id"] for u in fake.pending_updates] == [1001]
    assert fake.confirmed_offset == 1001

    assert await bot.get_updates(offset=1002) == ()
    assert fake.pending_updates == [] and fake.confirmed_offset == 1002
    assert fake.delivery_counts == {1000: 3, 1001: 3}
    third = await alice.send_text("third")
    assert third["update_id"] == third.update_id == 1002 and "update_id" not in third
    assert [u.update_id for u in await bot.get_updates()] == [1002]

    await fake.redeliver(1000)  # a lost confirmation: delivered again despite the offset
    assert [u.update_id for u in await bot.get_updates(offset=1003)] == [1000]
    assert await bot.get_updates(offset=1003) == ()


async def test_long_poll_returns_as_soon_as_update_is_queued(fake, bot):
    alice = fake.user(7)
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(bot.get_updates(timeout=30))
    await fake.wait_for_request("getUpdates")
    assert not task.done()
    started = loop.time()
    await alice.send_text("ping")
    updates = await asyncio.wait_for(task, 5)
    assert [u.message.text for u in updates] == ["ping"]
    assert loop.time() - started < 5
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()


async def test_concurrent_polls_and_prompt_stop(fake, bot):
    # PTB's getUpdates connection pool has size 1, so concurrent pollers need their own Bot
    async with fake.bot() as bot2, fake.bot() as bot3:
        polls = [asyncio.create_task(b.get_updates(timeout=30)) for b in (bot, bot2, bot3)]
        await fake.wait_until(lambda: len(fake.requests_for("getUpdates")) >= 3, what="3 polls")
        await fake.user(5).send_text("x")
        results = await asyncio.wait_for(asyncio.gather(*polls), 5)
    assert [[u.update_id for u in r] for r in results] == [[1000]] * 3

    held = asyncio.create_task(bot.get_updates(offset=1001, timeout=30))
    await fake.wait_for_request("getUpdates", lambda p: p.get("offset") == 1001)
    await asyncio.wait_for(fake.stop(), 5)  # must not wait for the 30 s long poll
    with contextlib.suppress(NetworkError):
        assert await asyncio.wait_for(held, 5) == ()


async def test_emulated_conflict_between_pollers():
    async with FakeBotAPI(emulate_conflict=True) as fake, fake.bot() as bot, fake.bot() as bot2:
        old = asyncio.create_task(bot.get_updates(timeout=30))
        await fake.wait_for_request("getUpdates")
        assert await bot2.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates"):
            await asyncio.wait_for(old, 5)


async def test_fault_injection(fake, bot):
    fake.user(9)
    fake.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(9, "a")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert caught.value.retry_after in (7, dtm.timedelta(seconds=7))

    fake.fail_next("sendMessage", status=500)
    fake.fail_next("sendMessage", status=502, times=2)
    for _ in range(3):
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(9, "b")
        assert not isinstance(caught.value, BadRequest)

    fake.fail_next("sendMessage", status=400, description="Bad Request: chat not found", chat_id=9)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(9, "c")

    assert (await bot.send_message(9, "finally")).message_id == 1
    assert [m.text for m in fake.sent] == ["finally"]
    assert [status for _, _, status, _ in fake.errors] == [429, 500, 502, 502, 400]

    fake.block_bot(9)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(9, "d")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(9, "typing")
    fake.unblock_bot(9)

    fake.delay_next("sendMessage", 0.5)  # the client gives up, Telegram still delivers it
    with pytest.raises(TimedOut):
        await bot.send_message(9, "slow", read_timeout=0.1)
    await fake.wait_until(lambda: [m for m in fake.sent if m.text == "slow"], what="slow message")


async def test_edit_rules_and_text_validation(fake, bot):
    fake.user(11)
    msg = await bot.send_message(11, "one", reply_markup=KEYBOARD)
    sent = fake.messages_to(11)[0]
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("one", 11, msg.message_id, reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", 11, 999)
    await bot.edit_message_reply_markup(11, msg.message_id, reply_markup=None)
    assert sent.buttons() == [] and sent.edits[0]["method"] == "editMessageReplyMarkup"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(11, msg.message_id, reply_markup=None)
    edited = await bot.edit_message_text("<b>two</b> &amp; more", 11, msg.message_id, parse_mode="HTML")
    assert edited.text == "two & more" and sent.text == "<b>two</b> &amp; more"
    assert sent.plain_text == "two & more" and len(sent.edits) == 2

    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(11, "line<br>break", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(11, "1 < 2", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)reserved"):
        await bot.send_message(11, "Version 1.5!", parse_mode="MarkdownV2")
    assert (await bot.send_message(11, r"*bold* Version 1\.5\!", parse_mode="MarkdownV2")).text == ("bold Version 1.5!")
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
        await bot.send_message(11, "too long data", reply_markup=markup)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(11, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(-404, "nobody")
    assert await bot.delete_message(11, msg.message_id)
    assert sent.deleted
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(11, msg.message_id)


async def test_files_round_trip(fake, bot):
    alice = fake.user(21)
    payload = bytes(range(256)) * 40
    msg = await bot.send_document(21, document=payload, filename="report.bin", caption="report")
    record = fake.sent[-1]
    assert (record.method, record.text, record.file_id) == ("sendDocument", "report", msg.document.file_id)
    assert msg.document.file_name == "report.bin"
    tg_file = await bot.get_file(msg.document.file_id)
    assert tg_file.file_size == len(payload)
    assert bytes(await tg_file.download_as_bytearray()) == payload
    again = await bot.send_document(21, document=msg.document.file_id)  # resend by file_id
    assert again.document.file_id == msg.document.file_id

    photo = await bot.send_photo(21, photo=b"\x89PNG fake image", caption="pic")
    assert fake.sent[-1].method == "sendPhoto" and photo.caption == "pic"
    photo_file = await bot.get_file(photo.photo[-1].file_id)
    assert bytes(await photo_file.download_as_bytearray()) == b"\x89PNG fake image"

    await alice.send_document(b"user bytes", "notes.txt", "text/plain", caption="mine")
    await alice.send_photo(b"user photo", caption="look")
    doc_update, photo_update = await bot.get_updates()
    assert doc_update.message.document.mime_type == "text/plain"
    user_doc = await doc_update.message.document.get_file()
    assert bytes(await user_doc.download_as_bytearray()) == b"user bytes"
    user_photo = await photo_update.message.photo[-1].get_file()
    assert bytes(await user_photo.download_as_bytearray()) == b"user photo"
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("nope")


async def test_set_my_commands_per_scope_and_language(fake, bot):
    fake.user(5)
    await bot.set_my_commands([BotCommand("start", "开始")])
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")], language_code="en")
    await bot.set_my_commands([BotCommand("admin", "Admin")], scope=BotCommandScopeChat(5))
    assert len(fake.commands) == 3
    assert fake.get_commands() == [{"command": "start", "description": "开始"}]
    assert [c["command"] for c in fake.get_commands(language_code="en")] == ["start", "help"]
    assert fake.get_commands({"type": "chat", "chat_id": 5}) == [{"command": "admin", "description": "Admin"}]
    assert [c.command for c in await bot.get_my_commands(language_code="en")] == ["start", "help"]
    assert await bot.delete_my_commands(language_code="en")
    assert fake.get_commands(language_code="en") is None
    assert await bot.get_my_commands(language_code="en") == ()
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Cmd", "x")])


async def test_raw_http_envelope_and_body_formats(fake):
    fake.user(3)
    base = f"{fake.url}/bot{fake.token}"
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/getMe") as resp:
            assert (await resp.json())["result"]["username"] == "duban_test_bot"
        async with http.post(f"{fake.url}/botWRONG/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        async with http.post(f"{base}/fooBar") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with http.post(f"{base}/sendMessage", json={"chat_id": 3, "text": "j", "reply_markup": markup}) as resp:
            body = await resp.json()
            assert body["ok"] is True and body["result"]["reply_markup"] == markup
        form = {"chat_id": "3", "text": "f", "reply_markup": json.dumps(markup)}
        async with http.post(f"{base}/sendMessage", data=form) as resp:
            assert (await resp.json())["result"]["message_id"] == 2
        fake.fail_next("sendMessage", status=429, retry_after=3)
        async with http.post(f"{base}/sendMessage", data=form) as resp:
            assert resp.status == 429
            assert await resp.json() == {
                "ok": False,
                "error_code": 429,
                "parameters": {"retry_after": 3},
                "description": "Too Many Requests: retry after 3",
            }
        async with http.post(f"{base}/setWebhook", data={"url": "https://example.com/hook"}) as resp:
            assert (await resp.json())["result"] is True
        async with http.post(f"{base}/getUpdates") as resp:
            assert resp.status == 409  # like Telegram while a webhook is set
    assert [m.buttons() for m in fake.messages_to(3)] == [[("A", "a")]] * 2
    assert fake.webhook == {"url": "https://example.com/hook"}


async def test_the_old_import_path_gives_the_same_modules() -> None:
    """Tests written against tests/support/fakebot keep working: those names are the product's modules."""
    from bot.sandbox.botapi import chats, server
    from tests.support.fakebot import chats as old_chats
    from tests.support.fakebot.server import FakeBotAPI as OldFakeBotAPI

    assert old_chats is chats and OldFakeBotAPI is server.FakeBotAPI
