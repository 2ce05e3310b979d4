"""What one photo file says, read with bounded work whatever the file claims: the sha256 and size of the
bytes, the pixel size, the EXIF capture time and GPS position, and a perceptual hash.

:func:`photo_facts` records the capture time (``DateTimeOriginal``, else ``DateTime``, in the given time zone
unless ``OffsetTimeOriginal``/``OffsetTime`` says otherwise) and the position from the EXIF, and the
perceptual hash (``imagehash.phash`` of the upright picture, 64 bits as 16 hex digits). It never raises:

* only the formats a phone or camera produces are tried (JPEG/MPO, HEIF, PNG, WebP, AVIF, TIFF, GIF, BMP);
  other files, and anything Pillow cannot decode fully (truncated files included), are "not an image"
  (``is_image`` False) with only the sha256 and size recorded;
* an image with more pixels than its format's cap (:func:`pixel_cap`) is "too large" (``too_large`` True,
  ``is_image`` False), found from the header before any pixel is decoded;
* each EXIF field is read on its own, and a field that is missing or malformed is None. GPS rationals with a
  zero denominator, positions outside ±90/±180, and exactly (0, 0) (the placeholder cheap phones write
  without a fix) count as no GPS; a missing N/S/E/W reference leaves the sign of the value as written.

The work is bounded three ways. A JPEG is decoded at 1/2 to 1/8 scale (Pillow's ``draft``); the other
formats can only be decoded whole, so their caps are much lower, and the decoded picture is at once reduced
by a whole factor (its short side to 256–511 pixels), so that nothing after the decode copies a large
image. And :func:`analyse` runs at most :data:`MAX_ANALYSES` of them at once in the process.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import math
import re
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import imagehash
from PIL import ExifTags, Image, ImageOps
from pillow_heif import register_heif_opener

register_heif_opener()  # iPhones send HEIC when a photo goes as a file
_FORMATS = ("JPEG", "HEIF", "PNG", "WEBP", "AVIF", "TIFF", "GIF", "BMP")  # HEIF: an iPhone's HEIC
_DRAFT_SIZE = (256, 256)  # phash looks at 32×32 pixels only: no side needs to be decoded larger than this
_DRAFTED = frozenset({"JPEG", "MPO"})  # decoded at 1/2..1/8 scale; an MPO is a JPEG with a second picture
# Pixels allowed per format, checked against the header before anything is decoded. Peak RSS of one analysis
# in a fresh interpreter (60 MB with a 640 × 480 JPEG; measured on a 2-core machine with Pillow 12):
# * JPEG is decoded at 1/8 scale in grey, so it may be as large as Pillow allows (PIL.Image.MAX_IMAGE_PIXELS,
#   89.5 MP): an 8064 × 6048 JPEG (48.8 MP) peaks at 70 MB.
# * HEIF is decoded whole, in libheif's buffer and then in Pillow's (about 7 bytes a pixel): 50 MP admits an
#   iPhone's 48 MP "HEIF Max" (8064 × 6048: 400 MB); its usual 12 and 24 MP HEICs peak at 140 and 220 MB.
# * The rest are decoded whole too. PNG, TIFF, GIF and BMP take about 5 bytes a pixel: 24 MP admits a 24 MP
#   camera's picture (6000 × 4000 PNG: 185 MB, TIFF 225 MB) and any phone screenshot, and refuses the 336 KB
#   PNG of 9,400 × 9,400 that took 818 MB and 2 s (now 42 MB: refused unread). AVIF takes 8 bytes a pixel
#   (24 MP: 260 MB); WebP 14, three copies (decoder, bytes, Pillow), so 12 MP (4000 × 3000: 230 MB).
_PIXELS = {"HEIF": 50_000_000, "AVIF": 24_000_000, "WEBP": 12_000_000}
OTHER_PIXELS = 24_000_000  # PNG, TIFF, GIF, BMP
# Analyses at once in the process (the others wait their turn, holding no thread): one per core of the
# 2-core servers, so at most 2 × 400 MB even when two inspectors send 48 MP HEICs at the same moment.
MAX_ANALYSES = 2
_EXIF_TIME = re.compile(r"\s*(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"\s*([+-])(\d{2}):?(\d{2})\s*$")
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class PhotoFacts:
    sha256: str
    size: int
    width: int | None
    height: int | None
    taken_at: datetime | None
    latitude: float | None
    longitude: float | None
    phash: str | None
    has_exif: bool
    is_image: bool
    too_large: bool = False  # refused unread: more pixels than its format's cap (is_image is False)


async def analyse(data: bytes, tz: ZoneInfo) -> PhotoFacts:
    """:func:`photo_facts` in a worker thread, at most :data:`MAX_ANALYSES` at once (the gate is per event
    loop, and the process runs one)."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(MAX_ANALYSES)
    async with gate:
        return await asyncio.to_thread(photo_facts, data, tz)


def pixel_cap(image_format: str | None) -> int | None:
    """The most pixels an image of ``image_format`` may have (None: no cap), never above Pillow's own."""
    limit = Image.MAX_IMAGE_PIXELS
    if image_format in _DRAFTED:
        return limit
    cap = _PIXELS.get(image_format or "", OTHER_PIXELS)
    return cap if limit is None else min(cap, limit)


