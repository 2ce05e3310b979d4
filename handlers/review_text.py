"""How the office's verdict messages read once decided (handlers/review.py)."""

from __future__ import annotations

from config.i18n import Translator
from services.core.clock import Clock
from services.inspection.holds import Hold
from services.inspection.holds import request_text as hold_request
from services.plan.values import format_value
from services.progress.review import Review, request_text


def review_decided(r: Review, tr: Translator, clock: Clock) -> str:
    key = "review.accepted" if r.status == "accepted" else "review.rejected"
    text = request_text(r, tr.lang, clock) + "\n\n" + tr(
        key, name=r.decided_by or "?", claimed=format_value(r.claimed, r.measure, tr.lang),
        verified=format_value(r.verified, r.measure, tr.lang))
    return text + ("\n" + tr("review.already", name=r.decided_by or "?") if r.already else "")


def hold_decided(h: Hold, tr: Translator) -> str:
    key = "hold.confirmed" if h.status == "confirmed" else "hold.rejected"
    text = hold_request(h, tr.lang) + "\n\n" + tr(key, name=h.decided_by or "?",
                                                  verified=format_value(h.verified, h.measure, tr.lang))
    return text + ("\n" + tr("review.already", name=h.decided_by or "?") if h.already else "")
