"""services.inspection.evidence: photo facts from real image files made here with Pillow, and the flags."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import math
import warnings
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

from services.inspection.evidence import (
    PHASH_THRESHOLD,
    Flag,
    PhotoFacts,
    PriorUse,
    Site,
    distance_m,
    integrity_flag,
    location_flags,
    phash_distance,
    photo_facts,
    photo_flags,
    plausible_location,
    site_for,
)
from tests.support.photos import dms, picture

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
METRES_PER_DEGREE = 6371008.8 * math.pi / 180  # haversine's mean Earth radius


def encode(image: Image.Image, fmt: str = "JPEG", quality: int = 92, exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    options: dict[str, object] = {"quality": quality} if fmt == "JPEG" else {}
    if exif is not None:
        options["exif"] = exif
    image.save(out, fmt, **options)
    return out.getvalue()


def make_jpeg(
    seed: int = 1, *, taken: str | None = None, offset: str | None = None, gps: tuple[float, float] | None = None,
    refs: tuple[str, str] = ("N", "E"), orientation: int | None = None, extra: dict[int, object] | None = None,
    gps_raw: dict[int, object] | None = None,
) -> bytes:
    """A JPEG of ``picture(seed)`` with optional EXIF DateTimeOriginal/OffsetTimeOriginal and GPS."""
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    for tag, value in (extra or {}).items():
        exif[tag] = value
    times = ((ExifTags.Base.DateTimeOriginal, taken), (ExifTags.Base.OffsetTimeOriginal, offset))
    if sub := {tag: value for tag, value in times if value is not None}:
        exif[ExifTags.IFD.Exif] = sub
    if gps is not None:
        tag = ExifTags.GPS
        exif[ExifTags.IFD.GPSInfo] = {tag.GPSLatitudeRef: refs[0], tag.GPSLatitude: dms(abs(gps[0])),
                                      tag.GPSLongitudeRef: refs[1], tag.GPSLongitude: dms(abs(gps[1]))}
    if gps_raw is not None:
        exif[ExifTags.IFD.GPSInfo] = gps_raw
    return encode(picture(seed), exif=exif if len(exif) else None)


def recode(data: bytes, *, scale: float = 1.0, quality: int = 85, crop: tuple[float, ...] = (0, 0, 0, 0)) -> bytes:
    """Re-save a photo as a re-user would: resized, cropped (fractions off left/top/right/bottom)."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    if scale != 1.0:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    w, h = image.size
    left, top, right, bottom = crop
    image = image.crop((round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom))))
    return encode(image, quality=quality)


def prior(facts: PhotoFacts, evidence_id: int = 7, label: str = "2024-05-01 检查", unit: str = "U01") -> PriorUse:
    return PriorUse(evidence_id, facts.sha256, facts.phash, label, unit)


def kinds(flags: list[Flag]) -> list[str]:
    return [flag.kind for flag in flags]


# --- photo facts -------------------------------------------------------------------------------


