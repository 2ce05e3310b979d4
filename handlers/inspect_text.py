"""What the /inspect dialogue and /visits show: text and buttons from the catalogue."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from telegram import (
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from config.i18n import Translator
from handlers.common import buttons
from services.inspection.inspect import RATINGS, Snapshot, Step
from services.inspection.visits import Visit
from services.plan.values import format_value

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
Message = tuple[str, Markup]



def location_keyboard(tr: Translator) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup([[KeyboardButton(tr("inspect.btn_location"), request_location=True)]],
                               resize_keyboard=True, one_time_keyboard=True)


def _v(value: Decimal | str | None, measure: str, tr: Translator) -> str:
    if value is None:
        return tr("inspect.none")
    return format_value(Decimal(str(value)), measure, tr.lang)


def _plain(tr: Translator) -> Translator:
    """For text that becomes a parameter of another message (escaped there, once)."""
    return Translator(tr.lang, html=False)


def _what(s: Snapshot, tr: Translator) -> str:
    plain = _plain(tr)
    if s.general or s.target_code is None:
        return plain("inspect.general")
    return plain("inspect.target", code=s.target_code, title=s.title)


def _use(params: dict[str, Any], tr: Translator) -> str:
    return _plain(tr)(f"inspect.use.{params.get('use', 'inspection')}", number=params.get("number", "?"),
                 unit=params.get("unit", params.get("unit_code", "?")), date=params.get("date", "?"))


def flag_text(flag: dict[str, Any], tr: Translator, measure: str = "") -> str:
    """One flag as a line of the summary."""
    kind, p = flag.get("kind", ""), flag.get("params") or {}
    photo = p.get("photo", "?")
    if kind in ("off_site", "exif_off_site"):
        return tr(f"inspect.flag.{kind}", photo=photo, distance=p.get("distance_m"), radius=p.get("radius_m"))
    if kind == "no_metadata":
        if p.get("compressed"):
            return tr("inspect.flag.compressed", photo=photo)
        plain = _plain(tr)
        missing = plain("inspect.and").join(plain(f"inspect.missing.{m}") for m in p.get("missing") or ())
        return tr("inspect.flag.no_metadata", photo=photo, missing=missing)
    if kind == "stale":
        return tr("inspect.flag.stale", photo=photo, taken=p.get("taken_at"), hours=p.get("hours"),
                  limit=int(float(p.get("limit_hours") or 48)))
    if kind in ("reused_exact", "reused_similar"):
        return tr(f"inspect.flag.{kind}", photo=photo, use=_use(p, tr), distance=p.get("distance", 0))
    if kind == "integrity":
        ratio = p.get("gap_ratio")
        percent = f"{Decimal(str(ratio)) * 100:.0f}" if ratio is not None else "—"
        key = "inspect.flag.integrity" if p.get("direction", "higher") == "higher" else "inspect.flag.integrity_lower"
        return tr(key, verified=_v(p.get("verified"), measure, tr), claimed=_v(p.get("claimed"), measure, tr),
                  percent=percent)
    if kind == "no_site":
        return tr("inspect.flag.no_site")
    return "⚠️ " + kind


def _photo_note(s: Snapshot, tr: Translator) -> str:
    note = s.last_photo
    assert note is not None
    if note.duplicate:
        return tr("inspect.photo_again", number=note.number)
    if note.compressed:
        head = tr("inspect.photo_compressed", number=note.number)
    else:
        plain = _plain(tr)
        parts = [plain("inspect.photo_taken", taken=note.taken_at) if note.taken_at else plain("inspect.photo_no_time")]
        if note.distance_m is not None:
            parts.append(plain("inspect.photo_distance", distance=note.distance_m))
        head = tr("inspect.photo_ok", number=note.number, details=plain("inspect.sep").join(parts))
    return "\n".join([head, *(flag_text(f, tr, s.measure) for f in note.flags)])


def _units(s: Snapshot, tr: Translator) -> Message:
    lines = []
    if s.notice:
        lines.append(tr(s.notice, **s.notice_params))
    if not s.units:
        lines.append(tr("inspect.no_units_in_scope"))
        return "\n".join(lines), None
    lines.append(tr("inspect.choose_unit"))
    if s.pages > 1:
        lines.append(tr("inspect.page", page=s.page + 1, pages=s.pages))
    rows = [[(f"{u.code} {u.name}"[:60], f"ins:u:{u.unit_id}")] for u in s.units]
    nav = []
    if s.page > 0:
        nav.append((tr("inspect.prev"), f"ins:pg:{s.page - 1}"))
    if s.page < s.pages - 1:
        nav.append((tr("inspect.next"), f"ins:pg:{s.page + 1}"))
    return "\n".join(lines), buttons(*rows, nav)


def summary(s: Snapshot, tr: Translator) -> str:
    lines = [tr("inspect.summary_title"), tr("inspect.summary_unit", unit=s.unit_name, code=s.unit_code),
             tr("inspect.summary_what", what=_what(s, tr))]
    if s.latitude is not None:
        lines.append(_location_line(s, tr))
    lines.append(tr("inspect.summary_photos", count=s.photos))
    lines.append(tr("inspect.summary_findings", findings=s.findings or ""))
    if not s.general:
        verified = s.verified_text or (_v(s.verified_value, s.measure, tr) if s.verified_value is not None
                                       else tr("inspect.not_verified"))
        lines.append(tr("inspect.summary_value", verified=verified, claimed=_v(s.claimed, s.measure, tr)))
    lines.append(tr("inspect.summary_rating", rating=_plain(tr)(f"inspect.rating.{s.rating}")))
    lines.append(tr("inspect.summary_flags") if s.flags else tr("inspect.summary_no_flags"))
    lines += [flag_text(f, tr, s.measure) for f in s.flags]
    return "\n".join(lines)


def _location_line(s: Snapshot, tr: Translator) -> str:
    accuracy = _plain(tr)("inspect.accuracy", metres=round(s.accuracy_m)) if s.accuracy_m is not None else ""
    return tr("inspect.summary_location", lat=f"{s.latitude:.5f}", lon=f"{s.longitude:.5f}", accuracy=accuracy)


def prompt(s: Snapshot, tr: Translator) -> list[Message]:
    """The message(s) that ask for the input of the draft's current step."""
    step = s.step
    if step == Step.CHOOSE_UNIT:
        return [_units(s, tr)]
    if step == Step.CHOOSE_TARGET:
        rows = [[(f"{t.code} {t.title}"[:60], f"ins:t:{t.assignment_id}")] for t in s.targets]
        return [(tr("inspect.choose_target", unit=s.unit_name),
                 buttons(*rows, [(tr("inspect.btn_general"), "ins:t:g")]))]
    if step == Step.AWAIT_LOCATION:
        text = tr("inspect.ask_location", unit=s.unit_name, what=_what(s, tr))
        if not s.has_site:
            text += "\n" + tr("inspect.no_site_note")
        return [(text, location_keyboard(tr))]
    if step == Step.AWAIT_PHOTOS:
        out: list[Message] = []
        if s.location_taken:
            out.append((tr("inspect.location_ok") + "\n" + _location_line(s, tr), ReplyKeyboardRemove()))
        text = tr("inspect.ask_photos", count=s.photos)
        if s.last_photo is not None:
            text = _photo_note(s, tr) + "\n" + tr("inspect.more_photos", count=s.photos)
        out.append((text, buttons([(tr("inspect.btn_done"), "ins:done")])))
        return out
    if step == Step.AWAIT_FINDINGS:
        return [(tr("inspect.ask_findings"), None)]
    if step == Step.AWAIT_VALUE:
        return [(tr("inspect.ask_value", what=_what(s, tr), measure=s.measure, claimed=_v(s.claimed, s.measure, tr),
                    planned=_v(s.planned, s.measure, tr)),
                 buttons([(tr("inspect.btn_skip"), "ins:skip")]))]
    if step == Step.AWAIT_RATING:
        text = tr("inspect.ask_rating")
        if s.verified_text:
            understood = tr("inspect.understood", verified=s.verified_text, claimed=_v(s.claimed, s.measure, tr))
            text = understood + "\n" + text
        return [(text, buttons([(tr(f"inspect.rating.{r}"), f"ins:r:{r}") for r in RATINGS]))]
    if step == Step.CONFIRM:
        return [(summary(s, tr), buttons([(tr("inspect.btn_confirm"), f"ins:ok:{s.serial}"),
                                           (tr("inspect.btn_cancel"), "ins:cancel")]))]
    return [confirmed(s, tr)]


