"""Opening a year's assessment round and drawing who scores whom (交叉考核, 巡察考核).

Decisions (documented in the README section of the feature):

- ``open_round`` creates the round (status open) with its rules text and cut-off. Run again for the same
  year while the round is still open, it only adds: a peer sample for every assessor who has none yet (new
  assessors), and for inspectors the units they visited since. Existing samples and scores are never
  redrawn. A published or closed round refuses. Rules or a cut-off that differ from the open round's
  refuse too (nobody should think they changed them this way).
- Peer sample (交叉考核): every active assessor (role ``assessor``, active person) scores
  ``min(peer_sample_size of their unit's class, available)`` active units of the same class, never a unit
  of their own (their person's unit, any unit of an assessor or cadre membership). The draw is *balanced*:
  units with the fewest scorers so far are taken first, ties broken at random, so every unit of a class is
  scored by about as many peers as the others. Assessors whose unit has no class, or whose class has no
  other active unit, get nothing and are listed.
- Inspection sample (巡察考核): every active inspector scores the active units in their scope that they
  visited themselves during the year (1 January up to the cut-off day): first-hand knowledge, as the
  practice asks (只看现场). Never their own unit. Inspectors with no such visit get nothing and are listed.
- Random: ``random.Random(seed)`` with a seed (tests, a reproducible draw), else ``secrets.SystemRandom``.
- Each drawn pair is a PeerScore row with score None; each scorer's draw is audited; each scorer with
  something new to score gets one message (outbox) with a button that opens /assess.
"""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import t, th
from models.assessment import AssessmentRound, PeerScore
from models.db import UnitOfWork
from models.enums import Role
from models.inspection import Inspection
from models.people import Person, RoleMembership
from models.plan import Unit
from services.core import audit, outbox
from services.core.clock import Clock
from services.core.errors import DomainError
from services.inspection.scope import in_scope, inspector_scope
from services.progress.standings import end_of_day
from services.scoring.rules import Rules, load_rules, parse_rules

PEER, INSPECTION = "peer", "inspection"
KINDS = (PEER, INSPECTION)


@dataclass
class OpenResult:
    year: int
    created: bool  # False: the round was open already and this run only added
    cutoff: date
    rules_hash: str
    peer_samples: int = 0  # rows drawn by this run
    inspection_samples: int = 0
    scorers: int = 0  # people with something new to score
    messages: int = 0  # invitations queued (people who joined the bot and can be reached)
    no_peers: list[str] = field(default_factory=list)  # assessor codes with nothing to draw
    no_visits: list[str] = field(default_factory=list)  # inspector codes with no visit in the year


def start_of_year(year: int, clock: Clock) -> datetime:
    return datetime(year, 1, 1, tzinfo=clock.tz)


async def own_unit_ids(s: AsyncSession, person: Person) -> set[int]:
    """The units a person belongs to: their unit and the units of their assessor and cadre memberships."""
    rows = (await s.exec(select(RoleMembership.unit_id).where(
        RoleMembership.person_id == person.id,
        col(RoleMembership.role).in_((Role.ASSESSOR.value, Role.CADRE.value))))).all()
    return {u for u in (person.unit_id, *rows) if u is not None}


def _rng(seed: int | None) -> random.Random:
    return random.Random(seed) if seed is not None else secrets.SystemRandom()


