"""Site-inspection evidence: what a photo proves, and the flags shown before Confirm.

The customer's rule is "只看现场不听汇报": evidence of a site visit must be hard to fake. The bot
asks inspectors for photos sent as files, because Telegram strips EXIF from compressed photos;
compressed photos are accepted but carry no metadata. This module is pure (no Telegram, no
database, no clock): the caller passes the facts of each photo (read by :mod:`services.inspection.photo`:
sha256, size, EXIF capture time and GPS, perceptual hash), the visit time, the site and the earlier uses.

The flags (:class:`Flag`, ``kind`` plus ``params`` for the message):

``no_site``        the plan gives no point for the assignment or its unit: nothing to measure;
``off_site``       the location shared in the chat is farther from the site than its radius;
``exif_off_site``  a photo's EXIF GPS is farther than the radius (one flag per photo);
``no_metadata``    a photo has no EXIF capture time, or no EXIF GPS (``params["missing"]``);
``stale``          the EXIF capture time is more than 48 h (``stale_after``) before the visit;
``reused_exact``   the same bytes (sha256) were recorded for another visit or unit;
``reused_similar`` the same picture, resized/re-compressed/cropped (phash distance at most
                   :data:`PHASH_THRESHOLD`), was recorded for another visit or unit;
``integrity``      the verified value is below the claimed one by more than the tolerance.

Distances are great-circle (``haversine``) metres; a point exactly on the radius is on site.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from haversine import Unit, haversine

# The facts of one photo are read in services.inspection.photo; their names stay importable from here.
from services.inspection.photo import PhotoFacts, analyse, photo_facts

__all__ = ["PHASH_THRESHOLD", "Flag", "PhotoFacts", "PriorUse", "Site", "analyse", "distance_m", "integrity_flag",
           "location_flags", "phash_distance", "photo_facts", "photo_flags", "plausible_location", "site_for"]

# Measured with bench/phash_threshold.py --count 200 --seed 1 (deterministic; rerun to reproduce):
# 200 synthetic site photos (sky, ground, road, buildings with windows, trees, poles, noise, blur;
# 1600×1200 or 1200×1600, JPEG q92), hashed through photo_facts. phash sets 32 of its 64 bits, so
# every distance is even ("<= 10" is the same as "< 12").
#   same origin, original vs copy (3,000 pairs): resize 50%/75%, re-compress q50/60/70/85,
#     brightness ±15%, Telegram-style ≤1280 px q80: max 6 (p99 2). Crops: 2% off each side max 14,
#     5% off one side max 24 (p99 16), 2.5% off top+left max 12; resize+q60/q70+crop 3–4% max 12.
#     All: median 0, p99 12, p99.9 16, max 24.
#   different origin (616,900 pairs: originals pairwise and every copy against the other
#     originals): min 8, p0.1 18, p1 22, median 32 (originals pairwise alone: min 12).
#   T=6: FN 11.6% (crops only), FP 0;  T=8: FN 4.6%, FP 1.6e-6;  T=10: FN 1.9%, FP 8.1e-6 (5 pairs);
#   T=12: FN 0.6%, FP 1.2e-4.
# Chosen: 10, the fewest misses with at most 1e-5 false matches per pair: every resized,
# re-compressed, brightened or Telegram-compressed copy matches with a margin of 4, and 98% of the
# ≤5% crops. The price: the same scene shot again from a camera moved by 5% of the frame (a later
# visit from the same spot) matches 20% of the time, and with N photos stored a new photo has about
# N × 8e-6 chance of a spurious match. A "reused_similar" flag is a prompt to compare, not a verdict.
PHASH_THRESHOLD: int = 10


@dataclass(frozen=True)
class Site:
    latitude: float
    longitude: float
    radius_m: float


@dataclass(frozen=True)
class PriorUse:
    """Evidence already recorded for ANOTHER visit or unit (the caller leaves out this visit's own)."""

    evidence_id: int
    sha256: str
    phash: str | None
    visit_label: str
    unit_code: str


@dataclass(frozen=True)
class Flag:
    kind: str
    params: dict[str, object] = field(default_factory=dict)


# --- perceptual hashes ------------------------------------------------------------------------


def phash_distance(a: str, b: str) -> int:
    """Hamming distance of two hex perceptual hashes of the same length (ValueError otherwise)."""
    if len(a) != len(b):
        raise ValueError(f"hashes of different lengths: {a!r}, {b!r}")
    return (int(a, 16) ^ int(b, 16)).bit_count()


# --- location ----------------------------------------------------------------------------------


def site_for(
    assignment_point: tuple[float | None, float | None, int | None],
    unit_point: tuple[float | None, float | None, int | None],
    default_radius_m: float = 500,
) -> Site | None:
    """The assignment's own point when it has both coordinates, else the unit's, else None.

    The radius is the point's own, else (for an assignment point) the unit's, else the default;
    a radius that is not positive counts as not given.
    """
    a_lat, a_lon, a_radius = assignment_point
    u_lat, u_lon, u_radius = unit_point
    unit_radius = u_radius if u_radius is not None and u_radius > 0 else None
    if a_lat is not None and a_lon is not None:
        radius = a_radius if a_radius is not None and a_radius > 0 else unit_radius
        return Site(float(a_lat), float(a_lon), float(radius if radius is not None else default_radius_m))
    if u_lat is not None and u_lon is not None:
        return Site(float(u_lat), float(u_lon), float(unit_radius if unit_radius is not None else default_radius_m))
    return None


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    return haversine((lat1, lon1), (lat2, lon2), unit=Unit.METERS)


def location_flags(site: Site | None, shared: tuple[float, float] | None, photos: list[PhotoFacts]) -> list[Flag]:
    """``no_site`` alone when there is no site; else ``off_site`` and one ``exif_off_site`` per photo outside."""
    if site is None:
        return [Flag("no_site", {})]
    flags: list[Flag] = []
    radius = round(site.radius_m)
    if shared is not None:
        distance = distance_m(site.latitude, site.longitude, shared[0], shared[1])
        if distance > site.radius_m:
            flags.append(Flag("off_site", {"distance_m": round(distance), "radius_m": radius}))
    for index, photo in enumerate(photos):
        if photo.latitude is None or photo.longitude is None:
            continue
        distance = distance_m(site.latitude, site.longitude, photo.latitude, photo.longitude)
        if distance > site.radius_m:
            params: dict[str, object] = {"index": index, "sha256": photo.sha256}
            flags.append(Flag("exif_off_site", {**params, "distance_m": round(distance), "radius_m": radius}))
    return flags


def plausible_location(lat: float, lon: float) -> bool:
    """Within China's rough bounding box (lat 18–54, lon 73–135); NaN is not plausible."""
    return 18 <= lat <= 54 and 73 <= lon <= 135


# --- per photo ---------------------------------------------------------------------------------


def photo_flags(
    photo: PhotoFacts, visit_at: datetime, prior: list[PriorUse], stale_after: timedelta = timedelta(hours=48)
) -> list[Flag]:
    """``no_metadata``, ``stale``, and ``reused_exact`` (precedence) or ``reused_similar`` for one photo.

    A re-use flag names one earlier use: for sha256, the earliest (lowest evidence id); for phash,
    the closest (then the earliest). ``params["uses"]`` counts all matching earlier uses.
    """
    flags: list[Flag] = []
    missing = tuple(
        name for name, absent in (("time", photo.taken_at is None), ("gps", photo.latitude is None)) if absent
    )
    if missing:
        flags.append(Flag("no_metadata", {"missing": missing}))
    if photo.taken_at is not None and visit_at - photo.taken_at > stale_after:
        hours, limit = (visit_at - photo.taken_at) // timedelta(hours=1), stale_after / timedelta(hours=1)
        flags.append(Flag("stale", {"hours": hours, "taken_at": photo.taken_at, "limit_hours": limit}))
    exact = sorted((use for use in prior if use.sha256 == photo.sha256), key=lambda use: use.evidence_id)
    if exact:
        flags.append(Flag("reused_exact", _use_params(exact[0], len(exact))))
        return flags
    similar: list[tuple[int, int, PriorUse]] = []
    if photo.phash is not None:
        for use in prior:
            distance = _safe_distance(photo.phash, use.phash)
            if distance is not None and distance <= PHASH_THRESHOLD:
                similar.append((distance, use.evidence_id, use))
    if similar:
        distance, _, use = min(similar, key=lambda item: item[:2])
        flags.append(Flag("reused_similar", {**_use_params(use, len(similar)), "distance": distance}))
    return flags


def _use_params(use: PriorUse, uses: int) -> dict[str, object]:
    return {"evidence_id": use.evidence_id, "visit_label": use.visit_label, "unit_code": use.unit_code, "uses": uses}


def _safe_distance(a: str, b: str | None) -> int | None:
    if b is None:
        return None
    try:
        return phash_distance(a, b)
    except ValueError:  # a stored hash of another length or not hex: no comparison
        return None


# --- integrity ---------------------------------------------------------------------------------


def integrity_flag(
    claimed: Decimal | None,
    verified: Decimal | None,
    tolerance: Decimal = Decimal("0.05"),
    direction: str = "higher",
) -> Flag | None:
    """``integrity`` when the verified value is worse than the claimed one by more than tolerance×|claimed|.

    "higher" (higher is better): verified below claimed − tolerance×|claimed|; "lower": verified
    above claimed + tolerance×|claimed|. Exactly at the tolerance is not flagged. None when either
    value is missing or not finite.
    """
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction must be 'higher' or 'lower', not {direction!r}")
    if claimed is None or verified is None or not (claimed.is_finite() and verified.is_finite()):
        return None
    allowed = abs(claimed) * tolerance
    gap = claimed - verified if direction == "higher" else verified - claimed
    if gap <= allowed:
        return None
    params: dict[str, object] = {"claimed": claimed, "verified": verified, "gap": gap}
    params.update(tolerance=tolerance, direction=direction)
    if claimed:
        params["gap_ratio"] = gap / abs(claimed)
    return Flag("integrity", params)
