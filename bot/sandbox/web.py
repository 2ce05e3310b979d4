"""The web chat: a page (static/index.html, app.js, app.css; no build step, nothing from a CDN) and its JSON
API on the sandbox's port, beside the Bot API. Pick a person, chat as them (text, commands, buttons, reply
keyboards, files, photos, locations, deep links), download what the bot sends, move the clock; the bot's
messages arrive live by server-sent events (``/api/events``)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web
from PIL import Image, UnidentifiedImageError

from bot.sandbox import views
from bot.sandbox.botapi.chats import SentMessage
from bot.sandbox.sandbox import STEPS, Sandbox
from bot.sandbox.state import Persona
from config.i18n import LANGUAGES, catalogue, normalise_language, t

STATIC = Path(__file__).resolve().parent / "static"
SANDBOX: web.AppKey[Sandbox] = web.AppKey("sandbox", Sandbox)
STREAMS: web.AppKey[set[asyncio.Queue]] = web.AppKey("streams", set)
MAX_UPLOAD = 20 * 1024 * 1024  # what the Bot API lets a bot download


def make_app(sandbox: Sandbox) -> web.Application:
    app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
    app[SANDBOX] = sandbox
    app[STREAMS] = set()
    sandbox.fake.add_routes(app)
    app.router.add_get("/", _index)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/api/strings/{lang}", _strings)
    app.router.add_get("/api/state", _state)
    app.router.add_get("/api/events", _events)
    app.router.add_post("/api/people", _new_public)
    app.router.add_post("/api/people/{uid}/lang", _set_lang)
    app.router.add_get("/api/chat/{uid}", _chat)
    app.router.add_post("/api/chat/{uid}/text", _text)
    app.router.add_post("/api/chat/{uid}/press", _press)
    app.router.add_post("/api/chat/{uid}/file", _file)
    app.router.add_post("/api/chat/{uid}/location", _location)
    app.router.add_get("/api/files/{file_id}", _download)
    app.router.add_post("/api/clock", _clock)

    def fan_out(event: str, subject: Any) -> None:
        note = _event(event, subject)
        if note is not None:
            for queue in app[STREAMS]:
                queue.put_nowait(note)

    sandbox.fake.listeners.append(fan_out)
    return app


def _event(event: str, subject: Any) -> dict[str, Any] | None:
    if isinstance(subject, SentMessage):
        return {"type": event, "chat": subject.chat_id}
    if event == "update":
        message = subject.get("message") or {}
        return {"type": "user", "chat": (message.get("chat") or {}).get("id")} if message else None
    if event == "answer":
        return {"type": "answer", "text": subject.get("text") or "", "alert": bool(subject.get("show_alert"))}
    if event == "clock":
        return {"type": "clock", "now": subject.isoformat()}
    return None


def _problem(key: str, lang: str, status: int = 400) -> web.Response:
    return web.json_response({"error": t(key, lang)}, status=status)


async def _index(request: web.Request) -> web.Response:
    return web.FileResponse(STATIC / "index.html")


async def _strings(request: web.Request) -> web.Response:
    lang = normalise_language(request.match_info["lang"])
    return web.json_response({k.removeprefix("sandbox.web."): v for k, v in catalogue(lang).items()
                              if k.startswith("sandbox.web.")})


async def _state(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    counts: dict[int, int] = {}
    for m in sb.fake.sent:
        counts[m.chat_id] = counts.get(m.chat_id, 0) + 1
    return web.json_response({
        "now": sb.clock.now().isoformat(), "bot": sb.fake.bot_username, "moving": sb.moving.locked(),
        "demo": sb.state.demo, "languages": list(LANGUAGES),
        "people": [{**p.__dict__, "messages": counts.get(p.id, 0)} for p in sb.state.personas],
        "places": [p.__dict__ for p in sb.state.places], "notes": sb.state.notes,
    })


async def _events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: one JSON line per change (a chat to fetch again, a button's answer, the clock)."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    queue: asyncio.Queue = asyncio.Queue()
    streams = request.app[STREAMS]
    streams.add(queue)
    try:
        await response.write(b": hello\n\n")
        while True:
            try:
                note = await asyncio.wait_for(queue.get(), 15)
                await response.write(f"data: {json.dumps(note, ensure_ascii=False)}\n\n".encode())
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        streams.discard(queue)
    return response


def _persona(request: web.Request) -> Persona:
    sb = request.app[SANDBOX]
    with contextlib.suppress(ValueError):
        persona = sb.state.persona(int(request.match_info["uid"]))
        if persona is not None:
            return persona
    raise web.HTTPNotFound(text="no such person")


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="a JSON object is expected")
    return body


async def _new_public(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    body = await _body(request)
    lang = normalise_language(str(body.get("lang") or "zh"))
    name = str(body.get("name") or "").strip()[:32] or t("sandbox.web.public_name", lang)
    persona = sb.state.new_public(name)
    persona.lang = lang
    sb.save()
    return web.json_response(persona.__dict__)


async def _set_lang(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    persona = _persona(request)
    persona.lang = normalise_language(str((await _body(request)).get("lang")))
    sb.save()
    return web.json_response(persona.__dict__)


async def _chat(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    persona = _persona(request)
    return web.json_response({"person": persona.__dict__, "now": sb.clock.now().isoformat(),
                              "messages": views.chat(sb.fake, persona.id, sb.journal.order)})


async def _text(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    persona = _persona(request)
    text = str((await _body(request)).get("text") or "").strip()
    if not text or len(text) > 4096:
        return _problem("sandbox.web.bad_text", persona.lang)
    await sb.user(persona).send_text(text)
    return web.json_response({"ok": True})


async def _press(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    persona = _persona(request)
    body = await _body(request)
    try:
        await sb.user(persona).press(int(body.get("message_id") or 0), str(body.get("data") or ""))
    except (AssertionError, ValueError):  # the message or its button is gone (edited meanwhile)
        return _problem("sandbox.web.button_gone", persona.lang, 409)
    return web.json_response({"ok": True})


async def _file(request: web.Request) -> web.Response:
    """A file from the person's disk: ``as=document`` keeps its bytes (EXIF too), ``as=photo`` is recompressed
    without EXIF, as Telegram does with a photo."""
    sb = request.app[SANDBOX]
    persona = _persona(request)
    form = await request.post()
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        return _problem("sandbox.web.no_file", persona.lang)
    data = upload.file.read()
    caption = str(form.get("caption") or "").strip() or None
    user = sb.user(persona)
    if form.get("as") == "photo":
        try:
            image = Image.open(io.BytesIO(data)).convert("RGB")
        except (UnidentifiedImageError, OSError, ValueError):
            return _problem("sandbox.web.not_an_image", persona.lang)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)  # no EXIF, like Telegram's photo
        await user.send_photo(out.getvalue(), caption)
    else:
        name = Path(upload.filename or "file").name[:128]
        await user.send_document(data, name, upload.content_type or "application/octet-stream", caption)
    return web.json_response({"ok": True})


async def _location(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    persona = _persona(request)
    body = await _body(request)
    try:
        lat, lon = float(body["latitude"]), float(body["longitude"])
    except (KeyError, TypeError, ValueError):
        return _problem("sandbox.web.bad_location", persona.lang)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return _problem("sandbox.web.bad_location", persona.lang)
    await sb.user(persona).send_location(lat, lon, horizontal_accuracy=10.0)
    return web.json_response({"ok": True})


async def _download(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    rec = sb.fake.files.get(request.match_info["file_id"])
    if rec is None:
        raise web.HTTPNotFound()
    name = rec.file_name or rec.file_path.rpartition("/")[2]
    disposition = "inline" if request.query.get("inline") else "attachment"
    return web.Response(body=rec.data, content_type=rec.mime_type or "application/octet-stream",
                        headers={"Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name, safe='')}"})




async def _clock(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    body = await _body(request)
    step = str(body.get("step"))
    lang = normalise_language(str(body.get("lang") or "zh"))
    if step not in STEPS:
        return _problem("sandbox.web.bad_step", lang)
    if sb.moving.locked():
        return _problem("sandbox.web.moving", lang, 409)
    at = await sb.move(step)
    return web.json_response({"now": at.isoformat()})