async def _round(s: AsyncSession, year: int, rules_text: str | None, cutoff: date | None, seed: int | None,
                 actor: str, clock: Clock) -> tuple[AssessmentRound, Rules, bool]:
    rnd = (await s.exec(select(AssessmentRound).where(AssessmentRound.year == year).with_for_update())).first()
    if rnd is None:
        rules = parse_rules(rules_text) if rules_text is not None else load_rules()
        rnd = AssessmentRound(year=year, status="open", rules_toml=rules.text, rules_hash=rules.hash,
                              cutoff=cutoff or date(year, 12, 31), opened_at=clock.now())
        s.add(rnd)
        await s.flush()
        audit.record(s, clock, actor=actor, action="assessment.open", entity="assessment_round", key=str(year),
                     after={"status": "open", "rules_hash": rnd.rules_hash, "cutoff": rnd.cutoff, "seed": seed})
        return rnd, rules, True
    if rnd.status != "open":
        raise DomainError("peer.round_exists", year=year)
    if rules_text is not None and parse_rules(rules_text).hash != rnd.rules_hash:
        raise DomainError("peer.round_rules_differ", year=year)
    if cutoff is not None and cutoff != rnd.cutoff:
        raise DomainError("peer.round_cutoff_differs", year=year, cutoff=rnd.cutoff.isoformat())
    return rnd, parse_rules(rnd.rules_toml), False


async def _existing(s: AsyncSession, year: int) -> list[PeerScore]:
    return list((await s.exec(select(PeerScore).where(PeerScore.year == year))).all())


async def _draw_peers(s: AsyncSession, clock: Clock, year: int, rules: Rules, rng: random.Random,
                      existing: list[PeerScore], result: OpenResult) -> dict[int, list[Unit]]:
    units = list((await s.exec(select(Unit).where(Unit.active == True).order_by(col(Unit.id)))).all())  # noqa: E712
    by_id = {u.id: u for u in units}
    by_class: dict[str, list[Unit]] = defaultdict(list)
    for u in units:
        if u.unit_class:
            by_class[u.unit_class].append(u)
    counts: dict[int, int] = defaultdict(int)  # how many peers score each unit (balance across the draw)
    for row in existing:
        if row.kind == PEER:
            counts[row.unit_id] += 1
    have = {row.scorer_person_id for row in existing if row.kind == PEER}
    memberships = (await s.exec(
        select(Person, RoleMembership.unit_id).join(RoleMembership, col(RoleMembership.person_id) == col(Person.id))
        .where(RoleMembership.role == Role.ASSESSOR.value, Person.active == True)  # noqa: E712
        .order_by(col(Person.id), col(RoleMembership.id)))).all()
    assessors: dict[int, tuple[Person, list[int]]] = {}
    for person, unit_id in memberships:
        assert person.id is not None
        assessors.setdefault(person.id, (person, []))[1].append(unit_id)
    order = [pid for pid in assessors if pid not in have]
    rng.shuffle(order)  # nobody is always first to take the least-scored units
    drawn: dict[int, list[Unit]] = {}
    for pid in order:
        person, member_units = assessors[pid]
        own = await own_unit_ids(s, person)
        classes = list(dict.fromkeys(by_id[u].unit_class for u in member_units if u in by_id and by_id[u].unit_class))
        chosen: list[Unit] = []
        for cls in classes:
            candidates = [u for u in by_class[cls] if u.id not in own and u not in chosen]
            rng.shuffle(candidates)
            candidates.sort(key=lambda u: counts[u.id or 0])  # stable: ties stay in random order
            for u in candidates[: min(rules.for_class(cls).peer_sample_size, len(candidates))]:
                counts[u.id or 0] += 1
                chosen.append(u)
        if not chosen:
            result.no_peers.append(person.code)
            continue
        drawn[pid] = chosen
        for u in chosen:
            s.add(PeerScore(year=year, kind=PEER, scorer_person_id=pid, unit_id=u.id or 0, drawn_at=clock.now()))
        result.peer_samples += len(chosen)
    return drawn


