"""Text helpers every feature uses: Telegram's message limit counted as Telegram counts it, splitting a
long text or a list of lines into messages, and reading a typed date."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from datetime import date

TELEGRAM_LIMIT = 4096  # UTF-16 code units of one message
MAX_MESSAGE = 3800  # what a message of several lines is filled to: room to spare under TELEGRAM_LIMIT
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _hard_split(line: str, limit: int) -> list[str]:
    out, current, size = [], "", 0
    for ch in line:
        width = utf16_len(ch)
        if size + width > limit:
            out.append(current)
            current, size = "", 0
        current, size = current + ch, size + width
    return [*out, current]


def split_text(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-16 units, cut between lines where possible, in order."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        for piece in _hard_split(line, limit) if utf16_len(line) > limit else [line]:
            candidate = f"{current}\n{piece}" if current else piece
            if utf16_len(candidate) <= limit:
                current = candidate
            else:
                parts.append(current)
                current = piece
    parts.append(current)
    return [p.strip("\n") for p in parts if p.strip()]


def chunks(lines: list[str], limit: int = MAX_MESSAGE) -> list[str]:
    """Lines joined into as few messages as fit ``limit`` characters each, never cutting a line."""
    out: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and current:
            out.append(current)
            current = line
        else:
            current = candidate
    if current:
        out.append(current)
    return out


def parse_date(text: str) -> date:
    """``2027-12-31``, ``2027/12/31``, ``2027.12.31``, ``2027年12月31日`` (full-width digits too);
    ValueError for anything else."""
    typed = (text or "").strip()
    m = _DATE.match(unicodedata.normalize("NFKC", typed))
    if m:
        with contextlib.suppress(ValueError):
            return date(int(m[1]), int(m[2]), int(m[3]))
    raise ValueError(typed[:40])
