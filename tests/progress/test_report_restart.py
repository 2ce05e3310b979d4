"""/report survives a restart at every step: the draft and its state are in the database."""

from __future__ import annotations

import signal
from datetime import datetime
from decimal import Decimal

import pytest

from bot.app.persistence import DbPersistence
from tests.bot.test_restart import _start_bot
from tests.progress.test_report import PNG, reports, seed
from tests.support.botrig import running_bot

STEPS = ["report", "value", "note", "file", "done"]


async def _act(user, step: str) -> None:
    if step == "report":
        await user.send_text("/report T1")
    elif step == "value":
        await user.send_text("250")
    elif step == "note":
        await user.send_text("重启前的说明")
    elif step == "file":
        await user.send_photo(PNG)
    elif step == "done":
        await user.send_text("/done")


@pytest.mark.parametrize("stop_after", STEPS)
async def test_a_new_application_continues_at_the_same_step(rig, monkeypatch, stop_after) -> None:
    # PTB's own persistence writes never happen (as after a kill -9 before its 60 s flush):
    # only what the steps wrote in their transactions survives.
    async def lost(self, name, key, new_state) -> None:
        return None

    monkeypatch.setattr(DbPersistence, "update_conversation", lost)
    await seed(rig)
    user = rig.fake.user(200)
    index = STEPS.index(stop_after)
    async with running_bot(rig):
        for step in STEPS[: index + 1]:
            await _act(user, step)
            await user.wait_reply()
    async with running_bot(rig):
        for step in STEPS[index + 1:]:
            await _act(user, step)
            await user.wait_reply()
        summary = user.replies()[-1]
        await user.press_button(summary, "确认提交")
        assert "已提交" in (await user.wait_reply()).text
    (report,) = await reports(rig)
    assert report.value == Decimal(250) and report.note == "重启前的说明"


async def test_sigkill_in_the_middle_of_a_report(rig, tmp_path) -> None:
    rig.clock.set(datetime.now(rig.clock.tz))
    await seed(rig)
    user = rig.fake.user(200)
    first = await _start_bot(rig, tmp_path)
    try:
        await user.send_text("/report T1")
        await user.wait_reply(timeout=30)
        await user.send_text("260")
        assert "260 万元" in (await user.wait_reply(timeout=30)).text
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    second = await _start_bot(rig, tmp_path)
    try:
        await user.send_text("/skip")
        assert "佐证" in (await user.wait_reply(timeout=30)).text
        await user.send_text("/done")
        summary = await user.wait_reply(timeout=30)
        await user.press_button(summary, "确认提交")
        assert "已提交" in (await user.wait_reply(timeout=30)).text
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()
    assert [r.value for r in await reports(rig)] == [Decimal(260)]
