"""The dashboard's JSON routes through the real server, on both databases: signing in (one-time link,
Telegram initData), sessions, and /score's scoping for each role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from models.alerts import Alert
from models.core import AuditLog
from models.dashboard import DashboardLogin
from models.people import RoleMembership
from services.dashboard import access
from services.people.person import deactivate
from tests.support.dashrig import client, dashboard_bot, get, init_data, seed, sign_in


async def test_a_leader_sees_the_board_of_their_linked_unit_and_gets_403_for_another(rig) -> None:
    """The leader is linked to 青山村 (V1) only: the board has that one row, coloured as the seed's docstring
    works out (A1 red, B1 green); 河口村 (V2), its assignment and the department are refused with 403."""
    c = await seed(rig.db, rig.clock, rig.settings.evidence_dir)
    async with dashboard_bot(rig) as served, client() as http:
        await sign_in(served, http, rig, "L1")
        status, board = await get(http, f"{served.root}/api/v1/board")
        assert status == 200
        rows = [r for g in board["groups"] for r in g["rows"]]
        assert [r["code"] for r in rows] == ["V1"]
        assert rows[0]["cells"]["industry"]["light"] == "red"
        assert rows[0]["cells"]["investment"]["light"] == "green"
        assert rows[0]["counts"] == {"red": 1, "yellow": 0, "green": 1, "grey": 0}
        status, unit = await get(http, f"{served.root}/api/v1/units/V1")
        assert status == 200 and [a["target"] for a in unit["assignments"]] == ["A1", "B1"]
        assert unit["assignments"][0]["effective"] == "10" and unit["assignments"][0]["claimed"] == "30"
        for path in ("units/V2", "units/D1", f"assignments/{c['assignments']['v2a']}"):
            status, body = await get(http, f"{served.root}/api/v1/{path}")
            assert status == 403, path
            assert body["message"] == "抱歉，您无权查看这个单位的数据。"
        status, _ = await get(http, f"{served.root}/api/v1/units/NOPE")
        assert status == 404


async def test_an_admin_sees_every_unit_grouped_by_class_with_villages_under_their_township(rig) -> None:
    """Classes in the order met (department, township, village by code); V2's A1 is yellow (pace 0.819),
    D1's C1 red (no report: pace 0)."""
    await seed(rig.db, rig.clock, rig.settings.evidence_dir)
    async with dashboard_bot(rig) as served, client() as http:
        await sign_in(served, http, rig, "A0")
        status, board = await get(http, f"{served.root}/api/v1/board")
        assert status == 200
        by_class = {g["class"]: [r["code"] for r in g["rows"]] for g in board["groups"]}
        assert by_class == {"department": ["D1"], "village": ["V1", "V2"]}
        rows = {r["code"]: r for g in board["groups"] for r in g["rows"]}
        assert rows["V2"]["cells"]["industry"]["light"] == "yellow" and rows["V2"]["parent"] == "青山镇"
        assert rows["V2"]["depth"] == 1
        assert rows["D1"]["cells"]["project_delivery"]["status"] == "red"
        assert board["totals"] == {"red": 2, "yellow": 1, "green": 1, "grey": 0, "items": 0}
        status, by_target = await get(http, f"{served.root}/api/v1/board?by=target")
        assert [c["label"] for c in by_target["columns"]] == ["A1 生猪出栏", "B1 招商项目", "C1 重点项目落实"]


async def test_a_cadre_sees_their_unit_and_an_inspector_their_scope(rig) -> None:
    c = await seed(rig.db, rig.clock, rig.settings.evidence_dir)
    async with rig.db.uow() as uow:
        m = (await uow.session.exec(select(RoleMembership).where(
            RoleMembership.person_id == c["inspector"].id))).one()
        m.scope = "V1"
        uow.session.add(m)
        await uow.commit()
    async with dashboard_bot(rig) as served:
        async with client() as http:
            await sign_in(served, http, rig, "C2")
            _, board = await get(http, f"{served.root}/api/v1/board")
            assert [r["code"] for g in board["groups"] for r in g["rows"]] == ["V2"]
            assert (await get(http, f"{served.root}/api/v1/units/V1"))[0] == 403
        async with client() as http:
            await sign_in(served, http, rig, "I1")
            _, board = await get(http, f"{served.root}/api/v1/board")
            assert [r["code"] for g in board["groups"] for r in g["rows"]] == ["V1"]
            assert (await get(http, f"{served.root}/api/v1/units/V2"))[0] == 403


