"""Which units a typed text names: unit codes, unit names (or a part of one name), a class (考核类别, e.g.
乡镇) or a kind (township, 村, …), separated by spaces, commas or 、. Only active units; each once, in code
order. Anything that names no unit, or a part of a name that fits several, is refused with what it was."""

from __future__ import annotations

import re
import unicodedata

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import UnitKind, parse_enum
from models.plan import Unit
from services.core.errors import DomainError

MAX_UNITS = 500  # a class of villages in a large county
MAX_TOKENS = 60
_SPLIT = re.compile(r"[\s,，、;；/]+")


def tokens(text: str) -> list[str]:
    return [t for t in _SPLIT.split(unicodedata.normalize("NFKC", text or "").strip()) if t]


async def resolve(session: AsyncSession, text: str) -> list[Unit]:
    """The active units ``text`` names; DomainError (``items.units_*``) when a word names none or several."""
    words = tokens(text)
    if not words:
        raise DomainError("items.units_empty")
    if len(words) > MAX_TOKENS:
        raise DomainError("items.units_too_many_words", max=MAX_TOKENS)
    units = list((await session.exec(select(Unit).where(Unit.active == True).order_by(col(Unit.code)))).all())  # noqa: E712
    chosen: dict[int, Unit] = {}
    unknown: list[str] = []
    for word in words:
        found = _match(units, word)
        if found is None:
            unknown.append(word)
        elif isinstance(found, str):
            raise DomainError("items.units_ambiguous", word=word, names=found)
        else:
            chosen.update({u.id or 0: u for u in found})
    if unknown:
        raise DomainError("items.units_unknown", words="、".join(unknown[:10]))
    if len(chosen) > MAX_UNITS:
        raise DomainError("items.units_too_many", count=len(chosen), max=MAX_UNITS)
    return sorted(chosen.values(), key=lambda u: u.code)


def _match(units: list[Unit], word: str) -> list[Unit] | str | None:
    """The units one word names; a text listing the candidates when a part of a name fits several."""
    low = word.lower()
    for test in (lambda u: u.code.lower() == low, lambda u: u.name == word,
                 lambda u: bool(u.unit_class) and u.unit_class.lower() == low):
        hits = [u for u in units if test(u)]
        if hits:
            return hits
    try:
        kind = parse_enum(UnitKind, word)
    except ValueError:
        kind = None
    if kind is not None:
        hits = [u for u in units if u.kind == kind.value]
        if hits:
            return hits
    hits = [u for u in units if word in u.name]
    if len(hits) == 1:
        return hits
    if hits:
        return "、".join(f"{u.name}（{u.code}）" for u in hits[:5]) + ("…" if len(hits) > 5 else "")
    return None
