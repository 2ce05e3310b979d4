"""Log lines: one JSON line per update with its fields, never a token, a secret or anybody's text."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from bot import logs
from tests.support.factories import add_person, add_unit
from tests.support.webhookrig import handled, webhook_bot


@contextmanager
def captured(fmt: str) -> Iterator[io.StringIO]:
    """What the process's log handler (``DUBAN_LOG_FORMAT=fmt``) would write, at INFO."""
    stream, root = io.StringIO(), logging.getLogger()
    handler, level = logs.handler(fmt, stream), root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_one_json_line_per_update_with_its_fields_and_no_text_token_or_secret(rig) -> None:
    unit = await add_unit(rig.db, rig.clock, code="V1", name="青山村")
    await add_person(rig.db, rig.clock, name="张三", unit=unit, telegram_user_id=200)
    with captured("json") as stream:
        async with webhook_bot(rig, county="lx") as hooked:
            cadre, stranger = rig.fake.user(200), rig.fake.user(777, language_code="en")
            mine = await cadre.send_text("我的身份证号是 110101199003077777")
            await cadre.wait_reply()
            theirs = await stranger.send_text("private words of a stranger")
            await stranger.wait_reply()
            await hooked.post("garbage", secret="wrong")
            await handled(rig, mine, theirs)
            # httpx would log a request URL like this one (it is kept at WARNING, but whatever logs one):
            logging.getLogger("somewhere").warning("POST %s failed", f"{rig.fake.url}/bot{rig.fake.token}/sendMessage")
    text = stream.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    per_update = {x["update_id"]: x for x in lines if x.get("logger") == logs.UPDATE_LOGGER}
    assert set(per_update) == {mine.update_id, theirs.update_id}
    line = per_update[mine.update_id]
    assert {k: line[k] for k in ("county", "type", "handler", "outcome", "level", "event")} == {
        "county": "lx", "type": "message", "handler": "guard.unknown", "outcome": "ok", "level": "info",
        "event": "update"}
    assert isinstance(line["duration_ms"], float) and line["time"].endswith("Z")
    assert (per_update[theirs.update_id]["handler"], per_update[theirs.update_id]["outcome"]) == (
        "guard.before", "stopped")
    refused = [x for x in lines if x["event"] == "webhook request refused"]
    assert [(x["status"], x["reason"], x["county"]) for x in refused] == [(403, "wrong secret token", "lx")]
    assert "bot***/sendMessage" in text
    for secret in (rig.fake.token, hooked.secret, "110101199003077777", "private words"):
        assert secret not in text


async def test_text_lines_carry_the_same_fields_for_people_at_a_terminal(rig) -> None:
    with captured("text") as stream:
        async with webhook_bot(rig, county="tx"):
            user = rig.fake.user(300)
            await handled(rig, await user.send_text("/help"))
    (line,) = [x for x in stream.getvalue().splitlines() if "duban.updates" in x]
    for field in ("update", "county=tx", "handler=help.help_command", "outcome=ok", "type=message", "duration_ms="):
        assert field in line, line
    assert rig.fake.token not in stream.getvalue()


def test_setup_leaves_a_configured_root_logger_alone_and_quiets_chatty_libraries() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    logs.setup(logging.INFO, "json")  # under pytest the root logger already has pytest's handlers
    assert root.handlers == before
    assert logging.getLogger("httpx").level == logging.WARNING
    assert logs.redact("GET https://api.telegram.org/bot123:ABC-def_9/getMe") == "GET https://api.telegram.org/bot***/getMe"
