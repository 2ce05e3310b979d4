"""Log lines: text for people at a terminal, JSON (one object a line) for log collectors.

Every log record of the process goes through one ``structlog`` formatter (``DUBAN_LOG_FORMAT``):
``text`` (the default) or ``json``. Extra fields given with ``extra={...}`` become fields of the
line. One line per update is written by ``bot.app.processor`` (logger ``duban.updates``): county,
update_id, type, handler, outcome, duration_ms -- never the message text.

Secrets never reach a line: the bot tokens and webhook secrets registered with ``add_secret`` are
replaced by ``***`` and anything shaped like a Bot API URL's ``bot<id>:<token>`` by ``bot***``
(PTB and httpx put the token in request URLs; httpx's own request log stays at WARNING).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import MutableMapping
from typing import IO, Any

import structlog

UPDATE_LOGGER = "duban.updates"
_TOKEN_IN_URL = re.compile(r"bot\d+:[A-Za-z0-9_-]+")
_secrets: set[str] = set()
# Loggers that say too much at INFO: httpx logs every request URL (with the token), APScheduler two
# lines for every run of the scheduler tick, aiohttp every HTTP request.
QUIET = ("httpx", "httpcore", "apscheduler", "aiohttp.access")


def add_secret(value: str | None) -> None:
    """Never write this string (a bot token, a webhook secret) into a log line."""
    if value and len(value) >= 6:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return _TOKEN_IN_URL.sub("bot***", text)


def _redact_values(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = redact(value)
        elif value is not None and not isinstance(value, int | float | bool):
            event[key] = redact(str(value))
    return event


def _dumps(obj: Any, **kw: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, **kw)


def formatter(fmt: str = "text") -> logging.Formatter:
    """The formatter of every line: ``json`` or ``text``."""
    pre_chain: list[Any] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
    ]
    renderer: Any = (structlog.processors.JSONRenderer(serializer=_dumps) if fmt == "json"
                     else structlog.dev.ConsoleRenderer(colors=False, pad_event_to=0))
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre_chain,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redact_values,
            renderer,
        ],
    )


def handler(fmt: str = "text", stream: IO[str] | None = None) -> logging.Handler:
    h = logging.StreamHandler(stream if stream is not None else sys.stderr)
    h.setFormatter(formatter(fmt))
    h._duban = True  # type: ignore[attr-defined]
    return h


def setup(level: int = logging.INFO, fmt: str = "text") -> None:
    """Configure the process's logging. Like ``logging.basicConfig``, it leaves a root logger that
    someone else (e.g. pytest) already gave handlers alone; it replaces its own handler."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_duban", False)]
    if len(ours) == len(root.handlers):
        for h in ours:
            root.removeHandler(h)
        root.addHandler(handler(fmt))
        root.setLevel(level)
        logging.captureWarnings(True)  # Python warnings become lines of the same format
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def log_update(
    county: str, update_id: int | None, kind: str, handler_name: str, outcome: str, duration: float
) -> None:
    """The one line per update (no text, no user id: the update id finds it in the database)."""
    logging.getLogger(UPDATE_LOGGER).log(
        logging.WARNING if outcome == "error" else logging.INFO, "update",
        extra={"county": county, "update_id": update_id, "type": kind, "handler": handler_name,
               "outcome": outcome, "duration_ms": round(duration * 1000, 1)},
    )
