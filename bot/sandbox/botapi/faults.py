"""What goes wrong, in the fake Bot API: the next calls of a method fail (429, 403, 400, 5xx) or answer
late, optionally only for one chat; an update is delivered again (a lost confirmation)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Fault:
    status: int | None
    description: str
    retry_after: int | None
    remaining: int
    delay: float | None
    chat_id: Any


class FaultsMixin:
    """``fail_next`` / ``delay_next`` / ``redeliver``; the server asks ``_injected`` on every call."""

    _faults: dict[str, list[Fault]]
    updates: list[dict]
    _forced: list[dict]
    _next_update_id: int

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = 500,
        retry_after: int | None = None,
        description: str | None = None,
        times: int = 1,
        delay: float | None = None,
        chat_id: Any = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (optionally only for ``chat_id``) fail.

        429 answers ``parameters.retry_after`` (default 1) -> PTB ``RetryAfter``; 403 ->
        ``Forbidden``; 400 -> ``BadRequest``; 5xx -> ``NetworkError``.  ``delay`` makes the
        server sleep first (to provoke client timeouts); ``status=None`` with a delay
        answers normally after sleeping (see :meth:`delay_next`).
        """
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
        if status is not None and description is None:
            description = DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
        fault = Fault(status, description or "", retry_after, times, delay, chat_id)
        self._faults.setdefault(method.lower(), []).append(fault)

    def delay_next(self, method: str, delay: float, *, times: int = 1, chat_id: Any = None) -> None:
        """The next ``times`` calls of ``method`` are answered normally after ``delay`` s."""
        self.fail_next(method, status=None, delay=delay, times=times, chat_id=chat_id)

    def _take_fault(self, method: str, params: dict) -> Fault | None:
        for fault in self._faults.get(method.lower(), []):
            if fault.remaining > 0 and (fault.chat_id is None or params.get("chat_id") == fault.chat_id):
                fault.remaining -= 1
                return fault
        return None

    async def _injected(self, method: str, params: dict) -> Any:
        """The answer of a fault due for this call (after its delay), or None: answer normally."""
        fault = self._take_fault(method, params)
        if fault is None:
            return None
        if fault.delay:
            await self._sleep(fault.delay)  # type: ignore[attr-defined]
        if fault.status is None:
            return None
        extra = {"retry_after": fault.retry_after} if fault.retry_after else None
        return await self._fail(method, params, fault.status, fault.description, extra)  # type: ignore[attr-defined]

    def redeliver_all(self) -> None:
        """No-op: unconfirmed updates are redelivered naturally by ``getUpdates``."""

    async def redeliver(self, update_id: int | None = None) -> dict:
        """Deliver an already queued update (default: the last one) once more, with the
        same ``update_id``, on the next ``getUpdates`` whatever its ``offset`` -- what a
        bot sees when a confirmation was lost.  Returns the update."""
        target = update_id if update_id is not None else self._next_update_id - 1
        for update in self.updates:
            if update["update_id"] == target:
                self._forced.append(update)
                await self._notify()  # type: ignore[attr-defined]
                return update
        raise AssertionError(f"no update {target} was ever queued")