async def test_a_stranger_without_a_session_gets_401_everywhere(rig) -> None:
    c = await seed(rig.db, rig.clock, rig.settings.evidence_dir)
    async with dashboard_bot(rig) as served, client() as http:
        for path in ("me", "board", "units/V1", f"assignments/{c['assignments']['v1a']}", "map", "alerts", "items",
                     f"evidence/{c['evidence']}"):
            status, body = await get(http, f"{served.root}/api/v1/{path}")
            assert status == 401, path
        assert body["error"] == "dash.not_signed_in"
        http.cookie_jar.update_cookies({"duban_session": "default.forged-token"})
        assert (await get(http, f"{served.root}/api/v1/board"))[0] == 401
        async with http.post(f"{served.root}/api/v1/alerts/{c['alert']}/ack") as r:
            assert r.status == 401


async def test_the_one_time_link_works_once_and_not_after_ten_minutes(rig) -> None:
    await seed(rig.db, rig.clock, rig.settings.evidence_dir)
    async with dashboard_bot(rig) as served:
        token = await access.create_login("L1", actor="test", uow=rig.db.uow(), clock=rig.clock)
        link = f"{served.root}/dashboard/login?t={token}"
        async with client() as http:
            async with http.get(link, allow_redirects=False) as r:
                assert r.status == 303 and r.headers["Location"] == "/dashboard/"
                cookie = r.headers["Set-Cookie"]
                assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=28800" in cookie
            assert (await get(http, f"{served.root}/api/v1/me"))[1]["name"] == "刘县长"
        async with client() as http:
            async with http.get(link, allow_redirects=False) as r:
                assert r.status == 403 and "已使用或已过期" in await r.text()
            assert (await get(http, f"{served.root}/api/v1/me"))[0] == 401
        late = await access.create_login("L1", actor="test", uow=rig.db.uow(), clock=rig.clock)
        rig.clock.set(rig.clock.now() + timedelta(minutes=10, seconds=1))
        async with client() as http, http.get(f"{served.root}/dashboard/login?t={late}", allow_redirects=False) as r:
            assert r.status == 403
    async with rig.db.uow() as uow:
        rows = (await uow.session.exec(select(DashboardLogin))).all()
        assert token not in {row.token_hash for row in rows}  # only hashes are kept
        assert (await uow.session.exec(select(AuditLog).where(AuditLog.action == "dashboard.sign_in"))).all()


async def test_the_session_ends_when_the_person_is_deactivated_or_after_eight_hours(rig) -> None:
    await seed(rig.db, rig.clock, rig.settings.evidence_dir)
    async with dashboard_bot(rig) as served:
        async with client() as http:
            await sign_in(served, http, rig, "L1")
            assert (await get(http, f"{served.root}/api/v1/board"))[0] == 200
            await deactivate("L1", actor="test", uow=rig.db.uow(), clock=rig.clock)
            assert (await get(http, f"{served.root}/api/v1/board"))[0] == 401
        async with client() as http:
            await sign_in(served, http, rig, "A0")
            rig.clock.set(rig.clock.now() + timedelta(hours=8))
            assert (await get(http, f"{served.root}/api/v1/board"))[0] == 401


