"""Real JPEG files for inspection tests, made with Pillow: a seeded "site photo", optionally with EXIF
capture time and GPS, and re-saved copies (resized, re-compressed) as a re-user would make them."""

from __future__ import annotations

import io
from datetime import datetime

import numpy as np
from PIL import ExifTags, Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational


def picture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A seeded scene: gradient sky/ground, random blocks and discs, sensor noise."""
    rng = np.random.default_rng(seed)
    width, height = size
    rows = np.linspace(0.0, 1.0, height)[:, None, None]
    pixels = (rng.uniform(0, 255, 3) * (1 - rows) + rng.uniform(0, 255, 3) * rows) * np.ones((1, width, 1))
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x0, y0 = rng.uniform(-0.1, 0.9) * width, rng.uniform(-0.1, 0.9) * height
        x1, y1 = x0 + rng.uniform(0.05, 0.4) * width, y0 + rng.uniform(0.05, 0.4) * height
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.rectangle if rng.random() < 0.6 else draw.ellipse)([x0, y0, x1, y1], fill=colour)
    noisy = np.asarray(image, dtype=np.float64) + rng.normal(0, 4, (height, width, 3))
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def dms(degrees: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    whole = int(degrees)
    minutes = int((degrees - whole) * 60)
    seconds = round(((degrees - whole) * 60 - minutes) * 60 * 10000)
    return IFDRational(whole, 1), IFDRational(minutes, 1), IFDRational(seconds, 10000)


def jpeg(seed: int = 1, *, taken: datetime | None = None, gps: tuple[float, float] | None = None,
         quality: int = 92, fmt: str = "JPEG") -> bytes:
    """A JPEG (or ``fmt="HEIF"``: an iPhone's HEIC) of ``picture(seed)``; ``taken`` (aware) becomes
    DateTimeOriginal + OffsetTimeOriginal, ``gps`` a GPS IFD (north/east)."""
    exif = Image.Exif()
    if taken is not None:
        offset = taken.utcoffset()
        assert offset is not None, "give an aware capture time"
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        exif[ExifTags.IFD.Exif] = {
            ExifTags.Base.DateTimeOriginal: taken.strftime("%Y:%m:%d %H:%M:%S"),
            ExifTags.Base.OffsetTimeOriginal: f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}",
        }
    if gps is not None:
        tag = ExifTags.GPS
        exif[ExifTags.IFD.GPSInfo] = {tag.GPSLatitudeRef: "N", tag.GPSLatitude: dms(gps[0]),
                                      tag.GPSLongitudeRef: "E", tag.GPSLongitude: dms(gps[1])}
    out = io.BytesIO()
    options: dict[str, object] = {"quality": quality}
    if len(exif):
        options["exif"] = exif
    picture(seed).save(out, fmt, **options)
    return out.getvalue()


def recode(data: bytes, *, scale: float = 1.0, quality: int = 70) -> bytes:
    """The same picture re-saved: resized by ``scale`` and re-compressed, without EXIF."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    if scale != 1.0:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()
