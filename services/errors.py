"""Domain errors. Each carries a message id of the catalogue so handlers and the CLI can render it."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the user should read: ``key`` is a message id, ``params`` fill its placeholders."""

    key = "error.generic"

    def __init__(self, key: str | None = None, **params: object) -> None:
        super().__init__(key or self.key)
        if key is not None:
            self.key = key
        self.params = params


class DuplicateUpdate(Exception):
    """This Telegram update was already acted on; nothing more must happen."""


class NotFound(DomainError):
    key = "error.not_found"


class InvalidInput(DomainError):
    key = "error.invalid"
