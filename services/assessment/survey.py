"""The public satisfaction survey (群众满意度): one deep link per unit and year, answered by anyone.

Decisions (documented in the README section of the feature):
- A link is ``https://t.me/<bot>?start=s_<token>``; the token is random (``secrets.token_urlsafe(24)``,
  32 characters), stored in SurveyLink; the unit code never appears in it. One link per unit and year,
  made once and kept (printing a QR code again gives the same link).
- Answers are accepted while the link exists, its unit is active, and the year's round is absent or still
  open. Once the round is published (公示) the survey is over: published results must not move under the
  public's eyes.
- The respondent is kept only as a keyed hash of "<year>:<unit id>:<Telegram user id>" whose key is partly
  outside the database (services/assessment/survey_keys.py): enough to refuse a second answer for the same
  unit and year, not enough to recognise anyone, nor to link one person's answers across units.
- After an answer, the next text message within ``COMMENT_WINDOW`` is its comment (or the Skip button): the
  dialogue ``survey`` (the skeleton of services/core/dialogue.py), written with the update id. That draft
  (which names the answer) is the only link between an account and an answer; it goes when the comment
  comes, and the scheduler's tick removes those left after the window (``purge_comments``).
- Nothing about respondents is ever shown: the replies name the unit and year only.
- Issue #15 (services/assessment/survey_sessions.py): a token may also be an inspection group's session's,
  answerable only within its window, its answers carrying the session; an account registered in the
  surveyed unit is refused (``survey.own_unit``), the refusal counted apart and never in the rate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.assessment import AssessmentRound, SurveyLink, SurveyResponse, SurveySession
from models.core import ConversationState
from models.db import UnitOfWork
from models.plan import Unit
from services.assessment import survey_sessions
from services.assessment.survey_keys import db_secret, keyed, new_token, respondent_key
from services.core import audit, conversations, updates
from services.core.clock import Clock
from services.core.conversations import ConvRef
from services.core.dialogue import DONE, Dialogue, Draft, Turn
from services.core.errors import DomainError

PAYLOAD_PREFIX = "s_"
COMMENT = "comment"
ANSWERS = ("satisfied", "basic", "unsatisfied")
SHORT = {"s": "satisfied", "b": "basic", "u": "unsatisfied"}  # in callback data
MAX_COMMENT = 500
COMMENT_WINDOW = timedelta(minutes=30)
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{8,40}$")


@dataclass(frozen=True)
class LinkInfo:
    token: str
    year: int
    unit_code: str
    unit_name: str
    unit_class: str

    def url(self, bot_username: str) -> str:
        return link(bot_username, self.token)


@dataclass(frozen=True)
class SurveyView:
    """What someone opening a link (or answering) is shown."""
    token: str
    year: int
    unit_name: str
    answered_on: date | None = None  # they answered before, on this day
    answer: str | None = None  # the answer just recorded


def link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={PAYLOAD_PREFIX}{token}"


# ---------------------------------------------------------------------------------- links (office)
async def _unit(s: AsyncSession, code: str) -> Unit:
    unit = (await s.exec(select(Unit).where(func.lower(Unit.code) == code.strip().lower()))).first()
    if unit is None or not unit.active:
        raise DomainError("survey.unknown_unit", code=code.strip()[:32])
    return unit


async def _ensure(s: AsyncSession, clock: Clock, year: int, unit: Unit, actor: str) -> SurveyLink:
    found = (await s.exec(select(SurveyLink).where(SurveyLink.year == year, SurveyLink.unit_id == unit.id))).first()
    if found is not None:
        return found
    row = SurveyLink(token=new_token(), year=year, unit_id=unit.id or 0, created_at=clock.now())
    s.add(row)
    await s.flush()
    audit.record(s, clock, actor=actor, action="survey.link", entity="survey_link", key=f"{year}:{unit.code}")
    return row


def _info(row: SurveyLink, unit: Unit) -> LinkInfo:
    return LinkInfo(row.token, row.year, unit.code, unit.name, unit.unit_class)


async def ensure_link(year: int, unit_code: str, *, uow: UnitOfWork, clock: Clock, actor: str = "cli") -> LinkInfo:
    """The unit's link for ``year``, made on first use; DomainError for an unknown or inactive unit."""
    if not 2000 <= year <= 2099:
        raise DomainError("peer.bad_year", year=year)
    async with uow:
        unit = await _unit(uow.session, unit_code)
        row = await _ensure(uow.session, clock, year, unit, actor)
        await uow.commit()
        return _info(row, unit)


