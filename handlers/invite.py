"""Invitations in chat: /invite <role> [unit code] (an admin makes a one-time link) and /start i_<code>
(joining by such a link)."""

from __future__ import annotations

from telegram import Update

from config.i18n import Translator
from handlers.common import deps, display_name, language_of, reply, who
from handlers.context import Context
from handlers.menu import menu_text, publish_personal_menu
from models.enums import Role, parse_enum
from services.core.errors import DomainError, DuplicateUpdate
from services.people import invite as invitations


async def invite(update: Update, context: Context) -> None:
    """Admins only: create one invitation link valid for 14 days."""
    d = deps(context)
    viewer, tr = await who(update, context)
    if viewer is None or not viewer.has(Role.ADMIN):
        await reply(update, tr("error.not_allowed"))
        return
    args = context.args or []
    if not args:
        await reply(update, tr("invite.usage"))
        return
    try:
        role = parse_enum(Role, args[0])
    except ValueError:
        await reply(update, tr("invite.bad_role", value=args[0]))
        return
    unit_code = args[1] if len(args) > 1 else None
    if d.bot_username is None:
        await reply(update, tr("invite.no_username"))
        return
    try:
        (code,) = await invitations.create(
            role, unit_code=unit_code, person_code=None, count=1, ttl=invitations.DEFAULT_TTL,
            by_user_id=update.effective_user.id, uow=d.db.uow(), clock=d.clock, update_id=update.update_id,
        )
    except DuplicateUpdate:
        return
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    await reply(update, tr("invite.created", role=tr(f"role.{role.value}"), unit=unit_code or "—",
                           link=invitations.link(d.bot_username, code), days=invitations.DEFAULT_TTL.days))


async def join(update: Update, context: Context) -> None:
    """/start i_<code> (an invitation link): bind this account to the invited person and role."""
    code = (context.args[0] if context.args else "").removeprefix(invitations.PAYLOAD_PREFIX)
    d = deps(context)
    user = update.effective_user
    assert user is not None
    lang = language_of(update, None, d.settings.locale)
    try:
        joined = await invitations.redeem(
            code, telegram_user_id=user.id, display_name=display_name(update), language=lang,
            update_id=update.update_id, uow=d.db.uow(), clock=d.clock,
        )
    except DuplicateUpdate:
        return
    except DomainError as exc:
        _, tr = await who(update, context)
        await reply(update, tr(exc.key, **exc.params))
        return
    tr = Translator(language_of(update, joined.viewer, d.settings.locale))
    text = tr(
        "start.joined", name=joined.viewer.name, role=tr(f"role.{joined.role.value}"),
        unit=joined.unit_name or joined.viewer.unit_name or "—",
    )
    await reply(update, text + "\n\n" + menu_text(joined.viewer, tr))
    await publish_personal_menu(update.get_bot(), user.id, joined.viewer, tr.lang)
