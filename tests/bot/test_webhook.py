"""Webhook mode: Telegram's POSTs with good, wrong and missing secrets, malformed and oversized bodies,
a county not active here, and redelivery -- the real bot behind the real web server."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

from models.plan import Assignment, Target
from services.core import updates
from tests.support.botrig import running_bot
from tests.support.factories import add_person, add_unit
from tests.support.webhookrig import handled, sample, webhook_bot


async def seed_cadre(rig) -> None:
    village = await add_unit(rig.db, rig.clock, code="V1", name="青山村")
    await add_person(rig.db, rig.clock, name="张三", unit=village, telegram_user_id=200)
    await add_person(rig.db, rig.clock, name="Li Si", unit=village, telegram_user_id=201, language="en")
    async with rig.db.uow() as uow:
        target = Target(code="T1", year=2027, title="招商引资到位资金", category="investment", measure="万元",
                        mode="zero_base", deadline=date(2027, 12, 31))
        uow.session.add(target)
        await uow.session.flush()
        uow.session.add(Assignment(target_id=target.id, unit_id=village.id, planned_value=Decimal(1000)))
        await uow.commit()


def an_update(update_id: int, text: str = "/help", user_id: int = 200) -> dict:
    person = {"id": user_id, "is_bot": False, "first_name": "Intruder"}
    return {"update_id": update_id, "message": {
        "message_id": 1, "date": 1_800_000_000, "chat": {"id": user_id, "type": "private", "first_name": "Intruder"},
        "from": person, "text": text, "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}}


async def test_updates_arrive_by_webhook_with_the_secret_and_a_report_dialogue_works(rig) -> None:
    await seed_cadre(rig)
    async with webhook_bot(rig) as hooked:
        hook = rig.fake.webhook
        assert hook["url"] == hooked.url and hook["secret_token"] == hooked.secret
        assert "message" in hook["allowed_updates"] and "callback_query" in hook["allowed_updates"]
        cadre = rig.fake.user(200, "张三")
        await cadre.send_text("/help")
        assert "您可以使用以下命令" in (await cadre.wait_reply()).text
        await cadre.send_text("/report")
        menu = await cadre.wait_reply()
        assert "请选择" in menu.text
        await cadre.press_button(menu, "T1 招商引资到位资金")
        ask = await cadre.wait_reply()
        assert "累计完成值" in ask.text and "万元" in ask.text
        english = rig.fake.user(201, "Li", language_code="en")
        await english.send_text("/help")
        assert "Here is what you can do" in (await english.wait_reply()).text
    assert rig.fake.requests_for("getUpdates") == []  # nothing polled
    assert {status for _, status in rig.fake.webhook_attempts} == {200}
    assert rig.fake.pending_updates == []  # every update confirmed by its 200
    assert "secret_token" in rig.fake.webhook  # left set on stop: Telegram keeps updates for us


async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_handled(rig) -> None:
    async with webhook_bot(rig, county="c403") as hooked:
        before = await hooked.metrics()
        status, _ = await hooked.post(an_update(990_001), secret="not-the-secret")
        assert status == 403 and hooked.app.update_queue.qsize() == 0
        status, _ = await hooked.post(an_update(990_002), secret=None)
        assert status == 403 and hooked.app.update_queue.qsize() == 0
        other = await hooked.post(an_update(990_003), secret=hooked.secret[:-1] + "0")  # one character off
        assert other[0] == 403
        user = rig.fake.user(200)
        await handled(rig, await user.send_text("/help"))  # a good update after them is answered ...
        after = await hooked.metrics()
    assert len(user.replies()) == 1  # ... and the refused ones were not
    for update_id in (990_001, 990_002, 990_003):
        assert not await updates.is_handled(update_id, uow=rig.db.read_uow())
    requests = "duban_webhook_requests_total"
    assert sample(after, requests, county="c403", status="403") - sample(before, requests, county="c403",
                                                                          status="403") == 3
    received = "duban_updates_received_total"
    assert sample(after, received, county="c403") - sample(before, received, county="c403") == 1


async def test_malformed_and_oversized_bodies_are_refused_logged_and_the_server_keeps_serving(rig, caplog) -> None:
    async with webhook_bot(rig, county="c400", webhook_max_body=4096) as hooked:
        cases = [
            (b"\x00\xff this is not JSON", 400, "not JSON"),
            ("[1, 2, 3]", 400, "not an object"),
            ({"update_id": "7", "message": {}}, 400, "no update_id"),
            ({"message": {"text": "hi"}}, 400, "no update_id"),
            ({"update_id": 7, "message": "just a string"}, 400, "not an update"),
            ("[" * 2000 + "]" * 2000, 400, "nested too deeply"),
            ("[" * 10_000 + "]" * 10_000, 413, "body over 4096 bytes"),
            ({"update_id": 8, "message": {"text": "x" * 5000}}, 413, "body over 4096 bytes"),
        ]
        for body, expected, reason in cases:
            status, answer = await hooked.post(body)
            assert (status, reason in answer["error"]) == (expected, True), (body, status, answer)
        assert hooked.app.update_queue.qsize() == 0
        user = rig.fake.user(200)
        await user.send_text("/help")
        assert "您可以使用以下命令" in (await user.wait_reply()).text
    refused = [r for r in caplog.records if r.getMessage() == "webhook request refused"]
    assert [r.status for r in refused] == [c[1] for c in cases]
    assert all(r.county == "c400" and r.reason for r in refused)
    assert not any("just a string" in r.getMessage() + str(r.__dict__) for r in refused)  # bodies are not logged


async def test_a_county_not_active_here_answers_503_and_telegram_delivers_again_later(rig) -> None:
    async with webhook_bot(rig, county="c503") as hooked:
        hooked.server.unmount("c503")
        assert (await hooked.post(an_update(990_010)))[0] == 503
        assert (await hooked.post(an_update(990_011), path="/duban/elsewhere"))[0] == 404
        user = rig.fake.user(200)
        sent = await user.send_text("/help")
        await rig.fake.wait_until(lambda: (sent.update_id, 503) in rig.fake.webhook_attempts, what="a 503")
        assert user.replies() == [] and hooked.app.update_queue.qsize() == 0
        hooked.server.mount("c503", hooked.app, path=hooked.path, secret=hooked.secret)
        assert "您可以使用以下命令" in (await user.wait_reply()).text  # the fake's retry got through
    assert not await updates.is_handled(990_010, uow=rig.db.read_uow())


async def test_an_update_delivered_twice_by_webhook_is_handled_once(rig, caplog) -> None:
    caplog.set_level(logging.INFO)
    await seed_cadre(rig)
    async with webhook_bot(rig, county="cdup"):
        cadre = rig.fake.user(200)
        sent = await cadre.send_text("/me")
        assert "张三" in (await cadre.wait_reply()).text
        await rig.fake.redeliver(sent.update_id)
        await rig.fake.wait_until(
            lambda: [a for a in rig.fake.webhook_attempts if a == (sent.update_id, 200)][1:], what="second delivery")
    assert len(cadre.replies()) == 1
    assert rig.fake.delivery_counts[sent.update_id] == 2
    lines = [r for r in caplog.records if r.name == "duban.updates" and r.update_id == sent.update_id]
    assert [(r.handler, r.outcome) for r in lines] == [("help.me", "ok"), ("guard.before", "stopped")]


async def test_going_back_to_polling_deletes_the_webhook(rig) -> None:
    async with webhook_bot(rig, county="back"):
        user = rig.fake.user(200)
        await user.send_text("/help")
        await user.wait_reply()
    assert rig.fake.webhook is not None  # still set after the webhook bot stopped
    async with running_bot(rig):
        await user.send_text("/help")
        await user.wait_reply()
        assert rig.fake.webhook is None and rig.fake.requests_for("deleteWebhook")
    assert len(user.replies()) == 2
