"""Survey sessions (issue #15 §6, 到农村、社区听取群众意见): the inspection group asks residents itself. An
inspector opens a session for a unit in their scope during a visit (``/surveysession UNIT [hours]``): it has
its own link and QR code (``/start s_<token>``, like the unit's own link) answerable only from its opening
until its window ends (``DEFAULT_HOURS``, at most ``MAX_HOURS``); answers through it carry its id, so they
are counted per session, and the unit's own QR link (services/assessment/survey.py) stays but is counted
apart. Answers from an account registered in the surveyed unit (its person's unit or any of its role
memberships) are refused politely: only the refusal is kept (``excluded = "own_unit"``, no answer), once per
account and unit and year, and counted apart (``counts``). Opening a session is audited."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.assessment import AssessmentRound, SurveyLink, SurveyResponse, SurveySession
from models.db import UnitOfWork
from models.people import Person, RoleMembership
from models.plan import Unit
from services.assessment.survey_keys import new_token
from services.core import audit, updates
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.errors import DomainError
from services.inspection.scope import in_scope, inspector_scope

DEFAULT_HOURS = 2
MAX_HOURS = 8
OWN_UNIT = "own_unit"


@dataclass(frozen=True)
class OpenedSession:
    id: int
    token: str
    year: int
    unit_code: str
    unit_name: str
    closes_at: datetime


async def open_session(unit_ref: str, hours: int, *, user_id: int, update_id: int | None, uow: UnitOfWork,
                       clock: Clock) -> OpenedSession:
    """Open a session for the unit (code or exact name) in the inspector's scope, for ``hours`` from now."""
    if not 1 <= hours <= MAX_HOURS:
        raise DomainError("svs.bad_hours", max=MAX_HOURS)
    async with uow:
        s = uow.session
        person = await active_person(s, user_id)
        try:
            scope = await inspector_scope(s, person)
        except DomainError:
            raise DomainError("svs.not_inspector") from None
        ref = unit_ref.strip()
        unit = (await s.exec(select(Unit).where(or_(func.upper(Unit.code) == ref.upper(), Unit.name == ref),
                                                col(Unit.active).is_(True)))).first()
        if unit is None:
            raise DomainError("svs.unknown_unit", unit=ref[:32])
        if not in_scope(unit, scope):
            raise DomainError("svs.out_of_scope", unit=unit.name)
        now = clock.now()
        rnd = (await s.exec(select(AssessmentRound).where(AssessmentRound.year == now.year))).first()
        if rnd is not None and rnd.status != "open":
            raise DomainError("survey.closed", unit=unit.name, year=now.year)
        await updates.claim(s, update_id, clock)
        row = SurveySession(token=new_token(), year=now.year, unit_id=unit.id or 0, inspector_person_id=person.id or 0,
                            opens_at=now, closes_at=now + timedelta(hours=hours), created_at=now, update_id=update_id)
        s.add(row)
        await s.flush()
        audit.record(s, clock, actor=person.code, action="survey.session", entity="survey_session", key=str(row.id),
                     after={"unit": unit.code, "year": now.year, "hours": hours})
        await uow.commit()
        return OpenedSession(row.id or 0, row.token, row.year, unit.code, unit.name, row.closes_at)


async def find(s: AsyncSession, token: str, clock: Clock) -> SurveySession | None:
    """The session of ``token``; DomainError when its window is over (or not begun)."""
    row = (await s.exec(select(SurveySession).where(SurveySession.token == token))).first()
    if row is None:
        return None
    now = clock.now()
    if now >= row.closes_at or now < row.opens_at:
        unit = await s.get(Unit, row.unit_id)
        raise DomainError("svs.over", unit=unit.name if unit else "",
                          until=row.closes_at.astimezone(clock.tz).strftime("%Y-%m-%d %H:%M"))
    return row


async def registered_in(s: AsyncSession, telegram_user_id: int, unit_id: int) -> bool:
    """Whether this account is an active person of the unit (their unit, or a role membership in it)."""
    person = (await s.exec(select(Person).where(Person.telegram_user_id == telegram_user_id))).first()
    if person is None or not person.active:
        return False
    if person.unit_id == unit_id:
        return True
    return (await s.exec(select(RoleMembership.id).where(RoleMembership.person_id == person.id,
                                                         RoleMembership.unit_id == unit_id))).first() is not None


async def refuse_own(s: AsyncSession, clock: Clock, link: SurveyLink | SurveySession, unit: Unit,
                     respondent: str, session_id: int | None) -> None:
    """Count the refusal (once per account, unit and year), then refuse."""
    found = (await s.exec(select(SurveyResponse.id).where(
        SurveyResponse.year == link.year, SurveyResponse.unit_id == link.unit_id,
        SurveyResponse.respondent == respondent))).first()
    if found is None:
        row = SurveyResponse(year=link.year, unit_id=link.unit_id, respondent=respondent, answer="",
                             excluded=OWN_UNIT, session_id=session_id, answered_at=clock.now())
        s.add(row)
        await s.flush()
        audit.record(s, clock, actor="public", action="survey.refused", entity="survey_response",
                     key=f"{link.year}:{unit.code}", after={"response": row.id, "excluded": OWN_UNIT})


@dataclass(frozen=True)
class SessionCount:
    """Answers of one way in: a session (with its inspector and window) or the unit's own link (session None)."""
    unit_code: str
    unit_name: str
    session: int | None
    inspector: str
    opens_at: datetime | None
    closes_at: datetime | None
    counts: dict[str, int]  # satisfied / basic / unsatisfied / own_unit (refused)


async def counts(year: int, *, uow: UnitOfWork) -> list[SessionCount]:
    """Every session of the year and every unit's own link with answers, by unit code, then session."""
    async with uow:
        s = uow.session
        tally: dict[tuple[int, int | None], dict[str, int]] = defaultdict(dict)
        for uid, sid, answer, excluded, n in (await s.exec(
            select(SurveyResponse.unit_id, SurveyResponse.session_id, SurveyResponse.answer, SurveyResponse.excluded,
                   func.count()).where(SurveyResponse.year == year)
            .group_by(col(SurveyResponse.unit_id), col(SurveyResponse.session_id), col(SurveyResponse.answer),
                      col(SurveyResponse.excluded)))).all():
            tally[(uid, sid)][excluded or answer] = int(n)
        sessions = {r.id: r for r in (await s.exec(select(SurveySession).where(SurveySession.year == year))).all()}
        for sid, row in sessions.items():
            tally.setdefault((row.unit_id, sid), {})
        unit_ids = sorted({uid for uid, _ in tally})
        units = {u.id: u for u in (await s.exec(select(Unit).where(col(Unit.id).in_(unit_ids or [-1])))).all()}
        people_ids = sorted({r.inspector_person_id for r in sessions.values()})
        names = {p.id: p.name for p in (await s.exec(select(Person).where(col(Person.id).in_(people_ids or [-1]))))}
        out = []
        for (uid, sid), c in tally.items():
            unit, row = units.get(uid), sessions.get(sid) if sid is not None else None
            out.append(SessionCount(unit.code if unit else "?", unit.name if unit else "", sid,
                                    names.get(row.inspector_person_id, "") if row else "",
                                    row.opens_at if row else None, row.closes_at if row else None, c))
        return sorted(out, key=lambda x: (x.unit_code, x.session is not None, x.session or 0))
