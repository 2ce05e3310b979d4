"""PTB's AIORateLimiter (30 msg/s overall, 20/min per group), with one fix for the outbox.

The delivery worker wants the overall pacing but handles 429 itself (it reschedules the row and
moves on to other chats). ``AIORateLimiter`` reads ``rate_limit_args=0`` as "use the default", so
``NO_RETRY`` marks such requests here: paced like any other, a RetryAfter raised at once.
"""

from __future__ import annotations

import contextlib
from typing import Any

from telegram.ext import AIORateLimiter

NO_RETRY = -1


class RateLimiter(AIORateLimiter):
    async def process_request(  # type: ignore[override]
        self, callback: Any, args: Any, kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if rate_limit_args != NO_RETRY:
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        chat_id = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)  # type: ignore[arg-type]
        group = chat_id if (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str) else False
        return await self._run_request(
            chat=chat_id is not None, group=group, allow_paid_broadcast=False, callback=callback, args=args,
            kwargs=kwargs,
        )
