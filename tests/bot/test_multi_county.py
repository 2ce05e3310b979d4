"""Two counties served by one process (`duban run --counties`): each its own bot, its own database and
its own people; nothing of one county ever reaches the other."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.sandbox.botapi.server import FakeBotAPI
from bot.serve.runner import run_counties
from models.db import Database
from models.plan import Assignment, Target
from services.core import outbox
from tests.conftest import PG_URL, _pg_dsn
from tests.progress.test_report import seed
from tests.support.botrig import make_settings
from tests.support.factories import add_person, add_unit


@pytest.fixture
async def county_b_url(db_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A second freshly migrated database of the kind under test (county A uses ``rig.db``)."""
    if db_kind == "sqlite":
        path = tmp_path / "county_b.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    name = f"duban_b_{os.getpid()}_{id(request)}"
    admin = await asyncpg.connect(_pg_dsn(PG_URL))
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    admin = await asyncpg.connect(_pg_dsn(PG_URL))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def seed_b(db: Database, clock) -> None:
    """County B: its own village, cadre 300 (English) and target."""
    unit = await add_unit(db, clock, code="W1", name="白云村")
    await add_person(db, clock, name="Smith", unit=unit, telegram_user_id=300, language="en")
    async with db.uow() as uow:
        target = Target(code="B1", year=2027, title="乙县特色产业", category="industry", measure="个",
                        mode="zero_base", deadline=date(2027, 11, 30))
        uow.session.add(target)
        await uow.session.flush()
        uow.session.add(Assignment(target_id=target.id, unit_id=unit.id, planned_value=Decimal(8)))
        await uow.commit()


def counties_file(tmp_path: Path, a_url: str, b_url: str, fake_a: FakeBotAPI, fake_b: FakeBotAPI) -> Path:
    path = tmp_path / "counties.toml"
    text = ""
    for code, name, url, fake in (("ja", "甲县", a_url, fake_a), ("yi", "乙县", b_url, fake_b)):
        text += (f'[[county]]\ncode = "{code}"\nname = "{name}"\ntoken_env = "TOK_{code.upper()}"\n'
                 f'database_url = "{url}"\nbot_username = "{fake.bot_username}"\n'
                 f'bot_api_base_url = "{fake.url}/bot"\nbot_api_file_url = "{fake.url}/file/bot"\n\n')
    path.write_text(text, encoding="utf-8")
    return path


async def test_two_counties_in_one_process_never_see_each_others_people_or_data(
        rig, county_b_url, tmp_path, monkeypatch) -> None:
    fake_a = rig.fake
    fake_b = FakeBotAPI(token="222222:COUNTY-B-TOKEN", bot_username="yi_duban_bot", bot_id=222222)
    await fake_b.start()
    db_b = Database(county_b_url)
    try:
        await seed(rig)  # county A: 青山村 (cadres 200 zh and 201 en, targets T1 T2), 绿水村 (300!)
        await seed_b(db_b, rig.clock)
        monkeypatch.setenv("TOK_JA", fake_a.token)
        monkeypatch.setenv("TOK_YI", fake_b.token)
        path = counties_file(tmp_path, rig.db.url, county_b_url, fake_a, fake_b)
        base = make_settings(fake_a, f"sqlite+aiosqlite:///{tmp_path}/unused.db", tmp_path / "evidence")
        stop = asyncio.Event()
        service = asyncio.create_task(run_counties(path, base, webhook_url=None, stop_event=stop, clock=rig.clock))
        try:
            # A's cadre sees A's targets; in B, the same Telegram user is a stranger.
            a200 = fake_a.user(200)
            await a200.send_text("/mytargets")
            mine = (await a200.wait_reply(timeout=30)).text
            assert "招商引资到位资金" in mine and "乙县特色产业" not in mine
            b200 = fake_b.user(200)
            await b200.send_text("/mytargets")
            assert "仅供已登记人员使用" in (await b200.wait_reply(timeout=30)).text
            # B's cadre (English) sees only B's target; user 300 of A (王五, 绿水村) is someone else.
            b300 = fake_b.user(300, language_code="en")
            await b300.send_text("/mytargets")
            theirs = (await b300.wait_reply(timeout=30)).text
            assert "乙县特色产业" in theirs and "招商引资" not in theirs and "绿水村秘密目标" not in theirs
            await b300.send_text("/me")
            me = (await b300.wait_reply(timeout=30)).text
            assert "Smith" in me and "白云村" in me and "王五" not in me
            # Button presses: query ids are unique per bot only, so the same id in both counties is
            # answered in both (what one bot answered says nothing about the other).
            await a200.send_text("/report")
            pick_a = await a200.wait_reply(timeout=30)
            await b300.send_text("/report")
            pick_b = await b300.wait_reply(timeout=30)
            fake_b._counter = fake_a._counter  # the next presses carry the same query id
            await a200.press(pick_a, pick_a.buttons()[0][1])
            await a200.wait_callback_answer(timeout=30)
            await b300.press(pick_b, pick_b.buttons()[0][1])
            assert (await b300.wait_callback_answer(timeout=30))["callback_query_id"] == a200.last_callback_id
            for user, done in ((a200, "已取消"), (b300, "Cancelled")):
                await user.send_text("/cancel")
                await user.wait_reply(lambda m, done=done: done in (m.text or ""), timeout=30)
            # Each outbox is sent by its own county's bot only.
            for db, chat, text in ((rig.db, 200, "甲县通知：周五前报送"), (db_b, 300, "County B notice")):
                async with db.uow() as uow:
                    await outbox.enqueue(uow.session, rig.clock, chat_id=chat, text=text, kind="test")
                    await uow.commit()
            assert (await a200.wait_reply(timeout=30)).text == "甲县通知：周五前报送"
            assert (await b300.wait_reply(timeout=30)).text == "County B notice"
        finally:
            stop.set()
            await asyncio.wait_for(service, 60)
        assert not [m for m in fake_b.sent if "甲县" in (m.text or "") or "招商引资" in (m.text or "")]
        assert not [m for m in fake_a.sent if "County B" in (m.text or "") or "乙县" in (m.text or "")]
        assert [m.chat_id for m in fake_b.sent].count(200) == 1  # only the stranger's refusal
    finally:
        await db_b.dispose()
        await fake_b.stop()


