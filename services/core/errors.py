"""Domain errors. Each carries a message id of the catalogue so handlers and the CLI can render it."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the user should read: ``key`` is a message id, ``params`` fill its placeholders."""

    key = "error.generic"

    def __init__(self, key: str | None = None, **params: object) -> None:
        super().__init__(key or self.key)
        if key is not None:
            self.key = key
        self.params = params


class DialogueEnded(DomainError):
    """A refusal after which there is no dialogue to stay in (services/core/dialogue.py): the handler says
    it and ends the conversation. Any other DomainError keeps the dialogue at its step."""


class NotRegistered(DialogueEnded):
    key = "error.not_registered"


class Deactivated(DialogueEnded):
    key = "person.deactivated"


class StepMismatch(Exception):
    """The update belongs to another step than the dialogue is at (an old button, a restart): the
    handler re-prompts the step the dialogue stands at, ``snapshot``."""

    def __init__(self, snapshot: Any) -> None:
        super().__init__(getattr(snapshot, "step", None))
        self.snapshot = snapshot


class AlreadyDone(Exception):
    """The update asks again for something done already (a second press of a dialogue's Confirm): the
    handler shows ``snapshot`` (what the first press did) and changes nothing, not even the dialogue in
    progress."""

    def __init__(self, snapshot: Any) -> None:
        super().__init__(getattr(snapshot, "step", None))
        self.snapshot = snapshot


class DuplicateUpdate(Exception):
    """This Telegram update was already acted on; nothing more must happen."""


class NotFound(DomainError):
    key = "error.not_found"


class InvalidInput(DomainError):
    key = "error.invalid"
