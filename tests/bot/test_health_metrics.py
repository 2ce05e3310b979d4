"""GET /healthz and GET /metrics of the webhook server, on both databases."""

from __future__ import annotations

from datetime import date, timedelta

import aiohttp
from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import select

from models.alerts import Alert
from models.db import Database
from services.core import outbox
from tests.support.alertrig import add_target, county
from tests.support.webhookrig import METRICS_TOKEN, handled, sample, webhook_bot


async def queue_later(rig, n: int) -> None:
    """``n`` pushes due tomorrow: they wait in the outbox (the backlog)."""
    async with rig.db.uow() as uow:
        for i in range(n):
            await outbox.enqueue(uow.session, rig.clock, chat_id=9000 + i, text=f"明天发送 {i}", kind="test",
                                 not_before=rig.clock.now() + timedelta(days=1))
        await uow.commit()


def unreachable(db_kind: str, url: str, tmp_path) -> str:
    if db_kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}"  # a directory: SQLite cannot open it
    return make_url(url).set(port=1).render_as_string(hide_password=False)  # nothing listens there


async def test_healthz_reports_database_scheduler_and_backlog_per_county(rig) -> None:
    await queue_later(rig, 2)
    async with webhook_bot(rig, county="h1", tick_interval=3600) as hooked:
        status, body = await hooked.get("healthz")
    assert status == 200, body
    assert body["ok"] is True and body["standby"] == []
    h1 = body["counties"]["h1"]
    assert h1["database"] == "ok" and h1["outbox_backlog"] == 2 and h1["delivery"] == "running"
    assert h1["scheduler"] == "ok" and 0 <= h1["last_tick_age_seconds"] < 3600


async def test_healthz_shows_a_disabled_scheduler_and_counties_held_elsewhere(rig) -> None:
    async with webhook_bot(rig, county="h2", tick_interval=0) as hooked:
        hooked.server.standby("h2b", "/duban/h2b")
        status, body = await hooked.get("healthz")
        assert status == 200 and body["counties"]["h2"]["scheduler"] == "disabled"
        assert body["standby"] == ["h2b"] and body["counties"]["h2"]["last_tick_age_seconds"] is None
        assert (await hooked.post({"update_id": 5}, path="/duban/h2b"))[0] == 503  # not served here


async def test_healthz_is_503_when_a_county_database_is_unreachable(rig, db_kind, tmp_path) -> None:
    async with webhook_bot(rig, county="h3") as hooked:
        hooked.server.health_ttl = 0.0  # every request checks (the answer is otherwise kept for a second)
        deps = hooked.app.bot_data
        good, bad = deps.db, Database(unreachable(db_kind, rig.db.url, tmp_path))
        deps.db = bad
        try:
            status, body = await hooked.get("healthz")
            metrics = await hooked.metrics()
        finally:
            deps.db = good
            await bad.dispose()
        assert status == 503 and body["ok"] is False
        h3 = body["counties"]["h3"]
        assert h3["ok"] is False and h3["database"].startswith("error: ") and h3["outbox_backlog"] is None
        assert ("duban_outbox_backlog", (("county", "h3"),)) not in metrics  # no stale number
        status, body = await hooked.get("healthz")
        assert status == 200 and body["counties"]["h3"]["database"] == "ok"  # back once it is reachable


async def test_metrics_count_updates_by_handler_sends_429s_backlog_and_alerts(rig) -> None:
    c = await county(rig.db, rig.clock)
    await add_target(rig.db, c, "A1", deadline=rig.clock.now().date())  # due today
    await add_target(rig.db, c, "A2", deadline=date(2027, 3, 18))  # overdue
    await queue_later(rig, 3)
    async with webhook_bot(rig, county="m1", tick_interval=3600) as hooked:
        before = await hooked.metrics()
        cadre, stranger = rig.fake.user(200), rig.fake.user(777)
        sent = [await cadre.send_text("/help"), await stranger.send_text("你好")]  # a stranger: the gate stops it
        await cadre.wait_reply()
        await stranger.wait_reply()
        rig.fake.fail_next("sendMessage", status=429, retry_after=1, chat_id=200)
        sent.append(await cadre.send_text("随便说点什么"))  # answered after the 429's retry_after
        await cadre.wait_reply()
        await handled(rig, *sent)
        (job,) = hooked.app.job_queue.get_jobs_by_name("tick")
        await job.run(hooked.app)  # the scheduler's tick, as the job queue runs it
        await hooked.app.bot_data.delivery.settle()
        async with aiohttp.ClientSession() as s, s.get(f"{hooked.root}/metrics",
                                                      headers={"Authorization": f"Bearer {METRICS_TOKEN}"}) as r:
            content_type = r.headers["Content-Type"]
        after = await hooked.metrics()
    async with rig.db.read_uow() as uow:
        created = dict((await uow.session.exec(select(Alert.level, func.count()).group_by(Alert.level))).all())
        backlog = await outbox.backlog(uow=rig.db.read_uow())

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, county="m1", **labels) - sample(before, name, county="m1", **labels)

    assert content_type.startswith("text/plain") and "version=0.0.4" in content_type
    assert delta("duban_updates_received_total") == 3
    assert delta("duban_updates_handled_total", handler="help.help_command", outcome="ok") == 1
    assert delta("duban_updates_handled_total", handler="guard.before", outcome="stopped") == 1
    assert delta("duban_updates_handled_total", handler="guard.unknown", outcome="ok") == 1
    assert delta("duban_update_duration_seconds_count", handler="help.help_command") == 1
    assert delta("duban_webhook_requests_total", status="200") == 3
    assert delta("duban_telegram_429_total") == 1
    assert created and {lvl: delta("duban_alerts_created_total", level=lvl) for lvl in created} == created
    assert delta("duban_outbox_sent_total") >= 1  # the alerts went out
    assert sample(after, "duban_outbox_backlog", county="m1") == backlog == 3  # tomorrow's pushes still wait
    assert sample(after, "duban_scheduler_tick_lag_seconds", county="m1") >= 0
    assert sample(after, "duban_scheduler_last_tick_timestamp_seconds", county="m1") > 1.7e9
    assert sample(after, "duban_county_active", county="m1") == 1
