"""How the fake Bot API reads a request as Telegram does: query string, JSON, urlencoded or multipart
(files as :class:`Uploaded`), with nested JSON fields decoded and numbers and booleans typed."""

from __future__ import annotations

import contextvars
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON_FIELDS = {
    "reply_markup",
    "entities",
    "caption_entities",
    "commands",
    "scope",
    "allowed_updates",
    "link_preview_options",
    "reply_parameters",
    "media",
    "results",
    "permissions",
    "message_ids",
    "reaction",
    "menu_button",
    "rights",
}
INT_FIELDS = {
    "chat_id",
    "message_id",
    "offset",
    "limit",
    "user_id",
    "from_chat_id",
    "message_thread_id",
    "cache_time",
    "max_connections",
    "reply_to_message_id",
    "until_date",
    "duration",
    "width",
    "height",
    "live_period",
    "heading",
    "proximity_alert_radius",
}
FLOAT_FIELDS = {"timeout", "latitude", "longitude", "horizontal_accuracy"}
TEXT_FIELDS = {
    "text",
    "caption",
    "description",
    "short_description",
    "name",
    "title",
    "query",
    "url",
    "callback_query_id",
    "file_id",
    "secret_token",
    "language_code",
    "parse_mode",
    "emoji",
    "inline_message_id",
    "callback_data",
    "action",
    "ip_address",
    "data",
}

# the aiohttp request being handled (lets a long poll notice that its client went away)
CURRENT_REQUEST: contextvars.ContextVar[web.Request | None] = contextvars.ContextVar("fakebot_request", default=None)


@dataclass
class Uploaded:
    """A multipart file part of a request (what PTB sends for ``InputFile``)."""

    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)


def _coerce(key: str, value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return value
    try:
        if key in JSON_FIELDS:
            return json.loads(value)
        if key in INT_FIELDS:
            return int(value)
        if key in FLOAT_FIELDS:
            number = float(value)
            return int(number) if number.is_integer() else number
    except ValueError:
        return value
    if key not in TEXT_FIELDS and value in ("true", "false"):
        return value == "true"
    return value


async def parse_params(request: web.Request) -> dict[str, Any]:
    """Query string + JSON / urlencoded / multipart body; nested JSON fields decoded."""
    params: dict[str, Any] = dict(request.query)
    if request.body_exists:
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("request body must be a JSON object")
            params.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    params[key] = Uploaded(value.filename, value.content_type, value.file.read())
                else:
                    params[key] = value
    return {key: _coerce(key, value) for key, value in params.items()}
