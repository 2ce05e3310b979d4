"""The dashboard in a real browser (Chromium through Playwright): a leader signs in with a one-time link,
sees the board coloured as the service computes it, drills into a red cell (the chart and a photo), looks at
the map, acknowledges an alert (the database shows it), and the page logs no console error. Screenshots of
the board, the drill-down and the map are written to tests/artifacts/."""

from __future__ import annotations

from models.alerts import Alert
from services.dashboard import access
from services.dashboard.board import light_of
from services.progress.standings import standings
from tests.support.browser import artifact, watched_page
from tests.support.dashrig import dashboard_bot, init_data, mini_app_url, seed

RED = "rgb(217, 48, 37)"  # --red in style.css


async def test_a_leader_signs_in_sees_the_board_drills_into_a_red_cell_and_acknowledges_an_alert(
        rig, browser, db_kind: str) -> None:
    """The leader sees 青山村 only: A1 red (effective 10 against 21.978 expected), B1 green (seed's docstring)."""
    c = await seed(rig.db, rig.clock, rig.settings.evidence_dir)
    async with rig.db.read_uow() as uow:
        expected = {(st.unit_code, st.target_code): light_of(st.pace.status.value)
                    for st in await standings(uow.session, as_of=rig.clock.now().date(), tz=rig.clock.tz,
                                              unit_ids=[c["units"]["V1"].id])}
    assert expected == {("V1", "A1"): "red", ("V1", "B1"): "green"}
    async with dashboard_bot(rig) as served:
        token = await access.create_login("L1", actor="test", uow=rig.db.uow(), clock=rig.clock)
        w = await watched_page(browser)
        page = w.page
        await page.goto(f"{served.root}/dashboard/login?t={token}")
        await page.wait_for_selector("#grid td.cell")
        assert page.url == f"{served.root}/dashboard/"
        assert await page.inner_text("#title") == "督办看板"
        assert await page.locator("#grid tbody tr[data-unit]").count() == 1
        cells = page.locator("#grid td.cell[data-light]")
        assert await cells.count() == 2
        seen = sorted([await cells.nth(i).get_attribute("data-light") for i in range(2)])
        assert seen == sorted(expected.values())
        red = page.locator('#grid td.cell[data-light="red"]')
        assert await red.evaluate("td => getComputedStyle(td).backgroundColor") == RED
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.screenshot(path=artifact(f"dashboard-board-{db_kind}.png"), full_page=True)

        await red.click()
        await page.wait_for_selector("#drawer:not([hidden]) #chart canvas")
        assert "生猪出栏" in await page.inner_text("#detail h2")
        photo = page.locator(f'#detail img[data-evidence="{c["evidence"]}"]')
        await photo.wait_for()
        await page.wait_for_function(
            f"() => document.querySelector('#detail img[data-evidence=\"{c['evidence']}\"]').naturalWidth > 0")
        assert "不在现场" in await page.inner_text("#detail")
        await page.screenshot(path=artifact(f"dashboard-drilldown-{db_kind}.png"), full_page=True)
        await page.click("#close")

        await page.click("#tab-map")
        await page.wait_for_selector("#mapview path.leaflet-interactive")
        # 青山村 itself, its A1 site and the visit (the township is not this leader's)
        assert await page.locator("#mapview path.leaflet-interactive").count() == 3
        await page.screenshot(path=artifact(f"dashboard-map-{db_kind}.png"), full_page=True)

        await page.click("#tab-items")
        await page.wait_for_selector("#itemlist li")
        assert await page.inner_text("#itemlist") == "没有未办结的督办件。"
        await page.click("#tab-ranking")
        await page.wait_for_selector("#rankview p.refused")  # no assessment round yet: said, nothing failed

        await page.click("#tab-alerts")
        button = page.locator(f'button[data-alert="{c["alert"]}"]')
        assert await button.inner_text() == "已阅"
        await button.click()
        await page.wait_for_function(
            f"() => document.querySelector('button[data-alert=\"{c['alert']}\"]').textContent === '已确认'")
        assert w.errors == []
        await page.context.close()
    async with rig.db.uow() as uow:
        alert = await uow.session.get(Alert, c["alert"])
        assert alert is not None and alert.state == "acknowledged"
        assert alert.acknowledged_by_person_id == c["leader"].id


async def test_the_page_works_on_a_phone_and_a_used_link_is_refused(rig, browser, db_kind: str) -> None:
    await seed(rig.db, rig.clock, rig.settings.evidence_dir)
    async with dashboard_bot(rig) as served:
        token = await access.create_login("A0", actor="test", uow=rig.db.uow(), clock=rig.clock)
        w = await watched_page(browser, width=390, height=844, is_mobile=True, has_touch=True)
        await w.page.goto(f"{served.root}/dashboard/login?t={token}")
        await w.page.wait_for_selector("#grid td.cell")
        assert await w.page.locator("#grid tbody tr[data-unit]").count() == 3
        # the page itself does not scroll sideways: only the board's own frame does
        assert await w.page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        await w.page.evaluate("document.fonts.ready.then(() => true)")
        await w.page.screenshot(path=artifact(f"dashboard-phone-{db_kind}.png"))
        assert w.errors == []
        await w.page.context.close()
        again = await watched_page(browser)
        response = await again.page.goto(f"{served.root}/dashboard/login?t={token}")
        assert response is not None and response.status == 403
        assert "已使用或已过期" in await again.page.inner_text("body")
        await again.page.context.close()


async def test_inside_telegram_the_mini_app_signs_in_with_init_data(rig, browser) -> None:
    await seed(rig.db, rig.clock, rig.settings.evidence_dir)
    async with dashboard_bot(rig) as served:
        data = init_data(rig.fake.token, 400, int(rig.clock.now().timestamp()) - 30)
        w = await watched_page(browser, width=390, height=700, is_mobile=True, has_touch=True)
        await w.page.goto(mini_app_url(served, data))
        await w.page.wait_for_selector("#grid td.cell")
        assert [await r.get_attribute("data-unit") for r in await w.page.locator("#grid tr[data-unit]").all()] == ["V1"]
        assert "tgWebAppData" not in w.page.url  # the fragment is dropped once used
        await w.page.click('#grid td.cell[data-light="red"]')  # the photo comes with the bearer token
        await w.page.wait_for_function(
            "() => (document.querySelector('#detail img[data-evidence]') || {}).naturalWidth > 0")
        assert w.errors == []
        await w.page.context.close()
