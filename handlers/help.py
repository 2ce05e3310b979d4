"""/help (the commands of the user's roles) and /me (who the bot thinks you are)."""

from __future__ import annotations

from telegram import Update

from handlers.common import reply, who
from handlers.context import Context
from handlers.menu import menu_text


async def help_command(update: Update, context: Context) -> None:
    """List only what this user can do."""
    viewer, tr = await who(update, context)
    if viewer is None:
        await reply(update, tr("start.unregistered") + "\n\n" + menu_text(None, tr))
        return
    await reply(update, menu_text(viewer, tr))


async def me(update: Update, context: Context) -> None:
    """Name, roles with their units, language."""
    viewer, tr = await who(update, context)
    if viewer is None:
        await reply(update, tr("start.unregistered"))
        return
    lines = [tr("me.title", name=viewer.name, code=viewer.code, unit=viewer.unit_name or "—")]
    for m in viewer.memberships:
        lines.append(tr("me.role", role=tr(f"role.{m.role.value}"), unit=m.unit_name or tr("me.all_units")))
    lines.append(tr("me.language", language=tr("lang.name")))
    await reply(update, "\n".join(lines))
