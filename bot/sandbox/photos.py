"""Site photos for the demo county: a generated scene (Pillow) saved as a JPEG with EXIF capture time and GPS,
as a phone writes them, so that the inspection's photo checks (time, distance, re-use) have real data."""

from __future__ import annotations

import io
import random
from datetime import datetime

from PIL import ExifTags, Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational


def _scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    rng = random.Random(seed)
    width, height = size
    image = Image.new("RGB", size, (120, 170, 220))
    draw = ImageDraw.Draw(image)
    horizon = int(height * rng.uniform(0.35, 0.55))
    draw.rectangle([0, horizon, width, height], fill=(70 + rng.randint(0, 40), 120 + rng.randint(0, 50), 50))
    for _ in range(18):
        x, y = rng.uniform(0, width), rng.uniform(horizon, height)
        w, h = rng.uniform(20, 160), rng.uniform(8, 60)
        colour = (rng.randint(60, 200), rng.randint(90, 200), rng.randint(30, 120))
        draw.rectangle([x, y, x + w, y + h], fill=colour)
    for _ in range(5):
        x, y, r = rng.uniform(0, width), rng.uniform(0, horizon), rng.uniform(10, 50)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(240, 240, 245))
    return image


def _dms(degrees: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    whole = int(degrees)
    minutes = int((degrees - whole) * 60)
    seconds = round(((degrees - whole) * 60 - minutes) * 60 * 10000)
    return IFDRational(whole, 1), IFDRational(minutes, 1), IFDRational(seconds, 10000)


def site_photo(seed: int, *, taken: datetime, gps: tuple[float, float]) -> bytes:
    """A JPEG of a generated field scene with DateTimeOriginal, OffsetTimeOriginal (``taken`` is aware) and a
    GPS IFD (north, east)."""
    offset = taken.utcoffset()
    assert offset is not None, "an aware capture time"
    minutes = int(offset.total_seconds() // 60)
    zone = f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    exif = Image.Exif()
    exif[ExifTags.IFD.Exif] = {
        ExifTags.Base.DateTimeOriginal: taken.strftime("%Y:%m:%d %H:%M:%S"),
        ExifTags.Base.OffsetTimeOriginal: zone,
    }
    tag = ExifTags.GPS
    exif[ExifTags.IFD.GPSInfo] = {tag.GPSLatitudeRef: "N", tag.GPSLatitude: _dms(gps[0]),
                                  tag.GPSLongitudeRef: "E", tag.GPSLongitude: _dms(gps[1])}
    out = io.BytesIO()
    _scene(seed).save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()
