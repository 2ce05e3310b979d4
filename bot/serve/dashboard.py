"""The leaders' dashboard on our web server (bot/serve/web.py): the page (plain HTML, CSS and JavaScript
modules from ``static/``, libraries vendored with their licences, nothing fetched from elsewhere) and its
JSON API under ``/api/v1/`` (the README's table). The domain is services/dashboard/.

Which county: the ``c`` query parameter of the login link and of the Mini App's URL (the county's code;
without it, the only county served here). The session cookie (``duban_session``, HttpOnly,
SameSite=Strict, Secure when DUBAN_PUBLIC_URL is https) holds ``<county>.<token>``; the Mini App's sign-in
also hands it to the page, which sends it as ``Authorization: Bearer`` (for Telegram Web's frame, where the
cookie is not sent). Every API route reads
the person from it (401 without a valid one) and the domain refuses another unit's data (403).
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from PIL import Image

import config
from config.i18n import catalogue, normalise_language, t
from handlers.context import Deps
from models.people import Person
from services.core.errors import DomainError, NotFound
from services.dashboard import access, actions, board, detail, mappoints
from services.dashboard.scope import Forbidden, View, view_of

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
# The CJK font we ship for charts (config/fonts, OFL): the page's last fallback, fetched by a browser only
# when no font of its own has the characters (phones and desktops in China have them).
FONT = Path(config.__file__).resolve().parent / "fonts" / "NotoSansSC-Regular-subset.ttf"
COOKIE = "duban_session"
THUMB = 320  # pixels, the longer side of a thumbnail
Lookup = Callable[[str | None], "Deps | None"]


def _csp(settings: Any) -> str:
    tiles = ""
    if settings.map_tiles:
        parts = urlsplit(settings.map_tiles.replace("{s}", "a"))
        host = parts.netloc.replace("a.", "*.", 1) if "{s}" in settings.map_tiles else parts.netloc
        tiles = f" {parts.scheme}://{host}"
    return (f"default-src 'self'; img-src 'self' data: blob:{tiles}; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; connect-src 'self'; frame-ancestors https://web.telegram.org "
            "https://*.telegram.org 'self'")


class Dashboard:
    """The routes; ``lookup(code)`` gives the Deps of a county served here (None: not here)."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/dashboard", self.page)
        r.add_get("/dashboard/", self.page)
        r.add_get("/dashboard/login", self.login)
        r.add_static("/dashboard/static/", STATIC, append_version=False)
        r.add_get("/dashboard/font/cjk.ttf", self.font)
        r.add_post("/api/v1/session/telegram", self.telegram)
        r.add_post("/api/v1/session/logout", self.logout)
        api: list[tuple[str, str, Callable[..., Awaitable[Any]]]] = [
            ("GET", "/api/v1/me", self.me), ("GET", "/api/v1/board", self.board),
            ("GET", "/api/v1/units/{code}", self.unit), ("GET", "/api/v1/assignments/{id:\\d+}", self.assignment),
            ("GET", "/api/v1/map", self.map), ("GET", "/api/v1/alerts", self.alerts),
            ("POST", "/api/v1/alerts/{id:\\d+}/ack", self.ack), ("GET", "/api/v1/items", self.items),
            ("POST", "/api/v1/items/parts/{id:\\d+}/verify", self.verify), ("GET", "/api/v1/ranking", self.ranking)]
        for method, path, fn in api:
            r.add_route(method, path, self._api(fn))
        r.add_get("/api/v1/evidence/{id:\\d+}", self._signed(self.evidence))

    # ------------------------------------------------------------------ the page and signing in
    def _deps(self, request: web.Request, county: str | None = None) -> Deps:
        deps = self.lookup(county if county is not None else request.query.get("c"))
        if deps is None:
            raise web.HTTPNotFound(text="no such county here")
        return deps

    async def page(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/dashboard":
            raise web.HTTPFound("/dashboard/" + (f"?{request.query_string}" if request.query_string else ""))
        deps = self._deps(request)
        response = web.FileResponse(STATIC / "index.html")
        response.headers["Content-Security-Policy"] = _csp(deps.settings)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def font(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(FONT, headers={"Cache-Control": "public, max-age=604800",
                                               "Content-Type": "font/ttf"})

    def _set_cookie(self, response: web.StreamResponse, deps: Deps, token: str) -> None:
        secure = bool(deps.settings.public_url and deps.settings.public_url.startswith("https://"))
        response.set_cookie(COOKIE, f"{deps.county}.{token}", httponly=True, samesite="Strict", secure=secure,
                            path="/", max_age=int(deps.settings.dashboard_session_hours * 3600))

    async def login(self, request: web.Request) -> web.StreamResponse:
        """A one-time link: a session cookie and on to the page; refused a second time or once expired."""
        deps = self._deps(request)
        try:
            token = await access.redeem_login(request.query.get("t", ""), hours=deps.settings.dashboard_session_hours,
                                              uow=deps.db.uow(), clock=deps.clock)
        except access.LoginRefused:
            lang = deps.settings.locale
            text = f"<!doctype html><meta charset=utf-8><title>Duban</title><p>{t('dash.login_refused', lang)}</p>"
            return web.Response(status=403, text=text, content_type="text/html")
        query = f"?c={deps.county}" if request.query.get("c") else ""
        response = web.HTTPSeeOther(f"/dashboard/{query}")
        self._set_cookie(response, deps, token)
        response.headers["Cache-Control"] = "no-store"
        raise response

    async def telegram(self, request: web.Request) -> web.Response:
        """The Mini App: initData in, a session cookie out."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("initData"), str):
            return _error(400, "dash.bad_request", None)
        deps = self._deps(request, body.get("county") if isinstance(body.get("county"), str) else None)
        try:
            token = await access.telegram_sign_in(
                body["initData"], deps.settings.require_token(), max_age=deps.settings.dashboard_init_max_age,
                hours=deps.settings.dashboard_session_hours, uow=deps.db.uow(), clock=deps.clock)
        except access.LoginRefused:
            return _error(401, "dash.login_refused", deps.settings.locale)
        # The token also comes back for an ``Authorization: Bearer`` header: Telegram Web shows a Mini App in a
        # frame of another site, where the SameSite=Strict cookie is never sent.
        response = web.json_response({"ok": True, "token": f"{deps.county}.{token}"},
                                     headers={"Cache-Control": "no-store"})
        self._set_cookie(response, deps, token)
        return response

    async def logout(self, request: web.Request) -> web.Response:
        county, token = _cookie(request)
        deps = self.lookup(county)
        if deps is not None:
            await access.sign_out(token, uow=deps.db.uow())
        response = web.json_response({"ok": True})
        response.del_cookie(COOKIE, path="/")
        return response

    # ------------------------------------------------------------------ the API
    async def _person(self, request: web.Request) -> tuple[Deps, Person, View]:
        county, token = _cookie(request)
        deps = self.lookup(county) if county is not None else None
        if deps is None:
            raise access.NotSignedIn
        person = await access.session_person(token, uow=deps.db.read_uow(), clock=deps.clock)
        async with deps.db.read_uow() as uow:
            view = await view_of(uow.session, person, deps.settings.locale)
        return deps, person, view

    def _signed(self, fn: Callable[..., Awaitable[web.StreamResponse]]) -> Callable[[web.Request], Awaitable[Any]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            lang = None
            try:
                deps, person, view = await self._person(request)
                lang = view.lang
                return await fn(request, deps, person, view)
            except access.NotSignedIn as exc:
                return _error(401, exc.key, lang)
            except Forbidden as exc:
                return _error(403, exc.key, lang)
            except NotFound as exc:
                return _error(404, exc.key, lang, **exc.params)
            except DomainError as exc:
                return _error(409, exc.key, lang, **exc.params)
        return handler

    def _api(self, fn: Callable[..., Awaitable[Any]]) -> Callable[[web.Request], Awaitable[Any]]:
        async def json_fn(request: web.Request, deps: Deps, person: Person, view: View) -> web.Response:
            answer = await fn(request, deps, person, view)
            response = answer if isinstance(answer, web.Response) else web.json_response(answer)
            response.headers["Cache-Control"] = "no-store"
            return response
        return self._signed(json_fn)

    async def me(self, request: web.Request, deps: Deps, person: Person, view: View) -> dict[str, Any]:
        strings = {k: v for k, v in catalogue(view.lang).items() if k.startswith("dash.")}
        return {"name": view.name, "code": view.code, "lang": view.lang, "roles": sorted(view.roles),
                "county": deps.county, "map_tiles": deps.settings.map_tiles, "strings": strings}

    async def board(self, request: web.Request, deps: Deps, person: Person, view: View) -> web.Response:
        data = await board.board(view, by=request.query.get("by", "category"), uow=deps.db.read_uow(), clock=deps.clock)
        response = web.json_response(data)
        response.enable_compression()  # gzip when the browser accepts it: a county's board is ~0.5 MB of JSON
        return response

    async def unit(self, request: web.Request, deps: Deps, person: Person, view: View) -> dict[str, Any]:
        return await detail.unit_detail(view, request.match_info["code"], uow=deps.db.read_uow(), clock=deps.clock)

    async def assignment(self, request: web.Request, deps: Deps, person: Person, view: View) -> dict[str, Any]:
        return await detail.assignment_detail(view, int(request.match_info["id"]), uow=deps.db.read_uow(),
                                              clock=deps.clock)

    async def map(self, request: web.Request, deps: Deps, person: Person, view: View) -> dict[str, Any]:
        return await mappoints.points(view, uow=deps.db.read_uow(), clock=deps.clock)

    async def alerts(self, request: web.Request, deps: Deps, person: Person, view: View) -> list[dict[str, Any]]:
        return await actions.alerts(person, uow=deps.db.read_uow(), clock=deps.clock)

    async def ack(self, request: web.Request, deps: Deps, person: Person, view: View) -> dict[str, Any]:
        done = await actions.acknowledge(person, int(request.match_info["id"]), uow=deps.db.uow(), clock=deps.clock)
        deps.delivery.wake()
        return done

    async def items(self, request: web.Request, deps: Deps, person: Person, view: View) -> list[dict[str, Any]]:
        return await actions.items(person, uow=deps.db.read_uow(), clock=deps.clock)

    async def verify(self, request: web.Request, deps: Deps, person: Person, view: View) -> dict[str, Any]:
        done = await actions.verify(person, int(request.match_info["id"]), uow=deps.db.uow(), clock=deps.clock)
        deps.delivery.wake()
        return done

    async def ranking(self, request: web.Request, deps: Deps, person: Person, view: View) -> dict[str, Any]:
        answer = await actions.ranking(person, uow=deps.db.read_uow(), clock=deps.clock)
        if "refused" in answer:
            answer["message"] = t(answer["refused"], view.lang, **answer["params"])
        return answer

    async def evidence(self, request: web.Request, deps: Deps, person: Person, view: View) -> web.StreamResponse:
        ref = await detail.evidence(view, int(request.match_info["id"]), uow=deps.db.read_uow())
        try:
            data = await asyncio.to_thread(deps.storage.get, ref.storage_key)
        except OSError:
            raise NotFound("dash.unknown_file", id=request.match_info["id"]) from None
        mime = ref.mime_type
        if request.query.get("thumb"):
            data, mime = await asyncio.to_thread(_thumbnail, data, mime)
        return web.Response(body=data, headers={"Content-Type": mime, "Cache-Control": "private, max-age=3600",
                                                "X-Content-Type-Options": "nosniff"})


def _thumbnail(data: bytes, mime: str) -> tuple[bytes, str]:
    """A JPEG of at most THUMB pixels a side (the original when it cannot be read as an image)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.thumbnail((THUMB, THUMB))
            out = io.BytesIO()
            img.convert("RGB").save(out, "JPEG", quality=80)
            return out.getvalue(), "image/jpeg"
    except Exception:
        return data, mime


def _cookie(request: web.Request) -> tuple[str | None, str | None]:
    """(county, session token) from ``Authorization: Bearer <county>.<token>`` or else the cookie."""
    bearer = request.headers.get("Authorization", "")
    raw = bearer[7:].strip() if bearer[:7].lower() == "bearer " else request.cookies.get(COOKIE, "")
    county, dot, token = raw.partition(".")
    return (county, token) if dot and county and token else (None, None)


def _error(status: int, key: str, lang: str | None, **params: Any) -> web.Response:
    lang = normalise_language(lang)
    return web.json_response({"error": key, "message": t(key, lang, **params)}, status=status)
