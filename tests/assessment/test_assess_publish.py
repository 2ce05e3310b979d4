"""Publication (公示), closing and reopening of a round: the stored rows, the cadres' messages, the audit,
the refusals, and a closed round that a later report does not change (also as /score shows it)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import col, select

from models.assessment import AssessmentResult, AssessmentRound
from models.core import AuditLog
from services.assessment import rounds
from services.core.errors import DomainError
from tests.support.results_rig import CADRE_EN, CADRE_V, CADRE_ZH, outbox_to, report, seed


async def _round(rig) -> AssessmentRound:
    async with rig.db.uow() as uow:
        return (await uow.session.exec(select(AssessmentRound))).one()


async def _audit(rig, action: str) -> list[AuditLog]:
    async with rig.db.uow() as uow:
        return list((await uow.session.exec(select(AuditLog).where(AuditLog.action == action)
                                             .order_by(col(AuditLog.id)))).all())


async def _publish(rig, days: int = 7) -> rounds.Published:
    return await rounds.publish(2027, days, actor="cli", uow=rig.db.uow(), clock=rig.clock)


async def test_publish_stores_every_unit_and_tells_each_units_cadres_in_their_language(rig) -> None:
    await seed(rig)
    done = await _publish(rig)
    assert (done.units, done.told) == (4, 3)
    rnd = await _round(rig)
    assert rnd.status == "published" and rnd.appeal_until == rig.clock.now() + timedelta(days=7)
    async with rig.db.uow() as uow:
        rows = {r.unit_id: r for r in (await uow.session.exec(select(AssessmentResult))).all()}
    res = await rounds.results(2027, uow=rig.db.read_uow(), clock=rig.clock)
    assert not res.live and res.status == "published"
    by_code = {u.unit_code: u for u in res.county.units}
    assert [by_code[c].rank for c in ("T1", "T2", "T3", "V1")] == [1, 2, 3, 1]
    assert by_code["T3"].bottom and not by_code["T1"].bottom
    assert {r.total for r in rows.values()} == {u.total for u in res.county.units}
    (zh,) = await outbox_to(rig, CADRE_ZH, rounds.RESULT_KIND)
    assert "2027年度目标考核结果公示" in zh.text and "城关镇" in zh.text and "1/3" in zh.text
    assert "/appeal" in zh.text and "2027-03-29 09:00" in zh.text and "青山镇" not in zh.text
    (en,) = await outbox_to(rig, CADRE_EN, rounds.RESULT_KIND)
    assert "public notice" in en.text and "青山镇" in en.text and "rank <b>2/3</b>" in en.text
    (village,) = await outbox_to(rig, CADRE_V, rounds.RESULT_KIND)
    assert "红星村" in village.text
    (entry,) = await _audit(rig, "assessment.publish")
    assert entry.after["rules_hash"] == rnd.rules_hash and entry.after["told"] == 3


async def test_a_round_is_published_once_and_the_window_must_be_sensible(rig) -> None:
    await seed(rig)
    with pytest.raises(DomainError) as bad:
        await _publish(rig, days=0)
    assert bad.value.key == "results.bad_days"
    with pytest.raises(DomainError) as missing:
        await rounds.publish(2031, 7, actor="cli", uow=rig.db.uow(), clock=rig.clock)
    assert missing.value.key == "results.no_round"
    await _publish(rig)
    with pytest.raises(DomainError) as again:
        await _publish(rig)
    assert again.value.key == "results.not_open"
    assert len(await outbox_to(rig, CADRE_ZH, rounds.RESULT_KIND)) == 1


async def test_close_waits_for_the_window_then_freezes_and_a_later_report_changes_nothing(rig) -> None:
    await seed(rig)
    await _publish(rig, days=3)
    with pytest.raises(DomainError) as early:
        await rounds.close(2027, actor="cli", uow=rig.db.uow(), clock=rig.clock)
    assert early.value.key == "results.window_open"
    rig.clock.advance(timedelta(days=3, minutes=1))
    frozen = await rounds.close(2027, actor="cli", uow=rig.db.uow(), clock=rig.clock)
    rnd = await _round(rig)
    assert rnd.status == "closed" and rnd.closed_at == rig.clock.now()
    (entry,) = await _audit(rig, "assessment.close")
    assert entry.after["rules_hash"] == rnd.rules_hash and entry.after["cutoff"] == "2027-12-31"
    t3 = next(u for u in frozen.units if u.unit_code == "T3")
    assert entry.after["totals"]["T3"][1] == t3.rank == 3

    await report(rig, CADRE_EN, "TA", "950")  # 青山镇 (T2) reports more, within the cut-off
    async with rig.db.read_uow() as uow:
        live = await rounds.compute(uow.session, rnd, rig.clock.tz)
    assert next(u for u in live.units if u.unit_code == "T2").total > next(
        u for u in frozen.units if u.unit_code == "T2").total  # counted live...
    after = await rounds.results(2027, uow=rig.db.read_uow(), clock=rig.clock)
    assert after.county.units == frozen.units  # ...but not in the closed round
    with pytest.raises(DomainError) as twice:
        await rounds.close(2027, actor="cli", uow=rig.db.uow(), clock=rig.clock)
    assert twice.value.key == "results.already_closed"


async def test_reopen_is_audited_and_closing_again_recomputes(rig) -> None:
    await seed(rig)
    await _publish(rig, days=1)
    rig.clock.advance(timedelta(days=2))
    first = await rounds.close(2027, actor="cli", uow=rig.db.uow(), clock=rig.clock)
    with pytest.raises(DomainError) as no_reason:
        await rounds.reopen(2027, "  ", actor="cli", uow=rig.db.uow(), clock=rig.clock)
    assert no_reason.value.key == "results.reopen_reason_required"
    rnd = await rounds.reopen(2027, "城关镇数据核查有误", actor="cli", uow=rig.db.uow(), clock=rig.clock)
    assert rnd.status == "published" and rnd.reopened_at == rig.clock.now() and rnd.closed_at is None
    (entry,) = await _audit(rig, "assessment.reopen")
    assert entry.after["reason"] == "城关镇数据核查有误" and entry.before["status"] == "closed"
    await report(rig, CADRE_EN, "TA", "950")
    second = await rounds.close(2027, actor="cli", uow=rig.db.uow(), clock=rig.clock)
    total = {u.unit_code: u.total for u in second.units}
    assert total["T2"] > {u.unit_code: u.total for u in first.units}["T2"]
    assert len(await _audit(rig, "assessment.close")) == 2


async def test_the_command_line_publishes_lists_appeals_closes_and_reopens(rig, cli) -> None:
    await seed(rig)
    published = await cli("assess", "publish", "2027", "--days", "2", DUBAN_LOCALE="en")
    assert published.code == 0, published.err
    assert "4 units" in published.out and "3 cadres" in published.out
    again = await cli("assess", "publish", "2027")
    assert again.code == 1 and "只有进行中的考核可以公示" in again.err
    too_long = await cli("assess", "publish", "2027", "--days", "99")
    assert too_long.code == 1 and "1到30天" in too_long.err
    listed = await cli("assess", "appeals", "2027")
    assert listed.code == 0 and "没有申诉" in listed.out
    early = await cli("assess", "close", "2027")
    assert early.code == 1 and "申诉期到" in early.err
    async with rig.db.uow() as uow:  # the window has passed (the CLI runs on the system clock)
        rnd = (await uow.session.exec(select(AssessmentRound))).one()
        rnd.appeal_until = rnd.published_at - timedelta(days=1)
        uow.session.add(rnd)
        await uow.commit()
    closed = await cli("assess", "close", "2027")
    assert closed.code == 0 and "已定稿" in closed.out and rnd.cutoff == date(2027, 12, 31)
    refused = await cli("assess", "reopen", "2027")
    assert refused.code == 1 and "须说明理由" in refused.err
    reopened = await cli("assess", "reopen", "2027", "--reason", "复核", "--days", "3")
    assert reopened.code == 0 and "重新打开" in reopened.out