async def test_a_county_whose_bot_cannot_start_does_not_stop_the_other(rig, county_b_url, tmp_path,
                                                                       monkeypatch) -> None:
    # County B's token is refused by its Bot API (401): B keeps retrying, A serves its people.
    fake_b = FakeBotAPI(token="222222:COUNTY-B-TOKEN", bot_username="yi_duban_bot", bot_id=222222)
    await fake_b.start()
    try:
        await seed(rig)
        monkeypatch.setenv("TOK_JA", rig.fake.token)
        monkeypatch.setenv("TOK_YI", "222222:SOME-OTHER-TOKEN")
        path = counties_file(tmp_path, rig.db.url, county_b_url, rig.fake, fake_b)
        base = make_settings(rig.fake, f"sqlite+aiosqlite:///{tmp_path}/unused.db", tmp_path / "evidence")
        stop = asyncio.Event()
        service = asyncio.create_task(run_counties(path, base, webhook_url=None, stop_event=stop, clock=rig.clock))
        try:
            cadre = rig.fake.user(201, language_code="en")
            await cadre.send_text("/mytargets")
            assert "招商引资到位资金" in (await cadre.wait_reply(timeout=30)).text
            assert not service.done()
        finally:
            stop.set()
            await asyncio.wait_for(service, 60)
        assert fake_b.sent == []
    finally:
        await fake_b.stop()


async def test_two_counties_by_webhook_each_at_its_own_path_with_its_own_secret(
        rig, county_b_url, tmp_path, monkeypatch) -> None:
    from bot.serve.web import webhook_secret

    fake_b = FakeBotAPI(token="222222:COUNTY-B-TOKEN", bot_username="yi_duban_bot", bot_id=222222)
    await fake_b.start()
    db_b = Database(county_b_url)
    try:
        await seed(rig)
        await seed_b(db_b, rig.clock)
        monkeypatch.setenv("TOK_JA", rig.fake.token)
        monkeypatch.setenv("TOK_YI", fake_b.token)
        path = counties_file(tmp_path, rig.db.url, county_b_url, rig.fake, fake_b)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        base = make_settings(rig.fake, f"sqlite+aiosqlite:///{tmp_path}/unused.db", tmp_path / "evidence",
                             webhook_secret="0123456789abcdef0123456789abcdef", webhook_port=port)
        stop = asyncio.Event()
        service = asyncio.create_task(run_counties(path, base, webhook_url=f"http://127.0.0.1:{port}/duban",
                                                   stop_event=stop, clock=rig.clock))
        try:
            hook_a = await rig.fake.wait_for_request("setWebhook", timeout=30)
            hook_b = await fake_b.wait_for_request("setWebhook", timeout=30)
            assert hook_a["url"] == f"http://127.0.0.1:{port}/duban/ja"
            assert hook_b["url"] == f"http://127.0.0.1:{port}/duban/yi"
            assert hook_a["secret_token"] == webhook_secret(base, "ja") != hook_b["secret_token"]
            a200 = rig.fake.user(200)
            await a200.send_text("/mytargets")
            assert "招商引资到位资金" in (await a200.wait_reply(timeout=30)).text
            b300 = fake_b.user(300, language_code="en")
            await b300.send_text("/mytargets")
            assert "乙县特色产业" in (await b300.wait_reply(timeout=30)).text
            b200 = fake_b.user(200)
            await b200.send_text("/mytargets")
            assert "仅供已登记人员使用" in (await b200.wait_reply(timeout=30)).text
            # County A's secret does not open county B's door.
            async with aiohttp.ClientSession() as http, http.post(
                    f"http://127.0.0.1:{port}/duban/yi", json={"update_id": 1},
                    headers={"X-Telegram-Bot-Api-Secret-Token": hook_a["secret_token"]}) as response:
                assert response.status == 403
        finally:
            stop.set()
            await asyncio.wait_for(service, 60)
        assert all(status == 200 for _, status in rig.fake.webhook_attempts + fake_b.webhook_attempts)
    finally:
        await db_b.dispose()
        await fake_b.stop()
