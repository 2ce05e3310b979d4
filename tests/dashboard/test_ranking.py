"""The ranking on the dashboard: the office sees the open round's live preview, a leader only a published
round (the same rule as /ranking), a cadre never."""

from __future__ import annotations

from models.people import Person
from tests.support.dashrig import client, dashboard_bot, get, sign_in
from tests.support.results_rig import seed


async def _code(rig, person_id: int) -> str:
    async with rig.db.uow() as uow:
        person = await uow.session.get(Person, person_id)
        assert person is not None
        return person.code


async def test_the_office_sees_the_live_ranking_and_a_leader_waits_for_publication(rig) -> None:
    """T1 城关镇 is well ahead (TA 1100/1000, TB 90/100), T3 河口镇 behind (200/1000, 20/100): T1 ranks first
    and T3 last among the townships; 红星村 is alone in its class."""
    county = await seed(rig)
    async with dashboard_bot(rig) as served:
        async with client() as http:
            await sign_in(served, http, rig, await _code(rig, county.people["赵主任"]))
            status, ranking = await get(http, f"{served.root}/api/v1/ranking")
            assert status == 200 and ranking["year"] == 2027 and ranking["live"] is True
            classes = {c["class"]: [u["code"] for u in c["units"]] for c in ranking["classes"]}
            assert classes == {"乡镇": ["T1", "T2", "T3"], "村": ["V1"]}
        async with client() as http:
            await sign_in(served, http, rig, await _code(rig, county.people["王县长"]))
            status, body = await get(http, f"{served.root}/api/v1/ranking")
            assert status == 200 and body["refused"] == "score_view.not_published" and "2027" in body["message"]
        async with client() as http:
            await sign_in(served, http, rig, await _code(rig, county.people["张三"]))
            status, body = await get(http, f"{served.root}/api/v1/ranking")
            assert status == 200 and body["refused"] == "ranking.not_allowed"
