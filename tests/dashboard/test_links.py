"""Getting to the dashboard: /dashboard in chat (a Mini App button and a one-time link) and
``duban dashboard link --person CODE``; without DUBAN_PUBLIC_URL both say what to set."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from bot.serve.runner import health_server
from services.dashboard import access
from tests.support.botrig import make_settings, running_bot
from tests.support.dashrig import client, dashboard_bot, get, seed
from tests.support.webhookrig import webhook_bot


async def test_dashboard_in_chat_offers_the_mini_app_and_a_one_time_link_that_signs_in(rig) -> None:
    await seed(rig.db, rig.clock, rig.settings.evidence_dir)
    async with dashboard_bot(rig) as served:
        leader = rig.fake.user(400)
        await leader.send_text("/dashboard")
        reply = await leader.wait_reply()
        assert "督办看板" in reply.text
        (app_button,), (link_button,) = reply.reply_markup["inline_keyboard"]
        assert app_button["web_app"]["url"] == f"{served.root}/dashboard/?c=default"
        link = link_button["url"]
        assert link.startswith(f"{served.root}/dashboard/login?c=default&t=")
        async with client() as http:
            async with http.get(link, allow_redirects=False) as r:
                assert r.status == 303 and r.headers["Location"] == "/dashboard/?c=default"
            status, me = await get(http, f"{served.root}/api/v1/me")
            assert status == 200 and me["name"] == "刘县长" and me["strings"]["dash.tab.board"] == "红黄绿灯"
            async with http.get(f"{served.root}/dashboard/?c=default") as r:
                assert r.status == 200 and "default-src 'self'" in r.headers["Content-Security-Policy"]
        async with client() as http, http.get(link, allow_redirects=False) as r:
            assert r.status == 403


async def test_dashboard_in_chat_without_a_public_url_says_what_to_set(rig) -> None:
    await seed(rig.db, rig.clock, rig.settings.evidence_dir)
    async with running_bot(rig):
        leader = rig.fake.user(400, language_code="en")
        await leader.send_text("/lang en")
        await leader.wait_reply()
        await leader.send_text("/dashboard")
        reply = await leader.wait_reply()
        assert "DUBAN_PUBLIC_URL" in reply.text and reply.reply_markup is None


async def test_the_command_line_prints_a_one_time_link(rig, cli) -> None:
    await seed(rig.db, rig.clock, rig.settings.evidence_dir)
    rig.clock.set(datetime.now(rig.clock.tz))  # the command line runs on the system clock, like the bot in production
    async with dashboard_bot(rig) as served:
        result = await cli("dashboard", "link", "--person", "L1", DUBAN_PUBLIC_URL=served.root)
        assert result.code == 0, result.err
        link = result.out.strip()
        assert link.startswith(f"{served.root}/dashboard/login?t=") and len(parse_qs(urlsplit(link).query)["t"][0]) > 40
        async with client() as http:
            async with http.get(link, allow_redirects=False) as r:
                assert r.status == 303
            assert (await get(http, f"{served.root}/api/v1/board"))[0] == 200
    unknown = await cli("dashboard", "link", "--person", "NOBODY", DUBAN_PUBLIC_URL="https://duban.example.org")
    assert unknown.code == 1 and "NOBODY" in unknown.err
    missing = await cli("dashboard", "link", "--person", "L1")
    assert missing.code == 2 and "DUBAN_PUBLIC_URL" in missing.err


async def test_in_webhook_mode_the_dashboard_shares_the_webhook_port(rig) -> None:
    """The webhook's catch-all POST route does not swallow the dashboard's POSTs."""
    c = await seed(rig.db, rig.clock, rig.settings.evidence_dir)
    async with webhook_bot(rig) as hooked, client() as http:
        token = await access.create_login("L1", actor="test", uow=rig.db.uow(), clock=rig.clock)
        async with http.get(f"{hooked.root}/dashboard/login?t={token}", allow_redirects=False) as r:
            assert r.status == 303
        assert (await get(http, f"{hooked.root}/api/v1/board"))[0] == 200
        async with http.post(f"{hooked.root}/api/v1/alerts/{c['alert']}/ack") as r:
            assert r.status == 200
        status, _ = await hooked.post({"update_id": 1, "message": {"message_id": 1, "date": 0,
                                                                  "chat": {"id": 1, "type": "private"}}})
        assert status == 200


async def test_in_polling_mode_web_port_serves_the_dashboard_and_health_only_with_the_token(rig) -> None:
    settings = make_settings(rig.fake, rig.db.url, rig.settings.evidence_dir, web_port=0,
                             metrics_token="a-metrics-token-for-tests")
    server = health_server(settings)
    await server.start()
    try:
        root = f"http://127.0.0.1:{server.port}"
        async with client() as http:
            async with http.get(f"{root}/dashboard/") as r:
                assert r.status == 404  # no county active here yet
            async with http.get(f"{root}/healthz") as r:
                assert r.status == 401
            async with http.post(f"{root}/duban/default", json={"update_id": 1}) as r:
                assert r.status in (404, 405)  # no webhooks in polling mode
    finally:
        await server.stop()


def test_the_dashboards_settings_are_checked_at_load() -> None:
    from pydantic import ValidationError

    from config.settings import Settings

    s = Settings(_env_file=None, public_url="https://bot.example.org/", map_tiles="https://t.example.org/{z}/{x}/{y}.png")
    assert s.public_url == "https://bot.example.org" and s.web_port is None and s.dashboard_session_hours == 8
    for bad in ({"public_url": "bot.example.org"}, {"map_tiles": "https://t.example.org/tiles.png"},
                {"dashboard_init_max_age": 0}, {"web_port": 70000}):
        try:
            Settings(_env_file=None, **bad)
        except ValidationError as exc:
            assert next(iter(bad)) in str(exc)
        else:
            raise AssertionError(f"{bad} accepted")
