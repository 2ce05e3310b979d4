"""/surveysession UNIT [hours]: an inspector opens a survey session for a unit during a visit (issue #15 §6)
and gets its link and QR code to show residents; answerable only until the window ends. Transport only: the
rules are in services/assessment/survey_sessions.py."""

from __future__ import annotations

import asyncio
import io

import segno
from telegram import Update

from handlers.common import deps, reply, who
from handlers.context import Context
from services.assessment import survey, survey_sessions
from services.core.errors import DomainError, DuplicateUpdate


def _qr_png(url: str) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=8, border=4)
    return out.getvalue()


async def open_session(update: Update, context: Context) -> None:
    """Open the session; reply with the link, the window and the QR code."""
    d = deps(context)
    _, tr = await who(update, context)
    assert update.effective_user is not None and update.effective_message is not None
    args = context.args or []
    hours = survey_sessions.DEFAULT_HOURS
    if args and args[-1].isdigit() and len(args) > 1:
        hours = int(args.pop())
    if not args:
        await reply(update, tr("svs.usage", hours=survey_sessions.DEFAULT_HOURS, max=survey_sessions.MAX_HOURS))
        return
    if d.bot_username is None:
        await reply(update, tr("invite.no_username"))
        return
    try:
        opened = await survey_sessions.open_session(" ".join(args), hours, user_id=update.effective_user.id,
                                                    update_id=update.update_id, uow=d.db.uow(), clock=d.clock)
    except DuplicateUpdate:
        return
    except DomainError as exc:
        await reply(update, tr(exc.key, **exc.params))
        return
    url = survey.link(d.bot_username, opened.token)
    text = tr("svs.opened", unit=opened.unit_name, code=opened.unit_code, session=opened.id, link=url,
              until=opened.closes_at.astimezone(d.clock.tz).strftime("%Y-%m-%d %H:%M"))
    await reply(update, text)
    png = await asyncio.to_thread(_qr_png, url)
    await update.effective_message.reply_photo(photo=png, caption=tr("svs.qr_caption", unit=opened.unit_name,
                                                                      session=opened.id))
