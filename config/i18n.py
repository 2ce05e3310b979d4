"""The one i18n layer: gettext catalogues (.po, managed with Babel) keyed by stable message ids.

Each locale has one or more ``config/locales/<lang>/LC_MESSAGES/*.po`` files (one per feature, so
features do not collide); they are merged at load. Simplified Chinese is the default language.
"""

from __future__ import annotations

import html
import string
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DEFAULT_LANGUAGE = "zh"
LANGUAGES = ("zh", "en")


class MissingMessage(KeyError):
    pass


@cache
def catalogue(lang: str) -> dict[str, str]:
    messages: dict[str, str] = {}
    folder = LOCALES_DIR / lang / "LC_MESSAGES"
    for po in sorted(folder.glob("*.po")):
        with po.open("rb") as fh:
            cat = read_po(fh, locale=lang)
        for message in cat:
            if message.id and isinstance(message.id, str):
                if message.id in messages:
                    raise ValueError(f"message id {message.id!r} defined twice in {lang} catalogues")
                messages[message.id] = message.string if isinstance(message.string, str) else ""
    return messages


def normalise_language(code: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Map a Telegram language_code (``en-GB``, ``zh-hans``) or a user choice to a supported language."""
    if not code:
        return default
    base = code.strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else default


def t(key: str, lang: str | None = None, /, **params: object) -> str:
    """The message ``key`` in ``lang`` with ``{placeholders}`` filled."""
    lang = normalise_language(lang)
    text = catalogue(lang).get(key) or catalogue(DEFAULT_LANGUAGE).get(key)
    if not text:
        raise MissingMessage(key)
    return text.format(**params) if params else text


def th(key: str, lang: str | None = None, /, **params: object) -> str:
    """Like ``t`` for Telegram's HTML parse mode: the parameters are HTML-escaped."""
    return t(key, lang, **{k: html.escape(str(v), quote=False) for k, v in params.items()})


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Translator:
    """``tr = Translator("en"); tr("help.title")`` — a language bound once; HTML-safe by default."""

    def __init__(self, lang: str | None, *, html: bool = True) -> None:
        self.lang = normalise_language(lang)
        self._render = th if html else t

    def __call__(self, key: str, /, **params: object) -> str:
        return self._render(key, self.lang, **params)