async def _draw_inspections(s: AsyncSession, clock: Clock, rnd: AssessmentRound,
                            existing: list[PeerScore], result: OpenResult) -> dict[int, list[Unit]]:
    have = {(row.scorer_person_id, row.unit_id) for row in existing if row.kind == INSPECTION}
    inspectors = (await s.exec(
        select(Person).join(RoleMembership, col(RoleMembership.person_id) == col(Person.id))
        .where(RoleMembership.role == Role.INSPECTOR.value, Person.active == True)  # noqa: E712
        .distinct().order_by(col(Person.id)))).all()
    drawn: dict[int, list[Unit]] = {}
    for person in inspectors:
        assert person.id is not None
        scope, own = await inspector_scope(s, person), await own_unit_ids(s, person)
        visited = (await s.exec(
            select(Unit).join(Inspection, col(Inspection.unit_id) == col(Unit.id))
            .where(Inspection.inspector_person_id == person.id, Unit.active == True,  # noqa: E712
                   col(Inspection.visited_at) >= start_of_year(rnd.year, clock),
                   col(Inspection.visited_at) <= end_of_day(rnd.cutoff, clock.tz))
            .distinct().order_by(col(Unit.id)))).all()
        units = [u for u in visited if in_scope(u, scope) and u.id not in own]
        if not units:
            if not any(pid == person.id for pid, _ in have):
                result.no_visits.append(person.code)
            continue
        new = [u for u in units if (person.id, u.id) not in have]
        if new:
            drawn[person.id] = new
        for u in new:
            s.add(PeerScore(year=rnd.year, kind=INSPECTION, scorer_person_id=person.id, unit_id=u.id or 0,
                            drawn_at=clock.now()))
        result.inspection_samples += len(new)
    return drawn


def invitation(year: int, peer: int, inspection: int, lang: str | None) -> tuple[str, dict]:
    """The message a scorer gets (HTML) with the button that opens their list."""
    parts = []
    if peer:
        parts.append(th("peer.invite_peer", lang, count=peer))
    if inspection:
        parts.append(th("peer.invite_inspection", lang, count=inspection))
    text = th("peer.invite", lang, year=year) + "\n" + "\n".join(parts) + "\n" + th("peer.invite_how", lang)
    markup = {"inline_keyboard": [[{"text": t("peer.btn_start", lang), "callback_data": "as:list"}]]}
    return text, markup


async def open_round(year: int, *, rules_text: str | None = None, cutoff: date | None = None,
                     seed: int | None = None, actor: str, uow: UnitOfWork, clock: Clock) -> OpenResult:
    """Open ``year``'s round (or add to the open one) and draw the samples; see the module docstring.
    ``rules_text`` None: the shipped rules (a new round) or the round's own; ``cutoff`` None: 31 December."""
    if not 2000 <= year <= 2099:
        raise DomainError("peer.bad_year", year=year)
    rng = _rng(seed)
    async with uow:
        s = uow.session
        rnd, rules, created = await _round(s, year, rules_text, cutoff, seed, actor, clock)
        result = OpenResult(year=year, created=created, cutoff=rnd.cutoff, rules_hash=rnd.rules_hash)
        existing = await _existing(s, year)
        peers = await _draw_peers(s, clock, year, rules, rng, existing, result)
        inspections = await _draw_inspections(s, clock, rnd, existing, result)
        await s.flush()
        totals: dict[int, int] = defaultdict(int)
        for row in existing:
            totals[row.scorer_person_id] += 1
        for pid in sorted(set(peers) | set(inspections)):
            person = await s.get(Person, pid)
            assert person is not None
            p_units, i_units = peers.get(pid, []), inspections.get(pid, [])
            audit.record(s, clock, actor=actor, action="assessment.draw", entity="peer_score",
                         key=f"{year}:{person.code}",
                         after={PEER: [u.code for u in p_units], INSPECTION: [u.code for u in i_units]})
            text, markup = invitation(year, len(p_units), len(i_units), person.language)
            total = totals[pid] + len(p_units) + len(i_units)
            queued = await outbox.enqueue_to_person(
                s, clock, person, text=text, kind="peer.invite", dedup_key=f"assess:{year}:drawn:{total}",
                reply_markup=markup, parse_mode="HTML")
            result.scorers += 1
            result.messages += queued is not None
        await uow.commit()
    return result