async def test_telegram_init_data_is_accepted_when_valid_and_refused_when_tampered_or_stale(rig) -> None:
    await seed(rig.db, rig.clock, rig.settings.evidence_dir)
    bot_token = rig.fake.token
    now = int(rig.clock.now().timestamp())
    async with dashboard_bot(rig, dashboard_init_max_age=3600) as served:
        async def post(data: str) -> tuple[int, dict]:
            async with client() as http:
                async with http.post(f"{served.root}/api/v1/session/telegram", json={"initData": data}) as r:
                    status, body = r.status, await r.json()
                if status == 200:
                    me = await get(http, f"{served.root}/api/v1/me")
                    return status, me[1]
                return status, body

        status, me = await post(init_data(bot_token, 400, now - 60))
        assert status == 200 and me["name"] == "刘县长" and me["roles"] == ["leader"]
        async with client() as http:  # Telegram Web's frame: no cookie, the token as a bearer header
            async with http.post(f"{served.root}/api/v1/session/telegram",
                                 json={"initData": init_data(bot_token, 400, now)}) as r:
                bearer = (await r.json())["token"]
            http.cookie_jar.clear()
            async with http.get(f"{served.root}/api/v1/board", headers={"Authorization": f"Bearer {bearer}"}) as r:
                assert r.status == 200
            async with http.get(f"{served.root}/api/v1/board", headers={"Authorization": "Bearer default.x"}) as r:
                assert r.status == 401
        tampered = init_data(bot_token, 400, now - 60).replace("%22id%22%3A+400", "%22id%22%3A+500")
        assert "500" in tampered
        assert (await post(tampered))[0] == 401
        assert (await post(init_data("123:another-bots-token-xyz", 400, now - 60)))[0] == 401
        assert (await post(init_data(bot_token, 400, now - 3601)))[0] == 401
        assert (await post(init_data(bot_token, 999, now)))[0] == 401  # valid, but nobody registered
        assert (await post("not=init&data"))[0] == 401


async def test_a_leader_acknowledges_an_alert_and_opens_a_photo_of_their_unit(rig) -> None:
    c = await seed(rig.db, rig.clock, rig.settings.evidence_dir)
    async with dashboard_bot(rig) as served, client() as http:
        await sign_in(served, http, rig, "L1")
        status, alerts = await get(http, f"{served.root}/api/v1/alerts")
        assert status == 200 and [a["id"] for a in alerts] == [c["alert"]] and alerts[0]["title"] == "生猪出栏"
        async with http.post(f"{served.root}/api/v1/alerts/{c['alert']}/ack") as r:
            assert r.status == 200 and (await r.json())["by"] == "刘县长"
        async with http.get(f"{served.root}/api/v1/evidence/{c['evidence']}?thumb=1") as r:
            assert r.status == 200 and r.headers["Content-Type"] == "image/jpeg"
        status, detail = await get(http, f"{served.root}/api/v1/assignments/{c['assignments']['v1a']}")
        visit = detail["inspections"][0]["id"]
        assert detail["photos"] == [{"id": c["evidence"], "source": "inspection", "visit": visit, "flags": []}]
        assert detail["inspections"][0]["flags"] == ["off_site"]
        assert detail["line"][0] == {"date": "2027-01-01", "value": "0"}
        assert detail["line"][-1] == {"date": "2027-12-31", "value": "100"}
        assert {"date": "2027-03-22", "value": "21.978"} in detail["line"]
    async with rig.db.uow() as uow:
        alert = await uow.session.get(Alert, c["alert"])
        assert alert is not None and alert.state == "acknowledged" and alert.acknowledged_by_person_id == c["leader"].id


@pytest.mark.parametrize("who", ["C2"])
async def test_another_units_photo_and_alert_are_refused(rig, who: str) -> None:
    c = await seed(rig.db, rig.clock, rig.settings.evidence_dir)
    async with dashboard_bot(rig) as served, client() as http:
        await sign_in(served, http, rig, who)
        async with http.get(f"{served.root}/api/v1/evidence/{c['evidence']}") as r:
            assert r.status == 403
        async with http.post(f"{served.root}/api/v1/alerts/{c['alert']}/ack") as r:
            assert r.status == 403
    async with rig.db.uow() as uow:
        assert (await uow.session.get(Alert, c["alert"])).state == "open"