def confirmed(s: Snapshot, tr: Translator) -> Message:
    """After Confirm (and after a second press): the number, the flags, and a button to open a rectification."""
    lines = [tr("inspect.confirmed", number=s.inspection_id, unit=s.unit_name, what=_what(s, tr))]
    if s.notice:
        lines.insert(0, tr(s.notice, **s.notice_params))
    lines.append(tr("inspect.flag_count", count=len(s.flags)) if s.flags else tr("inspect.summary_no_flags"))
    markup = buttons([(tr("inspect.btn_rectify"), f"rect:new:{s.inspection_id}")])
    return "\n".join(lines), markup


def visits_text(items: list[Visit], unit_code: str | None, tr: Translator) -> str:
    if not items:
        return tr("visits.none")
    plain = _plain(tr)
    lines = [tr("visits.title", count=len(items)) if unit_code is None
             else tr("visits.title_unit", count=len(items), code=unit_code)]
    for v in items:
        what = plain("inspect.target", code=v.target_code, title=v.target_title) if v.target_code \
            else plain("inspect.general")
        flags = plain("inspect.list_sep").join(plain(f"inspect.short.{k}") for k in v.flags) if v.flags \
            else plain("visits.no_flags")
        lines.append(tr("visits.line", number=v.inspection_id, date=v.visited_at.strftime("%Y-%m-%d"),
                        unit=v.unit_name, what=what, rating=plain(f"inspect.rating.{v.rating}"),
                        inspector=v.inspector, flags=flags))
    return "\n".join(lines)
