"""/start: invitation deep links (i_<code>), the public survey links (s_<token>), and the greeting."""

from __future__ import annotations

from telegram import Update

from config.i18n import Translator
from handlers.common import deps, display_name, language_of, reply, who
from handlers.context import Context
from handlers.help import menu_text
from handlers.menu import publish_personal_menu
from handlers.survey import start_link
from services.assessment import survey
from services.core.errors import DomainError, DuplicateUpdate
from services.people import invite
from services.people.viewer import Viewer


async def start(update: Update, context: Context) -> None:
    """Route /start by its payload."""
    payload = context.args[0] if context.args else ""
    if payload.startswith(invite.PAYLOAD_PREFIX):
        await _join(update, context, payload.removeprefix(invite.PAYLOAD_PREFIX))
        return
    if payload.startswith(survey.PAYLOAD_PREFIX):
        await start_link(update, context, payload.removeprefix(survey.PAYLOAD_PREFIX))
        return
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


async def _join(update: Update, context: Context, code: str) -> None:
    d = deps(context)
    user = update.effective_user
    assert user is not None
    lang = language_of(update, None, d.settings.locale)
    try:
        joined = await invite.redeem(
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
