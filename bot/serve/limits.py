"""What one connection to our web server may cost (bot/serve/web.py): aiohttp has no connection cap and
no deadline for a request's headers (a client that sends half a header keeps its connection, and a
file descriptor, for as long as it likes), so every accepted connection goes through ``Guarded``:

* at most ``cap`` connections are open per listener; one beyond that gets a bare ``503`` and is closed
  at once (``duban_web_connections_refused_total``);
* a connection must deliver a request's headers within ``header_timeout`` seconds of its start or of
  the end of its previous request (idle keep-alive included), else it is closed
  (``duban_web_timeouts_total{phase="header"}``). The deadline is lifted by ``deadlines``, the
  server's first middleware, which runs as soon as aiohttp has parsed the headers, and set again when
  the handler is done. The body has its own deadline in the webhook handler.

``Guarded`` wraps aiohttp's own protocol and passes every event through, so aiohttp still parses and
answers everything itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot import metrics
from handlers.context import Cooldown

log = logging.getLogger(__name__)

REFUSAL = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Connections:
    """The open connections of one listener (``name``: its metrics label) and their limits."""

    def __init__(self, name: str, *, cap: int, header_timeout: float) -> None:
        self.name = name
        self.cap = cap
        self.header_timeout = header_timeout
        self.open = 0
        self._warned = Cooldown(60.0)

    def accept(self, server: Callable[[], asyncio.Protocol]) -> asyncio.Protocol:
        """The protocol of a new connection: aiohttp's, guarded; or a refusal when ``cap`` are open."""
        if self.open >= self.cap:
            metrics.WEB_REFUSED.labels(self.name).inc()
            if self._warned.due(self.name):
                log.warning("web server (%s): %s connections open, refusing more (DUBAN_WEB_MAX_CONNECTIONS)",
                            self.name, self.open)
            return _Refused()
        self.open += 1
        metrics.WEB_CONNECTIONS.labels(self.name).set(self.open)
        return Guarded(server(), self)

    def closed(self) -> None:
        self.open -= 1
        metrics.WEB_CONNECTIONS.labels(self.name).set(self.open)


class _Refused(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(REFUSAL)
        transport.close()


class Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, behind the header deadline and the connection count."""

    def __init__(self, inner: Any, connections: Connections) -> None:
        self.inner = inner
        self._connections = connections
        self._transport: asyncio.Transport | None = None
        self._deadline: asyncio.TimerHandle | None = None

    def arm(self) -> None:
        """The next request's headers are due within the header timeout from now."""
        self.disarm()
        if self._transport is not None and not self._transport.is_closing():
            loop = asyncio.get_running_loop()
            self._deadline = loop.call_later(self._connections.header_timeout, self._expired)

    def disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        metrics.WEB_TIMEOUTS.labels(self._connections.name, "header").inc()
        if self._transport is not None:
            self._transport.close()

    # asyncio.Protocol: every event goes on to aiohttp's protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.inner.connection_made(transport)
        self.arm()

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        self._connections.closed()
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


@web.middleware
async def deadlines(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                    ) -> web.StreamResponse:
    """The headers are in: lift the connection's header deadline while the request is handled."""
    guard = request.transport.get_protocol() if request.transport is not None else None
    if isinstance(guard, Guarded):
        guard.disarm()
    try:
        return await handler(request)
    finally:
        if isinstance(guard, Guarded):
            guard.arm()


class Listener(web.BaseSite):
    """A TCP site (like ``web.TCPSite``) whose connections go through ``Connections.accept``."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, connections: Connections) -> None:
        super().__init__(runner)
        self._host, self._port, self.connections = host, port, connections

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            lambda: self.connections.accept(server), self._host, self._port, backlog=128)
