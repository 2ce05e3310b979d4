"""/lang zh|en: the user's language for every reply and push."""

from __future__ import annotations

from telegram import Update

from config.i18n import LANGUAGES, Translator, normalise_language
from handlers.common import deps, reply, who
from handlers.context import Context
from handlers.menu import publish_personal_menu
from services.core.errors import DomainError, DuplicateUpdate
from services.people import viewer as people


async def lang(update: Update, context: Context) -> None:
    """Switch language, or show the choices."""
    d = deps(context)
    viewer, tr = await who(update, context)
    choice = context.args[0].strip().lower() if context.args else ""
    if not choice:
        await reply(update, tr("lang.usage", current=tr("lang.name"), choices=" | ".join(LANGUAGES)))
        return
    if choice not in LANGUAGES:
        await reply(update, tr("lang.unknown", choices=" | ".join(LANGUAGES)))
        return
    if viewer is None:  # nobody to remember it for: answer in that language once
        await reply(update, Translator(choice)("lang.unregistered"))
        return
    user = update.effective_user
    assert user is not None
    try:
        await people.set_language(user.id, choice, update_id=update.update_id, uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        return
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    tr = Translator(normalise_language(choice))
    await reply(update, tr("lang.changed", language=tr("lang.name")))
    await publish_personal_menu(update.get_bot(), user.id, viewer, tr.lang)