def test_facts_read_back_exactly() -> None:
    data = make_jpeg(taken="2024:05:01 10:20:30", offset="+08:00", gps=(30.123456, 120.654321))
    facts = photo_facts(data, SH)
    assert (facts.sha256, facts.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert (facts.width, facts.height) == (640, 480)
    assert facts.taken_at == datetime(2024, 5, 1, 10, 20, 30, tzinfo=SH)
    assert facts.taken_at.utcoffset() == timedelta(hours=8)
    assert facts.latitude == pytest.approx(30.123456, abs=1e-5)
    assert facts.longitude == pytest.approx(120.654321, abs=1e-5)
    assert facts.phash is not None and len(facts.phash) == 16 and int(facts.phash, 16) >= 0
    assert facts.has_exif and facts.is_image


def test_offset_time_original_wins_over_the_zone_and_is_shown_in_the_zone() -> None:
    facts = photo_facts(make_jpeg(taken="2024:05:01 02:20:30", offset="+00:00"), SH)
    assert facts.taken_at == datetime(2024, 5, 1, 10, 20, 30, tzinfo=SH)
    assert facts.taken_at.tzinfo == SH


def test_time_without_offset_is_in_the_given_zone() -> None:
    data = make_jpeg(taken="2024:07:01 09:00:00")
    assert photo_facts(data, NY).taken_at == datetime(2024, 7, 1, 9, 0, tzinfo=NY)
    assert photo_facts(data, SH).taken_at == datetime(2024, 7, 1, 9, 0, tzinfo=SH)


def test_datetime_is_the_fallback_and_impossible_times_are_no_time() -> None:
    facts = photo_facts(make_jpeg(extra={ExifTags.Base.DateTime: "2024:03:02 08:00:00"}), SH)
    assert facts.taken_at == datetime(2024, 3, 2, 8, 0, tzinfo=SH)
    assert facts.latitude is None and facts.has_exif
    facts = photo_facts(make_jpeg(taken="0000:00:00 00:00:00", offset="+99:00", gps=(30.5, 120.5)), SH)
    assert facts.taken_at is None and facts.latitude == pytest.approx(30.5)


def test_south_and_west_are_negative() -> None:
    facts = photo_facts(make_jpeg(gps=(-33.8688, -70.6693), refs=("S", "W")), SH)
    assert facts.latitude == pytest.approx(-33.8688, abs=1e-5)
    assert facts.longitude == pytest.approx(-70.6693, abs=1e-5)
    assert facts.taken_at is None


@pytest.mark.parametrize(
    "gps_raw",
    [
        {1: "N", 2: (IFDRational(30, 0), IFDRational(1), IFDRational(2)), 3: "E", 4: dms(120.5)},  # 30/0
        {1: "X", 2: dms(30.5), 3: "E", 4: dms(120.5)},  # unknown reference
        {1: "N", 2: dms(30.5), 3: "E"},  # no longitude
        {1: "N", 2: dms(0), 3: "E", 4: dms(0)},  # (0, 0): no fix
        {1: "N", 2: dms(95), 3: "E", 4: dms(120.5)},  # beyond the pole
    ],
)
def test_malformed_gps_is_no_gps_and_the_rest_is_kept(gps_raw: dict[int, object]) -> None:
    facts = photo_facts(make_jpeg(taken="2024:05:01 10:20:30", gps_raw=gps_raw), SH)
    assert (facts.latitude, facts.longitude) == (None, None)
    assert facts.taken_at == datetime(2024, 5, 1, 10, 20, 30, tzinfo=SH)
    assert facts.is_image and facts.phash is not None


def test_photo_without_exif_has_no_metadata() -> None:
    facts = photo_facts(make_jpeg(), SH)
    assert facts.is_image and not facts.has_exif
    assert (facts.taken_at, facts.latitude, facts.longitude) == (None, None, None)
    flags = photo_flags(facts, datetime(2024, 5, 1, tzinfo=SH), [])
    assert flags == [Flag("no_metadata", {"missing": ("time", "gps")})]
    only_time = photo_facts(make_jpeg(taken="2024:05:01 10:20:30"), SH)
    assert photo_flags(only_time, only_time.taken_at, []) == [Flag("no_metadata", {"missing": ("gps",)})]


def test_png_is_an_image_and_matches_its_jpeg() -> None:
    png = photo_facts(encode(picture(3), "PNG"), SH)
    assert png.is_image and not png.has_exif and (png.width, png.height) == (640, 480)
    jpeg = photo_facts(encode(picture(3)), SH)
    assert png.phash is not None and jpeg.phash is not None
    assert phash_distance(png.phash, jpeg.phash) <= PHASH_THRESHOLD


@pytest.mark.parametrize(
    "data",
    [
        np.random.default_rng(5).bytes(5000),
        b"",
        b"%PDF-1.4 not a photo",
        make_jpeg(taken="2024:05:01 10:20:30")[:3000],  # truncated: the pixels cannot be decoded
    ],
    ids=["random", "empty", "pdf", "truncated"],
)
def test_not_an_image(data: bytes) -> None:
    digest = hashlib.sha256(data).hexdigest()
    assert photo_facts(data, SH) == PhotoFacts(digest, len(data), None, None, None, None, None, None, False, False)


def test_decompression_bomb_is_not_an_image(monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_jpeg()  # 640×480 = 307,200 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # over twice the limit: Pillow's error
    assert not photo_facts(data, SH).is_image
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 200_000)  # over the limit: Pillow's warning (an error here)
    assert not photo_facts(data, SH).is_image
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        assert not photo_facts(data, SH).is_image  # refused by the explicit check
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert photo_facts(data, SH).is_image


def test_exif_orientation_is_applied_before_hashing() -> None:
    upright = photo_facts(encode(picture(4).transpose(Image.Transpose.ROTATE_270)), SH)
    rotated = photo_facts(make_jpeg(4, orientation=6), SH)  # stored sideways, shown upright
    assert (rotated.width, rotated.height) == (480, 640) == (upright.width, upright.height)
    assert rotated.phash is not None and upright.phash is not None
    assert phash_distance(rotated.phash, upright.phash) <= 2
    sideways = photo_facts(make_jpeg(4), SH)
    assert sideways.phash is not None and phash_distance(sideways.phash, upright.phash) > PHASH_THRESHOLD


def test_phash_distance() -> None:
    assert phash_distance("0000000000000000", "ffffffffffffffff") == 64
    assert phash_distance("8000000000000001", "0000000000000000") == 2
    assert phash_distance("abcdef0123456789", "ABCDEF0123456789") == 0
    with pytest.raises(ValueError):
        phash_distance("00", "0000")


# --- location ----------------------------------------------------------------------------------


def north_of(lat: float, lon: float, metres: float) -> tuple[float, float]:
    return lat + metres / METRES_PER_DEGREE, lon


def reference_distance(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(a))


def test_distance_in_metres_both_ways() -> None:
    assert distance_m(30.0, 120.0, *north_of(30.0, 120.0, 600)) == pytest.approx(600, abs=0.01)
    pairs = [((30.2741, 120.1551), (30.2500, 120.1700)), ((39.9042, 116.4074), (31.2304, 121.4737))]
    for (lat1, lon1), (lat2, lon2) in pairs:
        forward, back = distance_m(lat1, lon1, lat2, lon2), distance_m(lat2, lon2, lat1, lon1)
        assert forward == pytest.approx(back)
        assert forward == pytest.approx(reference_distance(lat1, lon1, lat2, lon2), rel=1e-9)
    assert distance_m(39.9042, 116.4074, 31.2304, 121.4737) == pytest.approx(1_067_000, rel=0.01)  # Beijing–Shanghai


def test_site_for() -> None:
    assert site_for((30.1, 120.1, 300), (30.0, 120.0, 800)) == Site(30.1, 120.1, 300)
    assert site_for((30.1, 120.1, None), (30.0, 120.0, 800)) == Site(30.1, 120.1, 800)
    assert site_for((30.1, 120.1, None), (None, None, None)) == Site(30.1, 120.1, 500)
    assert site_for((30.1, None, 300), (30.0, 120.0, 800)) == Site(30.0, 120.0, 800)
    assert site_for((None, None, None), (30.0, 120.0, None), default_radius_m=1000) == Site(30.0, 120.0, 1000)
    assert site_for((30.1, 120.1, 0), (30.0, 120.0, None)) == Site(30.1, 120.1, 500)
    assert site_for((None, 120.1, 300), (30.0, None, 800)) is None


def test_on_site_and_off_site() -> None:
    site = Site(30.0, 120.0, 500)
    assert location_flags(site, north_of(30.0, 120.0, 499), []) == []
    flags = location_flags(site, north_of(30.0, 120.0, 600), [])
    assert flags == [Flag("off_site", {"distance_m": 600, "radius_m": 500})]


def test_assignment_site_overrides_the_unit_site() -> None:
    unit = (30.0, 120.0, 500)
    assignment_lat, assignment_lon = north_of(30.0, 120.0, 3000)  # a project 3 km from the township office
    shared = north_of(assignment_lat, assignment_lon, 100)
    site = site_for((assignment_lat, assignment_lon, None), unit)
    assert site == Site(assignment_lat, assignment_lon, 500)
    assert location_flags(site, shared, []) == []
    unit_site = site_for((None, None, None), unit)
    assert location_flags(unit_site, shared, []) == [Flag("off_site", {"distance_m": 3100, "radius_m": 500})]


def test_exif_gps_outside_the_site_is_flagged_per_photo() -> None:
    site = Site(30.0, 120.0, 500)
    inside = photo_facts(make_jpeg(1, gps=north_of(30.0, 120.0, 200)), SH)
    outside = photo_facts(make_jpeg(2, gps=north_of(30.0, 120.0, 2500)), SH)
    no_gps = photo_facts(make_jpeg(3), SH)
    flags = location_flags(site, (30.0, 120.0), [inside, no_gps, outside])
    assert kinds(flags) == ["exif_off_site"]
    assert flags[0].params["index"] == 2 and flags[0].params["sha256"] == outside.sha256
    assert flags[0].params["distance_m"] == pytest.approx(2500, abs=1) and flags[0].params["radius_m"] == 500


def test_no_site() -> None:
    photo = photo_facts(make_jpeg(1, gps=(45.0, 90.0)), SH)
    assert location_flags(None, (30.0, 120.0), [photo]) == [Flag("no_site", {})]


def test_plausible_location() -> None:
    assert plausible_location(39.9042, 116.4074)  # Beijing
    assert plausible_location(18.0, 73.0) and plausible_location(54.0, 135.0)
    assert not plausible_location(48.8566, 2.3522)  # Paris
    assert not plausible_location(-33.8688, 151.2093)  # Sydney
    assert not plausible_location(math.nan, 116.0)


# --- per photo ---------------------------------------------------------------------------------


def test_stale_at_the_48_hour_boundary() -> None:
    facts = photo_facts(make_jpeg(taken="2024:05:01 10:00:00", gps=(30.0, 120.0)), SH)
    assert facts.taken_at is not None
    boundary = facts.taken_at + timedelta(hours=48)
    assert photo_flags(facts, boundary, []) == []
    flags = photo_flags(facts, boundary + timedelta(seconds=1), [])
    assert kinds(flags) == ["stale"] and flags[0].params["hours"] == 48 and flags[0].params["limit_hours"] == 48
    assert photo_flags(facts, boundary + timedelta(hours=20), [], stale_after=timedelta(hours=72)) == []


def test_exact_reuse_names_the_earliest_use_and_takes_precedence() -> None:
    data = make_jpeg(taken="2024:05:01 10:00:00", gps=(30.0, 120.0))
    facts = photo_facts(data, SH)
    uses = [prior(facts, 12, "5月3日 走访", "U02"), prior(facts, 9, "5月1日 走访", "U01")]
    flags = photo_flags(facts, datetime(2024, 5, 1, 12, tzinfo=SH), uses)
    expected = {"evidence_id": 9, "visit_label": "5月1日 走访", "unit_code": "U01", "uses": 2}
    assert flags == [Flag("reused_exact", expected)]


@pytest.mark.parametrize(
    ("scale", "quality", "crop"),
    [
        (0.5, 85, (0, 0, 0, 0)),
        (1.0, 60, (0, 0, 0, 0)),
        (1.0, 85, (0, 0, 0.05, 0)),  # 5% off the right
        (1.0, 85, (0.025, 0.025, 0, 0)),  # 2.5% off the top and the left: 4.9% of the area
        (0.5, 60, (0.02, 0, 0, 0.02)),  # all three
    ],
)
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_reuse_after_resize_recompression_and_crop_is_similar(
    seed: int, scale: float, quality: int, crop: tuple[float, ...]
) -> None:
    original = photo_facts(make_jpeg(seed), SH)
    copy = photo_facts(recode(make_jpeg(seed), scale=scale, quality=quality, crop=crop), SH)
    assert copy.sha256 != original.sha256
    flags = photo_flags(copy, datetime(2024, 5, 1, tzinfo=SH), [prior(original, 4, "4月 检查", "U03")])
    similar = [flag for flag in flags if flag.kind == "reused_similar"]
    assert len(similar) == 1
    assert similar[0].params["evidence_id"] == 4 and similar[0].params["unit_code"] == "U03"
    assert isinstance(similar[0].params["distance"], int) and similar[0].params["distance"] <= PHASH_THRESHOLD


def test_unrelated_photo_does_not_match() -> None:
    photos = [photo_facts(make_jpeg(seed), SH) for seed in range(20, 40)]
    for index, photo in enumerate(photos):
        others = [prior(other, number) for number, other in enumerate(photos) if number != index]
        assert "reused_similar" not in kinds(photo_flags(photo, datetime(2024, 5, 1, tzinfo=SH), others))


def test_prior_without_or_with_a_bad_phash_is_skipped() -> None:
    facts, visit = photo_facts(make_jpeg(30), SH), datetime(2024, 5, 1, tzinfo=SH)
    bad = [PriorUse(1, "0" * 64, None, "v", "U"), PriorUse(2, "1" * 64, "zz" * 8, "v", "U")]  # none, not hex
    bad.append(PriorUse(3, "2" * 64, "0", "v", "U"))  # another length
    assert "reused_similar" not in kinds(photo_flags(facts, visit, bad))
    same_picture = PriorUse(5, "f" * 64, facts.phash, "v", "U")
    assert kinds(photo_flags(facts, visit, [same_picture])) == ["no_metadata", "reused_similar"]
    assert kinds(photo_flags(dataclasses.replace(facts, phash=None), visit, [same_picture])) == ["no_metadata"]


# --- integrity ---------------------------------------------------------------------------------


def test_integrity_higher_is_better() -> None:
    assert integrity_flag(Decimal("100"), Decimal("95")) is None  # exactly 5% below: within tolerance
    assert integrity_flag(Decimal("100"), Decimal("130")) is None
    flag = integrity_flag(Decimal("100"), Decimal("94.99"))
    assert flag is not None and flag.kind == "integrity"
    assert flag.params["claimed"] == Decimal("100") and flag.params["verified"] == Decimal("94.99")
    assert flag.params["gap"] == Decimal("5.01") and flag.params["gap_ratio"] == Decimal("0.0501")
    assert integrity_flag(Decimal("100"), Decimal("91"), tolerance=Decimal("0.1")) is None
    assert integrity_flag(Decimal("0"), Decimal("-1")) is not None
    assert integrity_flag(None, Decimal("1")) is None and integrity_flag(Decimal("1"), None) is None


def test_integrity_lower_is_better() -> None:
    assert integrity_flag(Decimal("20"), Decimal("21"), direction="lower") is None  # exactly 5% above
    assert integrity_flag(Decimal("20"), Decimal("3"), direction="lower") is None
    flag = integrity_flag(Decimal("20"), Decimal("21.5"), direction="lower")
    assert flag is not None and flag.params["gap"] == Decimal("1.5") and flag.params["direction"] == "lower"
    assert integrity_flag(Decimal("20"), Decimal("21.5"), tolerance=Decimal("0.1"), direction="lower") is None
    with pytest.raises(ValueError):
        integrity_flag(Decimal("1"), Decimal("1"), direction="sideways")
