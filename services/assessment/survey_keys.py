"""Who answered the survey, kept so that nobody can find out: a respondent is the keyed hash
HMAC(S, HMAC(D, "<year>:<unit id>:<Telegram user id>")), where D is a secret of the county's database (kv
``survey_secret``, made on first use) and S is ``DUBAN_SURVEY_SECRET``, held outside the database. The hash
is enough to refuse a second answer for the same unit and year; whoever reads the database (or a backup)
without S cannot compute anyone's hash, so cannot tell how a given person answered.

The answers of a county that ran the survey before S existed were keyed with D alone: on the first start with
S set (``prepare``, called when the bot starts), each stored hash h becomes HMAC(S, h), which is what the
new formula gives for the same person, and the database remembers which S it is keyed with (kv ``survey_key``,
a fingerprint, not S). Another S later closes the survey (the answers could no longer be recognised) until the
right one is set again. Without S nobody can answer.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.assessment import SurveyResponse
from models.core import KeyValue
from models.db import UnitOfWork
from services.core import audit
from services.core.clock import Clock
from services.core.errors import DomainError

DB_SECRET = "survey_secret"
KEYED_WITH = "survey_key"


def fingerprint(secret: str) -> str:
    """What the database keeps to know which outside secret its answers are keyed with (not the secret)."""
    return hashlib.sha256(b"duban-survey-key:" + secret.encode()).hexdigest()[:16]


def respondent_key(db_secret: bytes, secret: str, year: int, unit_id: int, telegram_user_id: int) -> str:
    inner = hmac.new(db_secret, f"{year}:{unit_id}:{telegram_user_id}".encode(), hashlib.sha256).hexdigest()
    return _wrap(secret, inner)


def _wrap(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


async def db_secret(s: AsyncSession, clock: Clock) -> bytes:
    """The database's half of the key, generated on first use (a racing writer's value wins for both)."""
    row = await s.get(KeyValue, DB_SECRET)
    if row is None:
        try:
            async with s.begin_nested():
                s.add(KeyValue(key=DB_SECRET, value=secrets.token_hex(32), updated_at=clock.now()))
        except IntegrityError:
            pass
        row = await s.get(KeyValue, DB_SECRET)
        assert row is not None
    return bytes.fromhex(row.value)


async def keyed(s: AsyncSession, clock: Clock, secret: str | None) -> str:
    """``secret`` if the answers may be keyed with it now; DomainError ``survey.not_configured`` otherwise
    (no secret set, or not the one the stored answers are keyed with)."""
    if not secret:
        raise DomainError("survey.not_configured")
    mark = await s.get(KeyValue, KEYED_WITH)
    if mark is None and (await s.exec(select(SurveyResponse.id))).first() is None:
        try:  # a county's first answer: nothing to rekey, the mark is set now
            async with s.begin_nested():
                s.add(KeyValue(key=KEYED_WITH, value=fingerprint(secret), updated_at=clock.now()))
        except IntegrityError:
            pass
        mark = await s.get(KeyValue, KEYED_WITH)
    if mark is None or mark.value != fingerprint(secret):
        raise DomainError("survey.not_configured")
    return secret


@dataclass(frozen=True)
class Prepared:
    state: str  # missing (no secret) / ready / rekeyed / mismatch (another secret than the answers')
    rekeyed: int = 0


async def prepare(secret: str | None, *, uow: UnitOfWork, clock: Clock) -> Prepared:
    """At start: key the stored answers with ``secret`` if they never were (audited), or say it differs."""
    if not secret:
        return Prepared("missing")
    async with uow:
        s = uow.session
        mark = await s.get(KeyValue, KEYED_WITH)
        if mark is not None:
            return Prepared("ready" if mark.value == fingerprint(secret) else "mismatch")
        rows = (await s.exec(select(SurveyResponse))).all()
        for row in rows:
            row.respondent = _wrap(secret, row.respondent)
            s.add(row)
        s.add(KeyValue(key=KEYED_WITH, value=fingerprint(secret), updated_at=clock.now()))
        if rows:
            audit.record(s, clock, actor="system", action="survey.rekey", entity="survey_response",
                         key=str(len(rows)), after={"answers": len(rows)})
        await uow.commit()
        return Prepared("rekeyed" if rows else "ready", len(rows))


def new_token() -> str:
    """A survey link's or session's token: 24 random bytes -> 32 url-safe characters ("s_" + 32 <= 64)."""
    return secrets.token_urlsafe(24)
