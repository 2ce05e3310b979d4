"""Invitations are minted by active admins only, record who minted them and are named in the audit; a code
is redeemed once even when two accounts try it at the same moment."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from models.core import AuditLog
from models.enums import Role
from models.people import Invitation, RoleMembership
from services.core.errors import Deactivated, DomainError
from services.people import invite, person
from tests.support.factories import add_person, add_unit


async def test_an_invitation_records_its_minter_and_the_audit_names_it(bot) -> None:
    await add_unit(bot.db, bot.clock, code="V1", name="青山村")
    admin = await add_person(bot.db, bot.clock, name="赵主任", roles=(Role.ADMIN,), telegram_user_id=100)
    chat = bot.fake.user(100)
    await chat.send_text("/invite cadre V1")
    assert "邀请链接" in (await chat.wait_reply()).text
    async with bot.db.uow() as uow:
        (inv,) = (await uow.session.exec(select(Invitation))).all()
        (entry,) = (await uow.session.exec(select(AuditLog).where(AuditLog.action == "invitation.create"))).all()
    assert inv.created_by_person_id == admin.id
    assert entry.actor == f"person:{admin.code}" and entry.entity_key == str(inv.id)
    assert entry.after["invitations"] == [inv.id]


async def test_only_an_active_admin_mints_invitations(database, clock) -> None:
    """The service checks the asker itself (not only the chat command): a cadre is refused, a deactivated
    admin is refused as deactivated, and nothing is minted."""
    await add_person(database, clock, name="张三", roles=(Role.CADRE,), telegram_user_id=200)
    await add_person(database, clock, name="旧主任", code="A1", roles=(Role.ADMIN,), telegram_user_id=100)
    await person.deactivate("A1", actor="cli", uow=database.uow(), clock=clock)
    for user_id, refusal in ((200, DomainError), (100, Deactivated)):
        with pytest.raises(refusal) as caught:
            await invite.create(Role.ADMIN, unit_code=None, person_code=None, count=1, ttl=timedelta(days=1),
                                by_user_id=user_id, uow=database.uow(), clock=clock)
        assert caught.value.key == ("error.not_allowed" if user_id == 200 else "person.deactivated")
    async with database.uow() as uow:
        assert (await uow.session.exec(select(Invitation))).all() == []


@pytest.mark.postgres_only
async def test_two_accounts_redeeming_one_code_at_once_one_wins(database, clock) -> None:
    """Both redemptions read the code at the same time; the row lock makes the second wait and see it used."""
    await add_unit(database, clock, code="V1", name="青山村")
    (code,) = await invite.create(Role.CADRE, unit_code="V1", person_code=None, count=1, ttl=timedelta(days=1),
                                  by_user_id=None, uow=database.uow(), clock=clock)

    async def redeem(user_id: int) -> str:
        try:
            await invite.redeem(code, telegram_user_id=user_id, display_name=f"U{user_id}", language="zh",
                                update_id=None, uow=database.uow(), clock=clock)
        except DomainError as exc:
            return exc.key
        return "joined"

    outcomes = await asyncio.gather(*(redeem(u) for u in (301, 302, 303, 304)))
    assert sorted(outcomes) == ["invite.used_or_revoked"] * 3 + ["joined"]
    async with database.uow() as uow:
        assert len((await uow.session.exec(select(RoleMembership))).all()) == 1
