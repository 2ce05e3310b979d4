"""Bonus, deduction and veto items: validated, audited, revoked not deleted, frozen with a closed round,
and counted (or not) by the scoring."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from models.assessment import AssessmentItem, AssessmentRound
from models.core import AuditLog
from models.db import Database
from services.assessment.items import add_item, list_items, revoke_item
from services.core.clock import FixedClock
from services.core.errors import DomainError
from tests.support.scoringrig import RULES_TOML, D, Scene, by_code


async def _add(db: Database, clock: FixedClock, **kw):  # type: ignore[no-untyped-def]
    args = {"year": 2027, "unit_code": "U1", "kind": "bonus", "points": "2", "reason": "获省级表彰", "evidence": ""}
    args.update(kw)
    return await add_item(args.pop("year"), args.pop("unit_code"), args.pop("kind"), args.pop("points"),
                          args.pop("reason"), args.pop("evidence"), actor="person:P1", uow=db.uow(), clock=clock)


async def _count(db: Database, model: type) -> int:
    async with db.read_uow() as uow:
        return len((await uow.session.exec(select(model))).all())


@pytest.mark.parametrize(("kw", "key"), [
    ({"kind": "prize"}, "assess.item.bad_kind"),
    ({"reason": "  "}, "assess.item.reason_required"),
    ({"points": None}, "assess.item.points_required"),
    ({"points": "0"}, "assess.item.points_positive"),
    ({"kind": "deduction", "points": "-3"}, "assess.item.points_positive"),
    ({"points": "abc"}, "assess.item.bad_points"),
    ({"points": "1.23456"}, "assess.item.points_range"),
    ({"points": "500"}, "assess.item.points_range"),
    ({"kind": "veto", "points": "5"}, "assess.item.veto_no_points"),
    ({"kind": "correction", "points": "0"}, "assess.item.correction_nonzero"),
    ({"unit_code": "NOPE"}, "assess.item.unknown_unit"),
])
async def test_bad_items_are_refused_and_nothing_is_written(database: Database, clock: FixedClock, kw: dict,
                                                            key: str) -> None:
    await Scene(database, clock).unit("U1")
    with pytest.raises(DomainError) as err:
        await _add(database, clock, **kw)
    assert err.value.key == key
    assert await _count(database, AssessmentItem) == 0
    assert await _count(database, AuditLog) == 0


async def test_items_are_audited_listed_and_revoked(database: Database, clock: FixedClock) -> None:
    await Scene(database, clock).unit("U1")
    bonus = await _add(database, clock, points="2.5", evidence="县委发〔2027〕3号")
    veto = await _add(database, clock, kind="veto", points=None, reason="发生较大安全生产事故")
    assert (bonus.kind, bonus.points, bonus.unit_code, bonus.created_by) == ("bonus", D("2.5"), "U1", "person:P1")
    assert veto.points is None

    revoked = await revoke_item(veto.id, "经复核不属实", actor="cli", uow=database.uow(), clock=clock)
    assert revoked.revoked_at is not None and revoked.revoked_reason == "经复核不属实"
    with pytest.raises(DomainError) as err:
        await revoke_item(veto.id, "again", actor="cli", uow=database.uow(), clock=clock)
    assert err.value.key == "assess.item.already_revoked"
    with pytest.raises(DomainError) as err:
        await revoke_item(999, "x", actor="cli", uow=database.uow(), clock=clock)
    assert err.value.key == "assess.item.not_found"
    with pytest.raises(DomainError) as err:
        await revoke_item(bonus.id, " ", actor="cli", uow=database.uow(), clock=clock)
    assert err.value.key == "assess.item.reason_required"

    items = await list_items(2027, uow=database.read_uow())
    assert [(i.id, i.revoked_at is not None) for i in items] == [(bonus.id, False), (veto.id, True)]
    assert await list_items(2026, uow=database.read_uow()) == []
    async with database.read_uow() as uow:
        log = (await uow.session.exec(select(AuditLog).order_by(AuditLog.id))).all()
    assert [(e.action, e.actor, e.entity_key) for e in log] == [
        ("assessment_item.add", "person:P1", str(bonus.id)), ("assessment_item.add", "person:P1", str(veto.id)),
        ("assessment_item.revoke", "cli", str(veto.id))]
    assert log[0].after is not None and log[0].after["points"] == "2.5" and log[0].after["unit"] == "U1"
    assert log[2].before is not None and log[2].before["revoked_at"] is None
    assert log[2].after is not None and log[2].after["revoked_reason"] == "经复核不属实"


async def test_a_closed_round_refuses_changes(database: Database, clock: FixedClock) -> None:
    await Scene(database, clock).unit("U1")
    item = await _add(database, clock)
    async with database.uow() as uow:
        uow.session.add(AssessmentRound(year=2027, status="closed", rules_toml=RULES_TOML, rules_hash="x",
                                        cutoff=date(2027, 12, 31), opened_at=clock.now()))
        await uow.commit()
    with pytest.raises(DomainError) as err:
        await _add(database, clock)
    assert (err.value.key, err.value.params) == ("assess.item.round_closed", {"year": 2027})
    with pytest.raises(DomainError) as err:
        await revoke_item(item.id, "撤销", actor="cli", uow=database.uow(), clock=clock)
    assert err.value.key == "assess.item.round_closed"
    assert len(await list_items(2027, uow=database.read_uow())) == 1
    assert await _add(database, clock, year=2028)  # another year is not frozen


async def test_scoring_counts_only_items_not_revoked(database: Database, clock: FixedClock) -> None:
    s = Scene(database, clock)
    u = await s.unit("U1")
    await s.simple(u, 80, planned=100)  # C = 80
    bonus = await _add(database, clock, points="3")
    veto = await _add(database, clock, kind="veto", points=None, reason="一票否决事项")
    r = by_code(await s.compute())["U1"]
    assert (r.total, r.vetoed, r.grade) == (D(83), True, "fail")  # 80 + 3; vetoed
    assert [v.reason for v in r.vetoes] == ["一票否决事项"]

    await revoke_item(veto.id, "撤销", actor="cli", uow=database.uow(), clock=clock)
    await revoke_item(bonus.id, "撤销", actor="cli", uow=database.uow(), clock=clock)
    r = by_code(await s.compute())["U1"]
    assert (r.total, r.vetoed, r.grade, r.items) == (D(80), False, "good", [])
