"""A bot killed with SIGKILL (no clean shutdown) loses nothing; the next process acts once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import datetime, timedelta

from sqlmodel import select

from models.core import AuditLog, OutboxMessage
from models.enums import Role
from models.people import Invitation
from services.core import outbox
from services.people import invite
from tests.support.factories import add_person, add_unit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


async def _start_bot(rig, tmp_path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    env.update({
        "DUBAN_TOKEN": rig.fake.token,
        "DUBAN_DATABASE_URL": rig.db.url,
        "DUBAN_BOT_API_BASE_URL": f"{rig.fake.url}/bot",
        "DUBAN_BOT_API_FILE_URL": f"{rig.fake.url}/file/bot",
        "DUBAN_PER_CHAT_INTERVAL": "0",
        "DUBAN_DELIVERY_INTERVAL": "0.1",
        "PTB_TIMEDELTA": "1",
        "PYTHONPATH": ROOT,
    })
    with open(tmp_path / "bot.log", "ab") as log:  # noqa: ASYNC230 (the child keeps its own copy)
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )


async def test_sigkill_then_redelivery_loses_nothing_and_repeats_nothing(rig, tmp_path) -> None:
    rig.clock.set(datetime.now(rig.clock.tz))  # the bot process runs on the real clock
    await add_unit(rig.db, rig.clock, code="V100", name="前进村")
    await add_person(rig.db, rig.clock, name="主任", roles=(Role.ADMIN,), telegram_user_id=1)
    (code,) = await invite.create(Role.CADRE, unit_code="V100", person_code=None, count=1,
                                       ttl=timedelta(days=1), by_user_id=None, uow=rig.db.uow(), clock=rig.clock)
    first = await _start_bot(rig, tmp_path)
    try:
        user = rig.fake.user(55, "Kill", "Test")
        start = await user.send_text(f"/start i_{code}")
        assert "前进村" in (await user.wait_reply(timeout=30)).text
        await rig.fake.user(1).wait_reply(timeout=30)  # the admin's notice went out
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    assert first.returncode == -signal.SIGKILL
    # A push decided while the bot was down waits in the outbox for the next process.
    async with rig.db.uow() as uow:
        await outbox.enqueue(uow.session, rig.clock, chat_id=55, text="等待发送", kind="test")
        await uow.commit()
    # Telegram never saw a confirmation from the killed process: it delivers /start again.
    await rig.fake.redeliver(start["update_id"])
    second = await _start_bot(rig, tmp_path)
    try:
        await user.send_text("/me")
        replies = await user.wait_replies(2, timeout=30)
        texts = sorted(m.text for m in replies)
        assert texts[0] == "等待发送" or texts[1] == "等待发送"
        assert any("Kill Test" in t and "前进村" in t for t in texts)
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 30)
    assert second.returncode == 0, (tmp_path / "bot.log").read_text()
    assert len(user.replies()) == 3  # the greeting, the push and /me: no second greeting or refusal
    assert len(rig.fake.messages_to(1)) == 1
    async with rig.db.uow() as uow:
        assert len((await uow.session.exec(select(AuditLog).where(AuditLog.action == "invitation.redeem"))).all()) == 1
        assert (await uow.session.exec(select(Invitation))).one().used_by_telegram_id == 55
        rows = (await uow.session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        # The admin's notice may have been in flight when the process died (sent, not yet marked):
        # it stays leased and is re-sent once the lease runs out; the later push is sent.
        assert rows[0].chat_id == 1 and rows[0].status in ("sent", "pending")
        assert rows[1].status == "sent" and rows[1].telegram_message_id is not None