def photo_facts(data: bytes, tz: ZoneInfo) -> PhotoFacts:
    """The facts of one uploaded file; never raises."""
    digest = hashlib.sha256(data).hexdigest()
    not_image = PhotoFacts(digest, len(data), None, None, None, None, None, None, False, False)
    try:
        image = Image.open(io.BytesIO(data), formats=_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):  # the warning when it is an error
        return PhotoFacts(digest, len(data), None, None, None, None, None, None, False, False, too_large=True)
    except Exception:  # not an image, or unsupported
        return not_image
    with image:
        width, height = image.size
        cap = pixel_cap(image.format)
        if cap is not None and width * height > cap:
            return PhotoFacts(digest, len(data), width, height, None, None, None, None, False, False, too_large=True)
        exif = _exif(image)  # before decoding: a TIFF is turned upright as it loads, and forgets its orientation
        try:
            pixels = _decode_small(image)
        except Exception:  # truncated or corrupt pixel data
            return not_image
        upright = _upright(pixels)
        if upright.size == pixels.size[::-1]:  # turned a quarter (EXIF orientation 5 to 8)
            width, height = height, width
        latitude, longitude = _gps(exif)
        return PhotoFacts(digest, len(data), width, height, _taken_at(exif, tz), latitude, longitude,
                          _phash(upright), bool(exif), True)


def _decode_small(image: Image.Image) -> Image.Image:
    """The picture decoded small: a JPEG at 1/2..1/8 scale, another format whole and then reduced (short side
    256–511 pixels)."""
    if image.format in _DRAFTED:
        image.draft("L", _DRAFT_SIZE)
        image.load()
        return image
    # No draft for the others: on HEIF it would pick an embedded thumbnail, which may show another picture.
    image.load()
    factor = min(image.width // _DRAFT_SIZE[0], image.height // _DRAFT_SIZE[1])
    if factor < 2:
        return image
    if image.mode not in ("L", "RGB"):  # reduce() has no palette or bit modes, and copies RGBA premultiplied
        image = image.convert("L")
    return image.reduce(factor)


def _upright(image: Image.Image) -> Image.Image:
    """Turned as its EXIF orientation says (a reduced copy keeps the file's EXIF and XMP)."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        return image


def _phash(image: Image.Image) -> str | None:
    try:
        return str(imagehash.phash(image))
    except Exception:
        return None


def _exif(image: Image.Image) -> Image.Exif | None:
    try:
        return image.getexif()
    except Exception:
        return None


def _orientation(exif: Image.Exif | None) -> int | None:
    try:
        value = exif.get(ExifTags.Base.Orientation) if exif else None
        return int(value) if value is not None else None
    except Exception:
        return None


def _ifd(exif: Image.Exif | None, tag: int) -> dict[int, object]:
    try:
        return dict(exif.get_ifd(tag)) if exif else {}
    except Exception:
        return {}


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 \t\r\n")


def _taken_at(exif: Image.Exif | None, tz: ZoneInfo) -> datetime | None:
    """DateTimeOriginal (with OffsetTimeOriginal), else DateTime (with OffsetTime), as aware time in ``tz``."""
    if not exif:
        return None
    sub = _ifd(exif, ExifTags.IFD.Exif)
    try:
        main = dict(exif)
    except Exception:
        main = {}
    candidates = (
        (sub.get(ExifTags.Base.DateTimeOriginal), sub.get(ExifTags.Base.OffsetTimeOriginal)),
        (main.get(ExifTags.Base.DateTime), sub.get(ExifTags.Base.OffsetTime)),
    )
    for stamp, offset in candidates:
        taken = _parse_time(stamp, offset, tz)
        if taken is not None:
            return taken
    return None


def _parse_time(stamp: object, offset: object, tz: ZoneInfo) -> datetime | None:
    match = _EXIF_TIME.match(_text(stamp) or "")
    if match is None:
        return None
    zone: ZoneInfo | timezone = tz
    offset_match = _EXIF_OFFSET.match(_text(offset) or "")
    if offset_match is not None:
        sign, hours, minutes = offset_match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        if delta < timedelta(hours=24):
            zone = timezone(-delta if sign == "-" else delta)
    try:
        taken = datetime(*(int(part) for part in match.groups()), tzinfo=zone)
    except ValueError:  # "0000:00:00 00:00:00" and other impossible dates
        return None
    return taken.astimezone(tz)


def _gps(exif: Image.Exif | None) -> tuple[float | None, float | None]:
    gps = _ifd(exif, ExifTags.IFD.GPSInfo)
    if not gps:
        return None, None
    latitude = _coordinate(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "N", "S", 90)
    longitude = _coordinate(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "E", "W", 180)
    if latitude is None or longitude is None or (latitude == 0 and longitude == 0):
        return None, None
    return latitude, longitude


def _coordinate(value: object, ref: object, positive: str, negative: str, limit: float) -> float | None:
    """Degrees from EXIF (degrees, minutes, seconds) rationals and a hemisphere reference."""
    if value is None:
        return None
    try:
        parts = [float(part) for part in value] if isinstance(value, (tuple, list)) else [float(value)]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not 1 <= len(parts) <= 3 or not all(math.isfinite(part) for part in parts):
        return None
    if len(parts) > 1 and any(part < 0 for part in parts):
        return None
    degrees = sum(part / 60**index for index, part in enumerate(parts))
    hemisphere = (_text(ref) or "").upper()[:1]
    if hemisphere == negative:
        degrees = -abs(degrees)
    elif hemisphere not in ("", positive):
        return None
    return degrees if abs(degrees) <= limit else None
