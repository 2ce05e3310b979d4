"""The sandbox survives a restart with the same data: killed in the middle of a dialogue (SIGKILL, nothing
flushed on the way out), started again on the same folder, the chats are there, the dialogue goes on where it
stopped and the clock stands where it stood."""

from __future__ import annotations

import signal
from datetime import datetime

from tests.support.sandboxrig import CADRE, SandboxProcess


def _says(text: str):
    return lambda m: m["from"] == "bot" and text in m["html"]


async def test_a_kill_in_the_middle_of_a_report_loses_nothing(demo_data) -> None:
    first = SandboxProcess(demo_data)
    await first.start()
    try:
        before = len(await first.chat(CADRE))
        await first.say(CADRE, "/report MB2026-02")
        await first.wait_for(CADRE, _says("累计完成值"), before)
        await first.say(CADRE, "200")
        echo = await first.wait_for(CADRE, _says("已识别为：200 亩"), before)
    finally:
        assert await first.stop(signal.SIGKILL) == -signal.SIGKILL

    async with SandboxProcess(demo_data) as second:
        messages = await second.chat(CADRE)
        assert len(messages) == before + 4  # /report, its question, "200", the echo
        assert [m["html"] for m in messages if m["from"] == "me"][-2:] == ["/report MB2026-02", "200"]
        state = await second.call("GET", "/api/state")
        assert datetime.fromisoformat(state["now"]).timestamp() >= echo["date"] and state["demo"] == "done"
        assert len(state["people"]) == 20
        await second.say(CADRE, "地块已整理完毕")
        await second.wait_for(CADRE, _says("佐证"), len(messages))
        await second.say(CADRE, "/done")
        summary = await second.wait_for(CADRE, _says("请核对后确认提交"), len(messages))
        assert "累计完成：200 亩" in summary["html"] and "地块已整理完毕" in summary["html"]
        (confirm,) = [b for row in summary["inline"] for b in row if b["text"] == "确认提交"]
        await second.call("POST", f"/api/chat/{CADRE}/press", {"message_id": summary["message_id"],
                                                               "data": confirm["data"]})
        done = await second.wait_for(CADRE, _says("已提交"), len(messages))
        assert "200 亩" in done["html"]
