"""Invitations: one-time deep-link codes that bind a Telegram account to a person, role and unit.

Only the sha256 of a code is stored; the code itself is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.i18n import th
from models.db import UnitOfWork
from models.enums import Role
from models.people import Invitation, Person, RoleMembership
from models.plan import Unit
from services.core import audit, outbox, updates
from services.core.actor import active_person
from services.core.clock import Clock
from services.core.errors import DomainError, NotFound
from services.people.viewer import Viewer, viewer_in

PAYLOAD_PREFIX = "i_"
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")
UNIT_ROLES = (Role.CADRE, Role.ASSESSOR)
DEFAULT_TTL = timedelta(days=14)


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def new_code() -> str:
    return secrets.token_urlsafe(16)  # 16 random bytes -> 22 url-safe characters


def link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={PAYLOAD_PREFIX}{code}"


def parse_ttl(text: str) -> timedelta:
    """``14d``, ``48h`` or ``90m`` to a duration; ValueError otherwise."""
    m = re.fullmatch(r"\s*(\d+)\s*([dhm])\s*", text.lower())
    if not m or int(m.group(1)) <= 0:
        raise ValueError(text)
    n, unit = int(m.group(1)), m.group(2)
    return {"d": timedelta(days=n), "h": timedelta(hours=n), "m": timedelta(minutes=n)}[unit]


def code_from(text: str) -> str:
    """Accept a bare code, ``i_<code>`` or a whole link."""
    text = text.strip()
    if "start=" in text:
        text = text.split("start=", 1)[1].split("&", 1)[0]
    return text.removeprefix(PAYLOAD_PREFIX)


@dataclass(frozen=True)
class InvitationInfo:
    id: int
    role: str
    unit_code: str | None
    person_code: str | None
    created_at: datetime
    expires_at: datetime
    status: str  # unused / used / expired / revoked
    used_by: str | None


async def _unit(session: AsyncSession, code: str | None) -> Unit | None:
    if code is None:
        return None
    unit = (await session.exec(select(Unit).where(Unit.code == code))).first()
    if unit is None:
        raise NotFound("unit.unknown", code=code)
    return unit


async def create(
    role: Role, *, unit_code: str | None, person_code: str | None, count: int, ttl: timedelta,
    by_user_id: int | None, uow: UnitOfWork, clock: Clock, update_id: int | None = None,
) -> list[str]:
    """Create ``count`` invitation codes; returns the codes (shown once, never stored). ``by_user_id``: the
    Telegram account of the admin minting them in chat (an active admin, or DomainError ``error.not_allowed``);
    None: the command line. Each invitation records who minted it; the audit entry names them."""
    if count < 1 or count > 1000:
        raise DomainError("invite.bad_count")
    if role in UNIT_ROLES and unit_code is None and person_code is None:
        raise DomainError("invite.unit_required", role=role.value)
    async with uow:
        session = uow.session
        await updates.claim(session, update_id, clock)
        minter = await _minter(session, by_user_id)
        unit = await _unit(session, unit_code)
        person = None
        if person_code is not None:
            person = (await session.exec(select(Person).where(Person.code == person_code))).first()
            if person is None:
                raise NotFound("person.unknown", code=person_code)
            if not person.active:
                raise DomainError("person.inactive", code=person_code)
            if unit is None and role in UNIT_ROLES:
                unit = await session.get(Unit, person.unit_id) if person.unit_id else None
                if unit is None:
                    raise DomainError("invite.unit_required", role=role.value)
        now = clock.now()
        codes, rows = [], []
        for _ in range(count):
            code = new_code()
            rows.append(Invitation(
                code_hash=hash_code(code), role=role.value, unit_id=unit.id if unit else None,
                person_id=person.id if person else None, created_at=now, expires_at=now + ttl,
                created_by_person_id=minter.id if minter else None,
            ))
            codes.append(code)
        session.add_all(rows)
        await session.flush()
        ids = [r.id for r in rows]
        audit.record(session, clock, actor=f"person:{minter.code}" if minter else "cli", action="invitation.create",
                     entity="invitation", key=str(ids[0]) if count == 1 else f"{ids[0]}..{ids[-1]}",
                     after={"role": role.value, "unit": unit.code if unit else None, "person": person_code,
                            "count": count, "invitations": ids, "expires_at": now + ttl})
        await uow.commit()
        return codes


async def _minter(session: AsyncSession, by_user_id: int | None) -> Person | None:
    """The active admin minting invitations in chat; None for the command line."""
    if by_user_id is None:
        return None
    person = await active_person(session, by_user_id)
    admin = (await session.exec(select(RoleMembership.id).where(
        RoleMembership.person_id == person.id, RoleMembership.role == Role.ADMIN.value))).first()
    if admin is None:
        raise DomainError("error.not_allowed")
    return person


async def revoke_unused_for_person(session: AsyncSession, person: Person, clock: Clock) -> int:
    rows = (
        await session.exec(
            select(Invitation).where(
                Invitation.person_id == person.id,
                col(Invitation.used_at).is_(None),
                col(Invitation.revoked_at).is_(None),
            )
        )
    ).all()
    for inv in rows:
        inv.revoked_at = clock.now()
        session.add(inv)
    return len(rows)


@dataclass(frozen=True)
class PersonInvite:
    code: str
    person_code: str
    name: str
    unit_code: str | None
    unit_name: str | None
    roles: str
    expires_at: datetime


async def create_for_unjoined(
    *, ttl: timedelta, actor: str, uow: UnitOfWork, clock: Clock
) -> list[PersonInvite]:
    """One fresh code per active person not yet joined; their older unused codes are revoked."""
    async with uow:
        session = uow.session
        people = (
            await session.exec(
                select(Person)
                .where(col(Person.telegram_user_id).is_(None), Person.active == True)  # noqa: E712
                .order_by(col(Person.code))
            )
        ).all()
        units = {u.id: u for u in (await session.exec(select(Unit))).all()}
        roles: dict[int, list[str]] = {}
        for m in (await session.exec(select(RoleMembership).order_by(col(RoleMembership.id)))).all():
            roles.setdefault(m.person_id, []).append(m.role)
        now = clock.now()
        out = []
        revoked_total = 0
        for person in people:
            assert person.id is not None
            revoked_total += await revoke_unused_for_person(session, person, clock)
            code = new_code()
            person_roles = roles.get(person.id) or [Role.CADRE.value]
            session.add(Invitation(
                code_hash=hash_code(code), role=person_roles[0], unit_id=person.unit_id,
                person_id=person.id, created_at=now, expires_at=now + ttl,
            ))
            unit = units.get(person.unit_id)
            out.append(PersonInvite(code, person.code, person.name, unit.code if unit else None,
                                    unit.name if unit else None, ";".join(person_roles), now + ttl))
        audit.record(session, clock, actor=actor, action="invitation.export", entity="invitation",
                     after={"created": len(out), "revoked": revoked_total})
        await uow.commit()
        return out


def _status(inv: Invitation, now: datetime) -> str:
    if inv.revoked_at is not None:
        return "revoked"
    if inv.used_at is not None:
        return "used"
    if inv.expires_at <= now:
        return "expired"
    return "unused"


async def list_all(*, uow: UnitOfWork, clock: Clock) -> list[InvitationInfo]:
    async with uow:
        session = uow.session
        units = {u.id: u.code for u in (await session.exec(select(Unit))).all()}
        people = {p.id: p.code for p in (await session.exec(select(Person))).all()}
        rows = (await session.exec(select(Invitation).order_by(col(Invitation.id)))).all()
        now = clock.now()
        return [
            InvitationInfo(inv.id or 0, inv.role, units.get(inv.unit_id), people.get(inv.person_id),
                           inv.created_at, inv.expires_at, _status(inv, now),
                           people.get(inv.used_by_person_id))
            for inv in rows
        ]


async def revoke(code_or_link: str, *, actor: str, uow: UnitOfWork, clock: Clock) -> None:
    async with uow:
        session = uow.session
        inv = (
            await session.exec(select(Invitation).where(Invitation.code_hash == hash_code(code_from(code_or_link))))
        ).first()
        if inv is None:
            raise NotFound("invite.unknown")
        if inv.used_at is not None:
            raise DomainError("invite.already_used")
        if inv.revoked_at is not None:
            raise DomainError("invite.already_revoked")
        inv.revoked_at = clock.now()
        session.add(inv)
        audit.record(session, clock, actor=actor, action="invitation.revoke", entity="invitation",
                     key=str(inv.id), before={"revoked": False}, after={"revoked": True})
        await uow.commit()


@dataclass(frozen=True)
class Redeemed:
    viewer: Viewer
    role: Role
    unit_name: str | None
    new_person: bool


async def redeem(
    code: str, *, telegram_user_id: int, display_name: str, language: str | None, update_id: int | None,
    uow: UnitOfWork, clock: Clock,
) -> Redeemed:
    """Bind a Telegram account through an invitation code, in the transaction of the update id.

    Refusals (DomainError, nothing changed): unknown, used, expired or revoked code; a deactivated
    person; a person already bound to another account.
    """
    async with uow:
        session = uow.session
        await updates.claim(session, update_id, clock)
        inv = None
        if CODE_RE.fullmatch(code):
            # Locked: two accounts redeeming one code at once (PostgreSQL) wait for each other; one wins.
            inv = (await session.exec(select(Invitation).where(Invitation.code_hash == hash_code(code))
                                      .with_for_update())).first()
        now = clock.now()
        if inv is None:
            raise DomainError("invite.invalid")
        if inv.revoked_at is not None or inv.used_at is not None:
            raise DomainError("invite.used_or_revoked")
        if inv.expires_at <= now:
            raise DomainError("invite.expired")
        role = Role(inv.role)
        me = (await session.exec(select(Person).where(Person.telegram_user_id == telegram_user_id))).first()
        if me is not None and not me.active:
            raise DomainError("person.deactivated")
        new_person = False
        if inv.person_id is not None:
            person = await session.get(Person, inv.person_id)
            assert person is not None
            if not person.active:
                raise DomainError("person.deactivated")
            if person.telegram_user_id not in (None, telegram_user_id):
                raise DomainError("invite.person_taken")
            if me is not None and me.id != person.id:
                raise DomainError("invite.already_someone_else", name=me.name)
        elif me is not None:
            person = me
        else:
            person = Person(code=f"TG{telegram_user_id}", name=display_name[:64] or str(telegram_user_id),
                            unit_id=inv.unit_id, created_at=now)
            new_person = True
        if person.telegram_user_id is None:
            person.telegram_user_id = telegram_user_id
            person.joined_at = now
            if person.language is None and language:
                person.language = language
        if person.unit_id is None and inv.unit_id is not None:
            person.unit_id = inv.unit_id
        person.unreachable_at = None
        session.add(person)
        await session.flush()
        assert person.id is not None
        exists = (
            await session.exec(
                select(RoleMembership).where(
                    RoleMembership.person_id == person.id,
                    RoleMembership.role == role.value,
                    RoleMembership.unit_id == inv.unit_id if inv.unit_id is not None
                    else col(RoleMembership.unit_id).is_(None),
                )
            )
        ).first()
        if exists is None and not (inv.person_id is not None and await _has_role(session, person.id, role)):
            session.add(RoleMembership(person_id=person.id, role=role.value, unit_id=inv.unit_id, created_at=now))
        inv.used_at = now
        inv.used_by_person_id = person.id
        inv.used_by_telegram_id = telegram_user_id
        session.add(inv)
        unit = await session.get(Unit, inv.unit_id) if inv.unit_id else None
        audit.record(session, clock, actor=f"telegram:{telegram_user_id}", action="invitation.redeem",
                     entity="person", key=person.code,
                     after={"role": role.value, "unit": unit.code if unit else None, "invitation": inv.id,
                            "new_person": new_person})
        await session.flush()
        viewer = await viewer_in(session, telegram_user_id)
        assert viewer is not None
        await _tell_admins(session, clock, viewer, role, unit)
        await uow.commit()
        return Redeemed(viewer, role, unit.name if unit else None, new_person)


async def _has_role(session: AsyncSession, person_id: int, role: Role) -> bool:
    row = await session.exec(
        select(RoleMembership.id).where(RoleMembership.person_id == person_id, RoleMembership.role == role.value)
    )
    return row.first() is not None


async def _tell_admins(session: AsyncSession, clock: Clock, viewer: Viewer, role: Role, unit: Unit | None) -> None:
    """Admins hear of every join through the outbox, in their own language."""
    admins = (
        await session.exec(
            select(Person)
            .join(RoleMembership, col(RoleMembership.person_id) == col(Person.id))
            .where(RoleMembership.role == Role.ADMIN.value, Person.id != viewer.person_id)
            .distinct()
        )
    ).all()
    for admin in admins:
        lang = admin.language
        await outbox.enqueue_to_person(
            session, clock, admin, kind="join", parse_mode="HTML",
            text=th("notice.joined", lang, name=viewer.name, role=th(f"role.{role.value}", lang),
                    unit=unit.name if unit else "—"),
        )
