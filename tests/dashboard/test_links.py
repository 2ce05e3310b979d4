"""Getting to the dashboard: /dashboard in chat (a Mini App button and a one-time link) and
``duban dashboard link --person CODE``; without DUBAN_PUBLIC_URL both say what to set."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from tests.support.botrig import running_bot
from tests.support.dashrig import client, dashboard_bot, get, seed


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
