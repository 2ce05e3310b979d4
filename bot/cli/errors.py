"""The command line's one error family, and the one place errors become exit codes.

A command raises ``UsageError`` (exit 2: usage or configuration) or ``Refused`` (exit 1: refused input,
every problem listed). Errors of the layers below (settings, domain refusals, the serving side, the bot's
username lookup) are mapped by ``as_cli_error``; ``main`` prints the error and returns its code."""

from __future__ import annotations

import argparse

from bot.app.identity import UnknownUsername
from bot.serve.errors import BackupError, BadWebhookUrl, CountiesError
from config.i18n import t
from config.settings import SettingsError
from services.core.errors import DomainError


class CliError(Exception):
    """What the command line prints (to stderr) and the process's exit code."""

    exit_code = 1

    def line(self) -> str:
        return str(self)


class UsageError(CliError):
    """Exit 2: the command was used wrongly or the configuration is missing or bad."""

    exit_code = 2

    def line(self) -> str:
        return f"duban: {self}"


class Refused(CliError):
    """Exit 1: the input was refused; the text lists every problem."""


def counties_refusal(exc: CountiesError, lang: str) -> str:
    """A heading naming the file, then every problem of it."""
    if exc.path is None:
        return "\n".join(exc.problems)
    return "\n".join([t("counties.refused", lang, path=str(exc.path), count=len(exc.problems)), *exc.problems])


def as_cli_error(exc: BaseException, lang: str) -> CliError | None:
    """The command line's error for an error raised below it (None: not one the command line expects)."""
    match exc:
        case CliError():
            return exc
        case SettingsError() | argparse.ArgumentTypeError() | BadWebhookUrl():
            return UsageError(str(exc))
        case UnknownUsername():
            return UsageError(t("cli.no_username", lang))
        case CountiesError():
            return Refused(counties_refusal(exc, lang))
        case BackupError():
            return Refused(str(exc))
        case DomainError():
            return Refused(f"duban: {t(exc.key, lang, **exc.params)}")
    return None
