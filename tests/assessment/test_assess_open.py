"""`duban assess open`: the round, the peer and inspection samples (never one's own unit, same class, active
units, balanced, reproducible with a seed), re-runs that only add, refusals, invitations and audit."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlmodel import col, select

from models.assessment import AssessmentRound, PeerScore
from models.enums import Role
from models.plan import Unit
from services.assessment.assess import open_round
from services.core.errors import DomainError
from services.scoring.rules import load_rules
from tests.support.factories import add_person
from tests.support.peer_seed import audits, outbox_to, rows, scores, seed, set_status, unit_codes

RULES_3 = load_rules().text.replace("peer_sample_size = 5", "peer_sample_size = 3")


async def _open(rig, seed_value: int | None = 7, **kw):
    return await open_round(2027, seed=seed_value, actor="cli", uow=rig.db.uow(), clock=rig.clock, **kw)


async def test_each_assessor_scores_peers_of_the_same_class_never_their_own_unit(rig) -> None:
    p = await seed(rig)
    result = await _open(rig, rules_text=RULES_3)
    (rnd,) = await rows(rig, AssessmentRound)
    assert (rnd.year, rnd.status, rnd.cutoff) == (2027, "open", date(2027, 12, 31))
    assert rnd.rules_toml == RULES_3
    for key, own in (("zhang", "V1"), ("alice", "V2"), ("wang", "V3")):
        drawn = await unit_codes(rig, await scores(rig, p[key], "peer"))
        assert len(drawn) == 3 and own not in drawn and "V7" not in drawn  # inactive V7 never drawn
        assert drawn <= {"V1", "V2", "V3", "V4", "V5", "V6"}
    # The department assessor has one peer department only; the assessor without a class has none.
    assert await unit_codes(rig, await scores(rig, p["dept"], "peer")) == {"D2"}
    assert await scores(rig, p["none"]) == []
    assert result.no_peers == [p["none"].code]
    assert all(r.score is None and r.submitted_at is None for r in await rows(rig, PeerScore))


async def test_the_draw_is_balanced_and_a_seed_makes_it_reproducible(rig) -> None:
    p = await seed(rig)
    for n in range(4):  # seven village assessors, three each: every village scored three or four times
        await add_person(rig.db, rig.clock, name=f"评{n}", unit=p[f"V{n + 3}"], roles=(Role.ASSESSOR,))
    await _open(rig, seed_value=11, rules_text=RULES_3)
    peer = [r for r in await rows(rig, PeerScore) if r.kind == "peer"]
    villages = {u.id for u in await rows(rig, Unit, col(Unit.unit_class) == "village", Unit.active == True)}  # noqa: E712
    per_unit = Counter(r.unit_id for r in peer if r.unit_id in villages)
    assert sum(per_unit.values()) == 7 * 3 and max(per_unit.values()) - min(per_unit.values()) <= 1
    first = sorted((r.scorer_person_id, r.unit_id) for r in peer)

    async with rig.db.uow() as uow:  # the same seed on the same data draws the same pairs
        for r in await uow.session.exec(select(PeerScore)):
            await uow.session.delete(r)
        for r in await uow.session.exec(select(AssessmentRound)):
            await uow.session.delete(r)
        await uow.commit()
    await _open(rig, seed_value=11, rules_text=RULES_3)
    assert sorted((r.scorer_person_id, r.unit_id) for r in await rows(rig, PeerScore) if r.kind == "peer") == first


async def test_inspectors_score_the_units_they_visited_this_year_in_scope_never_their_own(rig) -> None:
    p = await seed(rig)
    result = await _open(rig)
    # 钱: V2 and V3 this year (V4 was last year); Wu: V1 (twice, one row), not V5, his own unit.
    assert await unit_codes(rig, await scores(rig, p["qian"], "inspection")) == {"V2", "V3"}
    assert await unit_codes(rig, await scores(rig, p["wu"], "inspection")) == {"V1"}
    assert result.inspection_samples == 3 and result.no_visits == []


async def test_a_cutoff_before_the_visits_leaves_inspectors_without_units(rig) -> None:
    p = await seed(rig)
    result = await _open(rig, cutoff=date(2027, 2, 15))
    assert await unit_codes(rig, await scores(rig, p["wu"], "inspection")) == {"V1"}  # the 1 February visit
    assert await scores(rig, p["qian"], "inspection") == [] and result.no_visits == [p["qian"].code]


async def test_invitations_are_queued_with_a_button_and_every_draw_is_audited(rig) -> None:
    p = await seed(rig)
    result = await _open(rig)
    (zh,) = await outbox_to(rig, p["zhang"])
    assert "2027年度考核评分已开始" in zh.text and "同类 5 个单位" in zh.text
    assert zh.reply_markup == {"inline_keyboard": [[{"text": "开始评分", "callback_data": "as:list"}]]}
    (en,) = await outbox_to(rig, p["wu"])
    assert "score the 1 units you inspected" in en.text and en.reply_markup["inline_keyboard"][0][0]["text"] == \
        "Start scoring"
    assert await outbox_to(rig, p["wang"]) == []  # never joined: nothing to send, the sample is drawn anyway
    # zhang, alice, wang, dept (peer); qian, wu (inspection); 5 of them reachable.
    assert (result.scorers, result.messages) == (6, 5)
    (opened,) = await audits(rig, "assessment.open")
    assert opened.after["seed"] == 7 and opened.actor == "cli"
    draws = {a.entity_key: a.after for a in await audits(rig, "assessment.draw")}
    assert draws[f"2027:{p['qian'].code}"] == {"peer": [], "inspection": ["V2", "V3"]}


async def test_running_again_adds_only_for_new_scorers_and_keeps_the_rest(rig) -> None:
    p = await seed(rig)
    await _open(rig)
    before = {(r.scorer_person_id, r.kind, r.unit_id) for r in await rows(rig, PeerScore)}
    newcomer = await add_person(rig.db, rig.clock, name="新评", unit=p["V4"], telegram_user_id=220,
                                roles=(Role.ASSESSOR,))
    again = await _open(rig, seed_value=None)  # no seed: secrets.SystemRandom
    after = {(r.scorer_person_id, r.kind, r.unit_id) for r in await rows(rig, PeerScore)}
    assert before < after and {pid for pid, _, _ in after - before} == {newcomer.id}
    assert not again.created and again.peer_samples == 5 and again.scorers == 1
    assert len(await outbox_to(rig, p["zhang"])) == 1  # nobody is told twice


async def test_refusals_published_round_other_rules_other_cutoff(rig) -> None:
    await seed(rig)
    await _open(rig)
    with pytest.raises(DomainError) as exc:
        await _open(rig, rules_text=RULES_3)
    assert exc.value.key == "peer.round_rules_differ"
    with pytest.raises(DomainError) as exc:
        await _open(rig, cutoff=date(2027, 11, 30))
    assert exc.value.key == "peer.round_cutoff_differs"
    await set_status(rig, 2027, "published")
    with pytest.raises(DomainError) as exc:
        await _open(rig)
    assert exc.value.key == "peer.round_exists"


async def test_cli_assess_open(cli, rig, tmp_path) -> None:
    p = await seed(rig)
    bad = tmp_path / "bad.toml"
    bad.write_text("[default]\npeer_sample_size = 0\n", encoding="utf-8")
    refused = await cli("assess", "open", "2027", "--rules", str(bad))
    assert refused.code == 1 and "bad.toml" in refused.err and "peer_sample_size" in refused.err
    refused = await cli("assess", "open", "2027", "--cutoff", "2027-13-01")
    assert refused.code == 1 and "2027-13-01" in refused.err
    assert await rows(rig, AssessmentRound) == []  # nothing opened by a refusal

    rules = tmp_path / "rules.toml"
    rules.write_text(RULES_3, encoding="utf-8")
    done = await cli("assess", "open", "2027", "--rules", str(rules), "--cutoff", "2027-12-20", "--seed", "3")
    assert done.code == 0, done.err
    assert "2027年度考核已开启（数据截止 2027-12-20" in done.out
    assert "交叉考核 10 项，巡察考核 3 项，涉及 6 人；已排队通知 5 人" in done.out
    assert p["none"].code in done.out  # the assessor without peers is named
    again = await cli("assess", "open", "2027", "--rules", str(rules), "--cutoff", "2027-12-20",
                      DUBAN_LOCALE="en")
    assert again.code == 0 and "was open already" in again.out and "Drawn now: 0 cross-assessment" in again.out
    other = await cli("assess", "open", "2027", "--cutoff", "2027-12-31")
    assert other.code == 1 and "2027-12-20" in other.err
    assert len([r for r in await rows(rig, PeerScore) if r.kind == "peer"]) == 10


def test_scores_are_0_to_100_with_one_decimal_at_most() -> None:
    from services.assessment.assess import parse_score, score_text

    for typed, value in (("0", "0"), ("100", "100"), ("100.0", "100"), ("87.50", "87.5"), ("８５分", "85"),
                         ("九十点五", "90.5"), (" 60 ", "60")):
        assert score_text(parse_score(typed)) == value, typed
    for typed in ("-1", "100.1", "85.55", "1万", "", "good"):
        with pytest.raises(DomainError) as exc:
            parse_score(typed)
        assert exc.value.key == "peer.bad_score"
