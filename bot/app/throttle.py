"""The per-user throttle: a token bucket per person, checked before any database work.

A person may send ``burst`` updates at once and ``rate`` a second after that (DUBAN_USER_BURST,
DUBAN_USER_RATE). An update beyond that is *dropped*: never handed to a handler, so it changes nothing
(not even a dialogue's state: the next message is read in the same step) and its id is not recorded
as handled; Telegram counts it as delivered all the same. The person is told at most once a minute
(``notices``), in their Telegram language; the rest is silent and counted in
``duban_updates_dropped_total{reason="throttled"}``.

Only what people send is metered (messages, edits, button presses, inline queries): service messages
(a group's migration, members joining) and membership updates always pass, so a flood cannot make the
bot miss a group's move. An album (up to 10 photos or files sent at once, one update each, sharing a
``media_group_id``) takes one token: its first message's. The bot/app/processor.py applies it on
arrival, before the update waits for its chat's turn.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from telegram import Update
from telegram.ext import filters

from bot.app.ratelimit import TokenBucket
from handlers.context import Cooldown

NOTICE_EVERY = 60.0  # seconds between two "too fast" lines to one person
SWEEP_EVERY = 60.0  # seconds between two passes forgetting refilled buckets


class UserThrottle:
    """See the module docstring. ``rate`` 0: nothing is ever dropped. ``now`` is injectable (tests)."""

    def __init__(self, rate: float, burst: int, *, notice_every: float = NOTICE_EVERY, limit: int = 100_000,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.notices = Cooldown(notice_every, limit=limit, now=now)
        self._limit = limit
        self._now = now
        self._buckets: dict[int, TokenBucket] = {}
        self._albums: dict[int, str] = {}  # the album each person sent last (its other messages are free)
        self._swept = now()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def allow(self, user_id: int, album: str | None = None) -> bool:
        """Take one of this person's tokens (``album``: the update's media group; a later message of
        the album the person's last token went to is free); False: the update is to be dropped."""
        if not self.enabled:
            return True
        self._sweep()
        if album is not None and self._albums.get(user_id) == album:
            return True
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = self._buckets[user_id] = TokenBucket(self.rate, self.burst, now=self._now)
        if not bucket.try_acquire():
            return False
        if album is not None:
            self._albums[user_id] = album
        else:
            self._albums.pop(user_id, None)
        return True

    def _sweep(self) -> None:
        """Forget the buckets that have refilled (a new one starts full: the same thing), every minute or
        when there are too many."""
        now = self._now()
        if now - self._swept < SWEEP_EVERY and len(self._buckets) < self._limit:
            return
        self._swept = now
        self._buckets = {uid: b for uid, b in self._buckets.items() if not b.full()}
        while len(self._buckets) >= self._limit:  # a crowd that keeps sending: the oldest first
            del self._buckets[next(iter(self._buckets))]
        self._albums = {uid: album for uid, album in self._albums.items() if uid in self._buckets}

    def __len__(self) -> int:
        return len(self._buckets)


def sender(update: object) -> tuple[int, str | None] | None:
    """The person whose update this is and its album, if it is one the throttle meters (see the module
    docstring)."""
    if not isinstance(update, Update):
        return None
    user = update.effective_user
    if user is None or user.is_bot:
        return None
    if update.callback_query is not None or update.inline_query is not None:
        return user.id, None
    message = update.message or update.edited_message
    if message is None or filters.StatusUpdate.ALL.check_update(update):
        return None
    return user.id, message.media_group_id
