"""Supervision items on the dashboard: the person's open items as /items lists them, and Verify (核查通过 →
销号) for the item's opener, through the same lifecycle service as the chat's Approve button."""

from __future__ import annotations

from datetime import timedelta

from models.items import ItemPart, SupervisionItem
from models.people import Person
from services.calendar.workdays import WorkCalendar
from services.items import lifecycle
from tests.support.dashrig import client, dashboard_bot, get, sign_in
from tests.support.itemrig import audits, county, report_done, told


async def test_the_opener_verifies_a_reported_item_and_others_cannot(rig) -> None:
    c = await county(rig.db, rig.clock)
    async with dashboard_bot(rig) as served:
        zhang = rig.fake.user(200)
        async with rig.db.uow() as uow:
            s = uow.session
            await lifecycle.open_item(s, rig.clock, await s.get(Person, c["liu"].id), source="instruction",
                                      unit_ids=[c["v1"].id], deadline=rig.clock.now().date() + timedelta(days=10),
                                      task="修缮村委会屋顶", flagged=False, photos=[], sign_hours=8,
                                      cal=WorkCalendar({}))
            await uow.commit()
        await told(rig, zhang, "新的督办件")
        await lifecycle.sign(1, user_id=200, update_id=None, uow=rig.db.uow(), clock=rig.clock)
        await report_done(rig, zhang, 1, note="屋顶已修缮")
        async with client() as http:
            await sign_in(served, http, rig, c["zhang"].code)
            status, listed = await get(http, f"{served.root}/api/v1/items")
            assert status == 200 and [p["verify"] for p in listed[0]["parts"]] == [False]
            async with http.post(f"{served.root}/api/v1/items/parts/1/verify") as r:
                assert r.status == 409
        async with client() as http:
            await sign_in(served, http, rig, c["chen"].code)
            assert (await get(http, f"{served.root}/api/v1/items"))[1] == []
        async with client() as http:
            await sign_in(served, http, rig, c["liu"].code)
            status, listed = await get(http, f"{served.root}/api/v1/items")
            assert [(i["task"], [(p["unit"], p["state"], p["verify"]) for p in i["parts"]]) for i in listed] == [
                ("修缮村委会屋顶", [("青山村", "reported", True)])]
            async with http.post(f"{served.root}/api/v1/items/parts/1/verify") as r:
                assert r.status == 200 and (await r.json())["state"] == "closed"
            assert (await get(http, f"{served.root}/api/v1/items"))[1] == []
    async with rig.db.uow() as uow:
        part = await uow.session.get(ItemPart, 1)
        item = await uow.session.get(SupervisionItem, 1)
        assert part is not None and part.state == "closed" and part.decided_by_person_id == c["liu"].id
        assert item is not None and item.state == "closed"
    assert await audits(rig.db, "item.approve")
