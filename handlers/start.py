"""/start without a deep link: the greeting (invitation and survey links are routed by the registry)."""

from __future__ import annotations

from telegram import Update

from config.i18n import Translator
from handlers.common import reply, who
from handlers.context import Context
from handlers.menu import menu_text
from services.people.viewer import Viewer


async def start(update: Update, context: Context) -> None:
    """/start: the greeting with the person's menu (deep links go to invite.join and survey.start_link)."""
    viewer, tr = await who(update, context)
    if viewer is None:
        await reply(update, tr("start.unregistered"))
        return
    await reply(update, greeting(viewer, tr))


def greeting(viewer: Viewer, tr: Translator) -> str:
    roles = "、".join(tr(f"role.{r.value}") for r in viewer.roles) if tr.lang == "zh" else ", ".join(
        tr(f"role.{r.value}") for r in viewer.roles
    )
    return tr("start.welcome_back", name=viewer.name, roles=roles or "—", unit=viewer.unit_name or "—") + (
        "\n\n" + menu_text(viewer, tr)
    )