async def all_links(year: int, *, uow: UnitOfWork, clock: Clock, actor: str = "cli") -> list[LinkInfo]:
    """Every active unit's link for ``year`` (made where missing), by unit code."""
    if not 2000 <= year <= 2099:
        raise DomainError("peer.bad_year", year=year)
    async with uow:
        s = uow.session
        units = (await s.exec(select(Unit).where(Unit.active == True).order_by(col(Unit.code)))).all()  # noqa: E712
        out = [_info(await _ensure(s, clock, year, u, actor), u) for u in units]
        await uow.commit()
        return out


# ---------------------------------------------------------------------------------- answering (anyone)
async def _live(s: AsyncSession, token: str, clock: Clock) -> tuple[SurveyLink | SurveySession, Unit]:
    """The link of ``token`` if it may be answered now; DomainError otherwise."""
    if not TOKEN_RE.match(token or ""):
        raise DomainError("survey.unknown")
    row: SurveyLink | SurveySession | None = (await s.exec(select(SurveyLink).where(SurveyLink.token == token))).first()
    if row is None:
        row = await survey_sessions.find(s, token, clock)  # an inspection group's session, within its window
    unit = await s.get(Unit, row.unit_id) if row else None
    if row is None or unit is None or not unit.active:
        raise DomainError("survey.unknown")
    rnd = (await s.exec(select(AssessmentRound).where(AssessmentRound.year == row.year))).first()
    if rnd is not None and rnd.status != "open":
        raise DomainError("survey.closed", unit=unit.name, year=row.year)
    return row, unit


async def _previous(s: AsyncSession, row: SurveyLink | SurveySession, respondent: str) -> SurveyResponse | None:
    return (await s.exec(select(SurveyResponse).where(
        SurveyResponse.year == row.year, SurveyResponse.unit_id == row.unit_id,
        SurveyResponse.respondent == respondent))).first()


async def open_link(token: str, *, secret: str | None, telegram_user_id: int, uow: UnitOfWork,
                    clock: Clock) -> SurveyView:
    """``/start s_<token>``: the unit and year to answer for, or the day this account answered already.
    ``secret``: DUBAN_SURVEY_SECRET (without it, or with another than the answers', nobody can answer)."""
    async with uow:
        s = uow.session
        row, unit = await _live(s, token, clock)
        key = await keyed(s, clock, secret)
        respondent = respondent_key(await db_secret(s, clock), key, row.year, row.unit_id, telegram_user_id)
        await _refuse_own(uow, clock, row, unit, respondent, telegram_user_id)
        before = await _previous(s, row, respondent)
        await uow.commit()  # the secret, if it was made just now
        answered = before.answered_at.astimezone(clock.tz).date() if before else None
        return SurveyView(token, row.year, unit.name, answered_on=answered)


async def _refuse_own(uow: UnitOfWork, clock: Clock, row: SurveyLink | SurveySession, unit: Unit, respondent: str,
                      telegram_user_id: int) -> None:
    """An account registered in the surveyed unit may not rate it (issue #15): the refusal is counted (and
    committed), then DomainError ``survey.own_unit``."""
    if not await survey_sessions.registered_in(uow.session, telegram_user_id, row.unit_id):
        return
    await survey_sessions.refuse_own(uow.session, clock, row, unit, respondent,
                                     row.id if isinstance(row, SurveySession) else None)
    await uow.commit()
    raise DomainError("survey.own_unit", unit=unit.name)


@dataclass(frozen=True)
class Comment:
    serial: int
    step: str
    unit: str
    outcome: str = ""  # saved / skipped / late


class CommentDialogue(Dialogue[Comment]):
    """After an answer, the next text is its comment (or Skip): a dialogue of anyone, registered or not."""
    name = "survey"
    no_draft = "survey.no_comment"
    registered = False

    async def snapshot(self, s: AsyncSession, clock: Clock, draft: Draft, **extra: Any) -> Comment:
        return Comment(draft.serial, draft.step, draft.data.get("unit", ""), extra.get("outcome", ""))


DIALOGUE = CommentDialogue()


