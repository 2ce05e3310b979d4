"""Signing in to the dashboard.

* A one-time login link (``create_login``): 32 random bytes, stored only as their SHA-256, good for
  ``LOGIN_TTL`` (10 minutes) and redeemed at most once (one conditional UPDATE decides, so two browsers
  racing with one link cannot both win).
* Telegram's Mini App ``initData`` (``check_init_data``), checked exactly as Telegram documents it:
  https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app — the data-check-string
  is every field but ``hash``, sorted by key, as ``key=value`` joined by newlines; the secret key is
  HMAC-SHA256 of the bot token under the key ``WebAppData``; ``hash`` must be the hex HMAC-SHA256 of the
  data-check-string under that secret key; and ``auth_date`` must be no older than the setting.
* Either gives a session (``DashboardSession``): a random token in an HttpOnly, SameSite=Strict cookie,
  stored as its hash, good for DUBAN_DASHBOARD_SESSION_HOURS, and refused as soon as the person is
  deactivated (``session_person`` reads the person on every request).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from sqlalchemy import update
from sqlmodel import col, func, select

from models.dashboard import DashboardLogin, DashboardSession
from models.db import UnitOfWork
from models.people import Person
from services.core import audit
from services.core.clock import Clock
from services.core.errors import DomainError

LOGIN_TTL = timedelta(minutes=10)


class NotSignedIn(DomainError):
    """No session, an expired one, or one of a person no longer active (HTTP 401)."""

    key = "dash.not_signed_in"


class LoginRefused(DomainError):
    """A login link that is unknown, used already or expired; initData that does not check out."""

    key = "dash.login_refused"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


async def create_login(person_code: str, *, actor: str, uow: UnitOfWork, clock: Clock) -> str:
    """A one-time login token for an active person (by code, any case); DomainError otherwise."""
    async with uow:
        s = uow.session
        person = (await s.exec(select(Person).where(func.upper(Person.code) == person_code.strip().upper()))).first()
        if person is None:
            raise DomainError("dash.unknown_person", code=person_code)
        if not person.active:
            raise DomainError("dash.inactive_person", code=person.code)
        token = secrets.token_urlsafe(32)
        assert person.id is not None
        s.add(DashboardLogin(token_hash=token_hash(token), person_id=person.id, created_at=clock.now(),
                             expires_at=clock.now() + LOGIN_TTL))
        audit.record(s, clock, actor=actor, action="dashboard.link", entity="person", key=person.code)
        await uow.commit()
        return token


async def _session(uow: UnitOfWork, clock: Clock, person: Person, via: str, hours: float) -> str:
    token = secrets.token_urlsafe(32)
    assert person.id is not None
    uow.session.add(DashboardSession(token_hash=token_hash(token), person_id=person.id, via=via,
                                     created_at=clock.now(), expires_at=clock.now() + timedelta(hours=hours)))
    audit.record(uow.session, clock, actor=f"person:{person.code}", action="dashboard.sign_in", entity="person",
                 key=person.code, after={"via": via})
    return token


async def redeem_login(token: str, *, hours: float, uow: UnitOfWork, clock: Clock) -> str:
    """Spend a login token: a new session's token; LoginRefused when unknown, used or expired."""
    async with uow:
        s = uow.session
        now = clock.now()
        won = await s.exec(update(DashboardLogin)  # type: ignore[call-overload]
                           .where(col(DashboardLogin.token_hash) == token_hash(token),
                                  col(DashboardLogin.used_at).is_(None), col(DashboardLogin.expires_at) > now)
                           .values(used_at=now))
        if won.rowcount != 1:
            raise LoginRefused
        login = (await s.exec(select(DashboardLogin).where(DashboardLogin.token_hash == token_hash(token)))).one()
        person = await s.get(Person, login.person_id)
        if person is None or not person.active:
            raise LoginRefused
        session_token = await _session(uow, clock, person, "link", hours)
        await uow.commit()
        return session_token


def check_init_data(init_data: str, bot_token: str, *, now: datetime, max_age: float) -> dict[str, object]:
    """The fields of Telegram's initData (``user`` decoded from JSON) if its hash and age check out, else
    LoginRefused. See the module docstring for the rule and the link to Telegram's documentation."""
    try:
        fields = dict(parse_qsl(init_data, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        raise LoginRefused from None
    given = fields.pop("hash", "")
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    if not given or not hmac.compare_digest(expected, given.lower()):
        raise LoginRefused
    try:
        auth_date = int(fields.get("auth_date", ""))
        user = json.loads(fields.get("user", ""))
        user_id = int(user["id"])
    except (ValueError, TypeError, KeyError):
        raise LoginRefused from None
    age = now.timestamp() - auth_date
    if age > max_age or age < -60:
        raise LoginRefused
    return {**fields, "user": user, "user_id": user_id}


async def telegram_sign_in(init_data: str, bot_token: str, *, max_age: float, hours: float, uow: UnitOfWork,
                           clock: Clock) -> str:
    """A session for the registered, active person behind valid initData; LoginRefused otherwise."""
    fields = check_init_data(init_data, bot_token, now=clock.now(), max_age=max_age)
    async with uow:
        s = uow.session
        person = (await s.exec(select(Person).where(Person.telegram_user_id == fields["user_id"]))).first()
        if person is None or not person.active:
            raise LoginRefused
        token = await _session(uow, clock, person, "telegram", hours)
        await uow.commit()
        return token


async def session_person(token: str | None, *, uow: UnitOfWork, clock: Clock) -> Person:
    """The active person of a session token; NotSignedIn when there is none, it expired or they were
    deactivated."""
    if not token:
        raise NotSignedIn
    async with uow:
        s = uow.session
        found = (await s.exec(select(DashboardSession, Person)
                              .join(Person, col(Person.id) == col(DashboardSession.person_id))
                              .where(DashboardSession.token_hash == token_hash(token)))).first()
        if found is None:
            raise NotSignedIn
        session, person = found
        if session.expires_at <= clock.now() or not person.active:
            raise NotSignedIn
        return person


async def sign_out(token: str | None, *, uow: UnitOfWork) -> None:
    if not token:
        return
    async with uow:
        row = (await uow.session.exec(select(DashboardSession)
                                      .where(DashboardSession.token_hash == token_hash(token)))).first()
        if row is not None:
            await uow.session.delete(row)
            await uow.commit()
