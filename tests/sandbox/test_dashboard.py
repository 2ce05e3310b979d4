"""The leaders' dashboard is reachable from the sandbox: /dashboard in the web chat gives a one-time link to the
sandbox's own address; opening it signs the leader in, the board answers with the leader's part of the county,
and the link does not work a second time."""

from __future__ import annotations

import aiohttp

from tests.support.sandboxrig import LEADER, SandboxProcess


async def test_a_leader_opens_the_dashboard_from_the_sandbox_chat(demo_data) -> None:
    async with SandboxProcess(demo_data) as sandbox:
        before = len(await sandbox.chat(LEADER))
        await sandbox.say(LEADER, "/dashboard")
        offer = await sandbox.wait_for(LEADER, lambda m: bool(m.get("inline")), since=before)
        urls = [b["url"] for row in offer["inline"] for b in row if b.get("url")]
        login = next(u for u in urls if "/dashboard/login" in u)
        assert login.startswith(sandbox.url + "/dashboard/login?")
        assert any(u.startswith(sandbox.url + "/dashboard/") and "login" not in u for u in urls)  # the Mini App's

        # A browser keeps cookies of 127.0.0.1; aiohttp's jar does so only when told (unsafe=True).
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            async with session.get(login) as r:  # the cookie, then on to the page
                assert r.status == 200 and "text/html" in r.headers["Content-Type"]
            async with session.get(f"{sandbox.url}/api/v1/board") as r:
                assert r.status == 200
                board = await r.json()
            assert "红星村" in str(board)  # 刘县长 is linked to 红星村
        async with aiohttp.ClientSession() as stranger:
            async with stranger.get(f"{sandbox.url}/api/v1/board") as r:
                assert r.status == 401  # no session
            async with stranger.get(login) as r:
                assert r.status == 403  # used once already
