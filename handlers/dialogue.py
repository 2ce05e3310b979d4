"""The handler half of the dialogue skeleton (services/core/dialogue.py): how any dialogue talks.

A dialogue's handler module builds one ``DialogueView`` (its service's dialogue, how a snapshot is shown,
its catalogue keys) and every callback of the dialogue is one line on it:
- ``step``: the service does the step in the update's transaction, then the snapshot is shown and PTB's
  next state returned. A redelivered update does nothing; an old button or a restart re-prompts the step
  the draft is at; a refusal is said and keeps the step, a DialogueEnded refusal ends the dialogue;
- ``confirm``: a step that also takes the buttons off the summary once the dialogue ended;
- ``cancel``: /cancel or a Cancel button (says whether there was anything to drop);
- ``stray``: anything the current step does not take (says what is expected and re-prompts it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import ConversationHandler

from config.i18n import Translator
from handlers.common import deps, drop_buttons, reply, who
from handlers.context import Context
from services.core import conversations
from services.core.conversations import ConvRef
from services.core.dialogue import DONE, Dialogue
from services.core.errors import AlreadyDone, DialogueEnded, DomainError, DuplicateUpdate, StepMismatch

END = ConversationHandler.END

Show = Callable[[Update, Context, Any, Translator], Awaitable[None]]
Refuse = Callable[[Update, Translator, DomainError], Awaitable[None]]


def conv_ref(update: Update) -> ConvRef:
    """Which dialogue an update belongs to: PTB's conversation key (chat, user), as stored."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    return ConvRef(key=conversations.key_text((chat.id, user.id)), chat_id=chat.id, user_id=user.id)


async def say(update: Update, tr: Translator, exc: DomainError) -> None:
    """A refusal as a reply in the chat."""
    await reply(update, tr(exc.key, **exc.params))


async def alert(update: Update, tr: Translator, exc: DomainError) -> None:
    """A refusal of a button press as Telegram's alert on it (a message otherwise)."""
    query = update.callback_query
    if query is not None:
        await query.answer(Translator(tr.lang, html=False)(exc.key, **exc.params), show_alert=True)
    else:
        await say(update, tr, exc)


@dataclass(frozen=True)
class DialogueView:
    """How one dialogue talks in chat."""

    dialogue: Dialogue[Any]
    show: Show  # renders a snapshot: the prompt of its step, or how the dialogue ended
    unexpected: str  # "that is not what this step takes"
    cancelled: str
    nothing_to_cancel: str
    refuse: Refuse = say
    reprompt: bool = True  # after ``unexpected``, show the step's prompt again

    @staticmethod
    def next_state(snap: Any) -> object:
        return END if snap.step == DONE else snap.step

    async def step(self, update: Update, context: Context, call: Callable[..., Awaitable[Any]], *args: object,
                   show: Show | None = None, **kwargs: object) -> object:
        """One step of the dialogue: the service's ``call`` (with the update's conversation, id, unit of work
        and clock), then where the dialogue now stands, shown (by ``show``, else the dialogue's own); PTB's
        next state is returned."""
        d = deps(context)
        _, tr = await who(update, context)
        try:
            snap = await call(*args, **kwargs, conv=conv_ref(update), update_id=update.update_id, uow=d.db.hot_uow(),
                              clock=d.clock)
        except DuplicateUpdate:
            return None
        except AlreadyDone as exc:  # a second Confirm: what the first did, and the dialogue in progress stays
            await (show or self.show)(update, context, exc.snapshot, tr)
            return None
        except StepMismatch as exc:
            snap = exc.snapshot
        except DialogueEnded as exc:
            await self.refuse(update, tr, exc)
            return END
        except DomainError as exc:
            await self.refuse(update, tr, exc)
            return None
        await (show or self.show)(update, context, snap, tr)
        return self.next_state(snap)

    async def precheck(self, update: Update, context: Context, call: Callable[..., Awaitable[None]],
                       *args: object) -> tuple[bool, object]:
        """Before fetching what the update carries (a file): would the dialogue take it now? (True, None) to go
        on; else (False, the next state) once the refusal is said or the current step re-prompted."""
        d = deps(context)
        _, tr = await who(update, context)
        try:
            await call(*args, conv=conv_ref(update), uow=d.db.hot_read_uow(), clock=d.clock)
        except StepMismatch as exc:
            await self.show(update, context, exc.snapshot, tr)
            return False, self.next_state(exc.snapshot)
        except DialogueEnded as exc:
            await self.refuse(update, tr, exc)
            return False, END
        except DomainError as exc:
            await self.refuse(update, tr, exc)
            return False, None
        return True, None

    async def confirm(self, update: Update, context: Context, call: Callable[..., Awaitable[Any]],
                      *args: object) -> object:
        """Confirm (the step that writes): once the dialogue ended, the summary's buttons go."""
        result = await self.step(update, context, call, *args)
        if result == END:
            await drop_buttons(update)
        return result

    async def cancel(self, update: Update, context: Context, **reply_kwargs: object) -> object:
        """/cancel or a Cancel button: the draft is dropped in the update's transaction, nothing else is
        written; the user hears whether there was anything to drop."""
        d = deps(context)
        _, tr = await who(update, context)
        try:
            had = await self.dialogue.cancel(conv=conv_ref(update), update_id=update.update_id, uow=d.db.hot_uow(),
                                             clock=d.clock)
        except DuplicateUpdate:
            return END
        await reply(update, tr(self.cancelled if had else self.nothing_to_cancel), **reply_kwargs)
        return END

    async def stray(self, update: Update, context: Context) -> object:
        """Anything the current step does not take: say what is expected, stay at the step. Without a
        dialogue in progress (an old button), say so and end."""
        d = deps(context)
        _, tr = await who(update, context)
        try:
            snap = await self.dialogue.resume(conv=conv_ref(update), uow=d.db.hot_read_uow(), clock=d.clock)
        except DomainError as exc:
            await self.refuse(update, tr, exc)
            return END
        if snap is None:
            if update.callback_query is not None:
                await self.refuse(update, tr, DialogueEnded(self.dialogue.no_draft))
            return END
        await reply(update, tr(self.unexpected))
        if self.reprompt:
            await self.show(update, context, snap, tr)
        return self.next_state(snap)
