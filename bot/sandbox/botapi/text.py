"""Telegram-like text checks used by :mod:`bot.sandbox.botapi.server`.

Telegram rejects messages whose ``parse_mode`` markup does not parse, whose text is
empty or too long, and inline buttons with invalid ``callback_data``.  These helpers
mimic those checks closely enough to catch the usual bugs (an unescaped ``<`` in
HTML, ``<br>``, an unescaped ``.`` in MarkdownV2, 65-byte callback data, ...).
Each failing check raises :class:`TextError` with Telegram's description.
"""

from __future__ import annotations

import re
from typing import Any

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64

HTML_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
}
_TAG_RE = re.compile(r"<(/?)([^\s<>/]*)([^<>]*)>")
_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_ENTITY_MAP = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")


class TextError(ValueError):
    """A text or markup that Telegram would refuse; ``str()`` is the description."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for limits and entities."""
    return len(text.encode("utf-16-le")) // 2


def _offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _cant_parse(detail: str) -> TextError:
    return TextError(f"Bad Request: can't parse entities: {detail}")


def _unescape(chunk: str) -> str:
    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("#x"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return _ENTITY_MAP[name]

    return _ENTITY_RE.sub(repl, chunk)


def html_to_plain(text: str) -> str:
    """Parse Telegram-HTML like Telegram does; return the visible text."""
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    pos = 0
    while True:
        lt = text.find("<", pos)
        if lt < 0:
            out.append(_unescape(text[pos:]))
            break
        out.append(_unescape(text[pos:lt]))
        match = _TAG_RE.match(text, lt)
        name = match.group(2).lower() if match else ""
        if match is None or name not in HTML_TAGS:
            shown = name if match else text[lt + 1 : lt + 2].strip()
            raise _cant_parse(f'Unsupported start tag "{shown}" at byte offset {_offset(text, lt)}')
        if match.group(1):  # end tag
            if not stack:
                raise _cant_parse(f"Unexpected end tag at byte offset {_offset(text, lt)}")
            open_name, _ = stack.pop()
            if open_name != name:
                raise _cant_parse(
                    f"Unmatched end tag at byte offset {_offset(text, lt)}, "
                    f'expected "</{open_name}>", found "</{name}>"'
                )
        else:
            stack.append((name, lt))
        pos = match.end()
    if stack:
        name, lt = stack[-1]
        raise _cant_parse(f'Can\'t find end tag corresponding to start tag "{name}"')
    return "".join(out)


def markdown_v2_to_plain(text: str) -> str:
    """Check MarkdownV2 (reserved characters, balanced markers); return visible text."""
    out: list[str] = []
    stack: list[tuple[str, int]] = []  # open markers: '*', '_', '__', '~', '||', '['
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and 0 < ord(text[i + 1]) < 127:
            out.append(text[i + 1])
            i += 2
            continue
        if ch == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end, j = -1, i + len(fence)
            while j < n:  # inside code only ` and \ matter
                if text[j] == "\\":
                    j += 2
                    continue
                if text.startswith(fence, j):
                    end = j
                    break
                j += 1
            if end < 0:
                kind = "PreCode" if fence == "```" else "Code"
                raise _cant_parse(f"Can't find end of {kind} entity at byte offset {_offset(text, i)}")
            out.append(re.sub(r"\\(.)", r"\1", text[i + len(fence) : end]))
            i = end + len(fence)
            continue
        marker = None
        if text.startswith("||", i):
            marker = "||"
        elif text.startswith("__", i):
            marker = "__"
        elif ch in "*_~":
            marker = ch
        if marker:
            if stack and stack[-1][0] == marker:
                stack.pop()
            elif any(m == marker for m, _ in stack):
                raise _cant_parse(f"Can't find end of entity at byte offset {_offset(text, i)}")
            else:
                stack.append((marker, i))
            i += len(marker)
            continue
        if ch == "[":
            stack.append(("[", i))
            i += 1
            continue
        if ch == "]" and stack and stack[-1][0] == "[":
            stack.pop()
            if not text.startswith("(", i + 1):
                raise _cant_parse(f"Can't find end of TextUrl entity at byte offset {_offset(text, i)}")
            close = text.find(")", i + 2)
            while close > 0 and text[close - 1] == "\\":
                close = text.find(")", close + 1)
            if close < 0:
                raise _cant_parse(f"Can't find end of URL at byte offset {_offset(text, i)}")
            i = close + 1
            continue
        if ch == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # blockquote
            continue
        if ch in MDV2_RESERVED:
            raise _cant_parse(f"Character '{ch}' is reserved and must be escaped with the preceding '\\'")
        out.append(ch)
        i += 1
    if stack:
        marker, at = stack[-1]
        raise _cant_parse(f"Can't find end of entity starting at byte offset {_offset(text, at)}")
    return "".join(out)


def markdown_to_plain(text: str) -> str:
    """Legacy Markdown: ``*bold*``, ``_italic_``, ```code```, ``[text](url)``."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
            continue
        if ch in "*_`":
            end = text.find(ch, i + 1)
            if end < 0:
                raise _cant_parse(f"Can't find end of the entity starting at byte offset {_offset(text, i)}")
            out.append(text[i + 1 : end])
            i = end + 1
            continue
        if ch == "[":
            m = re.compile(r"\[([^\]]*)\]\(([^)]*)\)").match(text, i)
            if m is None:
                raise _cant_parse(f"Can't find end of the entity starting at byte offset {_offset(text, i)}")
            out.append(m.group(1))
            i = m.end()
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def to_plain(text: str, parse_mode: str | None, *, strict: bool = True) -> str:
    """Visible text for ``text`` under ``parse_mode``; raises :class:`TextError`."""
    mode = (parse_mode or "").lower()
    if mode not in ("", "html", "markdown", "markdownv2"):
        raise TextError(f"Bad Request: unsupported parse_mode {parse_mode!r}")
    if not strict or not mode:
        return text
    if mode == "html":
        return html_to_plain(text)
    if mode == "markdownv2":
        return markdown_v2_to_plain(text)
    return markdown_to_plain(text)


def check_text(text: Any, parse_mode: str | None, *, caption: bool = False, strict: bool = True) -> str:
    """Validate a message text/caption like Telegram; return the visible text."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        text = str(text)
    plain = to_plain(text, parse_mode, strict=strict)
    if caption:
        if utf16_len(plain) > MAX_CAPTION:
            raise TextError("Bad Request: message caption is too long")
    else:
        if not plain.strip():
            raise TextError("Bad Request: message text is empty")
        if utf16_len(plain) > MAX_TEXT:
            raise TextError("Bad Request: message is too long")
    return plain


def check_reply_markup(markup: Any) -> None:
    """Validate an inline keyboard (and the shape of other reply markups)."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise TextError("Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise TextError('Bad Request: field "inline_keyboard" must be an Array of Arrays')
    actions = (
        "callback_data",
        "url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "login_url",
        "web_app",
        "pay",
        "callback_game",
        "copy_text",
        "switch_inline_query_chosen_chat",
    )
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise TextError("Bad Request: BUTTON_TEXT_INVALID")
            if not any(key in button for key in actions):
                raise TextError("Bad Request: text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None:
                size = len(str(data).encode("utf-8"))
                if size < 1 or size > MAX_CALLBACK_DATA:
                    raise TextError("Bad Request: BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not re.match(r"^(https?|tg)://\S+$", str(url)):
                raise TextError("Bad Request: inline keyboard button URL is invalid")