async def answer(token: str, choice: str, *, secret: str | None, conv: ConvRef, update_id: int | None,
                 uow: UnitOfWork, clock: Clock) -> SurveyView:
    """Record one answer of the account behind ``conv`` and wait for an optional comment. A second answer
    for the same unit and year: DomainError ``survey.already`` (with the day of the first)."""
    answer_value = SHORT.get(choice, choice)
    if answer_value not in ANSWERS:
        raise DomainError("survey.unknown")
    async with uow:
        s = uow.session
        await updates.claim(s, update_id, clock)
        row, unit = await _live(s, token, clock)
        key = await keyed(s, clock, secret)
        respondent = respondent_key(await db_secret(s, clock), key, row.year, row.unit_id, conv.user_id)
        await _refuse_own(uow, clock, row, unit, respondent, conv.user_id)
        before = await _previous(s, row, respondent)
        if before is not None:
            raise DomainError("survey.already", unit=unit.name, year=row.year,
                              date=before.answered_at.astimezone(clock.tz).date().isoformat())
        response = SurveyResponse(year=row.year, unit_id=row.unit_id, respondent=respondent, answer=answer_value,
                                  answered_at=clock.now(), update_id=update_id,
                                  session_id=row.id if isinstance(row, SurveySession) else None)
        try:
            async with s.begin_nested():
                s.add(response)
        except IntegrityError:  # the same account answered at the same moment from another device
            raise DomainError("survey.already", unit=unit.name, year=row.year,
                              date=clock.now().date().isoformat()) from None
        # Audited like every input to a score, without who answered (the response id, not the account).
        audit.record(s, clock, actor="public", action="survey.answer", entity="survey_response",
                     key=f"{row.year}:{unit.code}", after={"response": response.id, "answer": answer_value})
        await DIALOGUE.open(s, clock, conv, COMMENT, {"response": response.id, "at": clock.now().isoformat(),
                                                      "unit": unit.name, "year": row.year}, serial=update_id)
        await uow.commit()
        return SurveyView(token, row.year, unit.name, answer=answer_value)


async def comment(text: str | None, *, conv: ConvRef, update_id: int | None, uow: UnitOfWork,
                  clock: Clock) -> Comment:
    """The comment after an answer (None: skipped); the dialogue ends either way. ``outcome`` is ``saved``,
    ``skipped`` or ``late`` (the window passed: nothing saved). NoDraft ``survey.no_comment`` when no answer
    waits for one; ``survey.comment_long`` keeps waiting."""
    clean = " ".join((text or "").split())
    if len(clean) > MAX_COMMENT:
        raise DomainError("survey.comment_long", max=MAX_COMMENT, length=len(clean))

    async def work(turn: Turn[Comment]) -> Comment:
        s, d = turn.session, turn.draft.data
        await DIALOGUE.drop(s, clock, conv)
        outcome = "skipped"
        if text is not None and clean:
            response = await s.get(SurveyResponse, d["response"])
            if clock.now() - datetime.fromisoformat(d["at"]) > COMMENT_WINDOW or response is None:
                outcome = "late"
            elif not response.comment:
                response.comment = clean
                s.add(response)
                outcome = "saved"
        return Comment(turn.draft.serial, DONE, d.get("unit", ""), outcome)
    return await DIALOGUE.step(conv, update_id, uow, clock, at=(COMMENT,), work=work)


async def awaiting_comment(conv: ConvRef, *, uow: UnitOfWork) -> bool:
    """Whether this chat and user have just answered and may send a comment (the gate lets it through)."""
    async with uow:
        draft = await DIALOGUE.load(uow.session, conv)
        return draft is not None and draft.step == COMMENT


async def purge_comments(*, uow: UnitOfWork, clock: Clock) -> int:
    """Forget the comment windows that have passed: after them nothing links an account to an answer."""
    async with uow:
        s = uow.session
        rows = (await s.exec(select(ConversationState).where(ConversationState.name == DIALOGUE.draft_name))).all()
        gone = 0
        for row in rows:
            draft = Draft.from_json(row.state)
            at = datetime.fromisoformat(draft.data["at"]) if draft is not None and "at" in draft.data else None
            if at is None or clock.now() - at > COMMENT_WINDOW:
                chat_id, user_id = conversations.key_tuple(row.conv_key)
                await DIALOGUE.drop(s, clock, ConvRef(row.conv_key, int(chat_id), int(user_id)))
                gone += 1
        await uow.commit()
        return gone
