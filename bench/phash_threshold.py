"""Measure the perceptual-hash threshold for "re-used photo" (services.inspection.evidence.PHASH_THRESHOLD).

Run: ``.venv/bin/python bench/phash_threshold.py [--count 200] [--seed 1] [--jobs 2]``

Synthetic "site photos" (sky and ground gradients, buildings with windows, trees, a road, poles,
sensor noise and a little blur, 1600×1200 landscape or 1200×1600 portrait, JPEG q92 like a phone)
go through the real pipeline (:func:`services.inspection.evidence.photo_facts` on the encoded bytes). For
every original, copies are made the way a re-used photo reaches the bot: resized, re-compressed,
slightly cropped, brightened/darkened, sent through Telegram's photo compression, and chains of
these. Same-origin pairs (original, copy) must match; different-origin pairs (any original or copy
of one scene against the original of another) must not.

Two more groups are measured and printed but not used for the choice, because phash cannot tell
them apart by design: the same scene shot again from a camera moved by 5–20% (a later visit from
the same spot), and near-featureless pictures (plain sky, a blank wall) of different colours.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from zoneinfo import ZoneInfo

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from services.inspection.evidence import phash_distance, photo_facts

TZ = ZoneInfo("Asia/Shanghai")
Transform = Callable[[Image.Image], Image.Image]


def scene(rng: np.random.Generator, size: tuple[int, int], camera: tuple[float, float] = (0.0, 0.0)) -> Image.Image:
    """A random outdoor "site" picture; ``camera`` shifts the view by a fraction of the frame."""
    width, height = size
    big_w, big_h = int(width * 1.5), int(height * 1.5)  # the world; the camera sees a window of it
    horizon = int(big_h * rng.uniform(0.35, 0.65))
    rows = np.linspace(0.0, 1.0, big_h)[:, None, None]
    sky = rng.uniform(60, 255, 3) * (1 - rows) + rng.uniform(60, 255, 3) * rows
    ground = rng.uniform(20, 200, 3) * (1 - rows) + rng.uniform(20, 200, 3) * rows
    pixels = np.where(np.arange(big_h)[:, None, None] < horizon, sky, ground) * np.ones((1, big_w, 1))
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    vanishing = int(rng.uniform(0.2, 0.8) * big_w)
    road = tuple(int(c) for c in rng.uniform(40, 160, 3))
    left, right = int(rng.uniform(-0.3, 0.4) * big_w), int(rng.uniform(0.6, 1.3) * big_w)
    draw.polygon([(left, big_h), (right, big_h), (vanishing + 10, horizon), (vanishing - 10, horizon)], fill=road)
    for _ in range(int(rng.integers(2, 9))):
        x0 = int(rng.uniform(-0.1, 0.95) * big_w)
        w = int(rng.uniform(0.05, 0.3) * big_w)
        top = int(horizon - rng.uniform(0.05, 0.6) * big_h)
        bottom = int(horizon + rng.uniform(0.0, 0.15) * big_h)
        wall = tuple(int(c) for c in rng.uniform(30, 240, 3))
        draw.rectangle([x0, top, x0 + w, bottom], fill=wall)
        glass = tuple(int(c) for c in rng.uniform(0, 120, 3))
        step_x, step_y = max(8, w // int(rng.integers(3, 8))), int(rng.uniform(0.03, 0.08) * big_h)
        for wy in range(top + step_y // 2, bottom - step_y, step_y):
            for wx in range(x0 + step_x // 3, x0 + w - step_x // 2, step_x):
                draw.rectangle([wx, wy, wx + step_x // 2, wy + step_y // 2], fill=glass)
    for _ in range(int(rng.integers(0, 7))):
        cx, cy = rng.uniform(0, big_w), horizon + rng.uniform(-0.05, 0.3) * big_h
        r = rng.uniform(0.02, 0.1) * big_w
        leaf = (int(rng.uniform(10, 80)), int(rng.uniform(60, 160)), int(rng.uniform(10, 80)))
        draw.ellipse([cx - r, cy - 1.6 * r, cx + r, cy], fill=leaf)
    for _ in range(int(rng.integers(0, 5))):
        x = rng.uniform(0, big_w)
        foot, top = horizon + rng.uniform(0, 0.3) * big_h, rng.uniform(0, horizon)
        draw.line([(x, foot), (x, top)], fill=(50, 50, 50), width=6)
    x0 = (big_w - width) // 2 + int(camera[0] * width)
    y0 = (big_h - height) // 2 + int(camera[1] * height)
    view = image.crop((x0, y0, x0 + width, y0 + height)).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    noisy = np.asarray(view, dtype=np.float64) + rng.normal(0, rng.uniform(2, 8), (height, width, 3))
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def plain(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """A near-featureless picture: a smooth sky or wall gradient with sensor noise."""
    width, height = size
    rows = np.linspace(0.0, 1.0, height)[:, None, None]
    pixels = rng.uniform(40, 230, 3) * (1 - rows) + rng.uniform(40, 230, 3) * rows + np.zeros((1, width, 1))
    pixels = pixels + rng.normal(0, rng.uniform(1, 5), (height, width, 3))
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def resize(factor: float) -> Transform:
    return lambda im: im.resize((round(im.width * factor), round(im.height * factor)), Image.Resampling.LANCZOS)


def crop(left: float, top: float, right: float, bottom: float) -> Transform:
    def apply(im: Image.Image) -> Image.Image:
        w, h = im.size
        return im.crop((round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom))))

    return apply


def brightness(factor: float) -> Transform:
    return lambda im: ImageEnhance.Brightness(im).enhance(factor)


def telegram(im: Image.Image) -> Image.Image:
    copy = im.copy()
    copy.thumbnail((1280, 1280), Image.Resampling.LANCZOS)
    return copy


def chain(*steps: Transform) -> Transform:
    def apply(im: Image.Image) -> Image.Image:
        for step in steps:
            im = step(im)
        return im

    return apply


def same(im: Image.Image) -> Image.Image:
    return im


# name -> (transform, JPEG quality of the copy)
COPIES: dict[str, tuple[Transform, int]] = {
    "resize50": (resize(0.5), 85),
    "resize75": (resize(0.75), 85),
    "q50": (same, 50),
    "q60": (same, 60),
    "q70": (same, 70),
    "q85": (same, 85),
    "crop2_each_side": (crop(0.02, 0.02, 0.02, 0.02), 85),
    "crop5_right": (crop(0, 0, 0.05, 0), 85),
    "crop5_bottom": (crop(0, 0, 0, 0.05), 85),
    "crop2.5_top_left": (crop(0.025, 0.025, 0, 0), 85),
    "bright+15": (brightness(1.15), 85),
    "bright-15": (brightness(0.85), 85),
    "telegram_q80": (telegram, 80),
    "resize50_q60_crop4": (chain(resize(0.5), crop(0.02, 0.02, 0, 0)), 60),
    "resize75_bright-10_q70_crop3": (chain(resize(0.75), brightness(0.9), crop(0, 0.015, 0.015, 0)), 70),
}
# A flag per new photo is expected with probability ≈ rate × (evidence already stored): 1e-5 keeps it
# near 1% for 1,000 stored photos and 10% for 10,000.
MAX_FALSE_POSITIVE_RATE = 1e-5
RESHOTS = {"moved5": (0.05, 0.02), "moved10": (0.1, 0.03), "moved20": (0.2, 0.05)}


def measure_one(seed: int) -> tuple[int, list[int], list[int], int]:
    """phash of one original, of each of its copies, of each re-shot view, and of one plain picture."""
    rng = np.random.default_rng(seed)
    size = (1600, 1200) if rng.random() < 0.75 else (1200, 1600)
    state = rng.bit_generator.state
    original_bytes = jpeg(scene(rng, size), 92)
    original = Image.open(io.BytesIO(original_bytes))
    copies = [_hash(jpeg(transform(original.convert("RGB")), quality)) for transform, quality in COPIES.values()]
    reshots = []
    for offset in RESHOTS.values():
        again = np.random.default_rng(seed)
        again.bit_generator.state = state  # the same world, then a different camera, light and noise
        image = brightness(float(rng.uniform(0.85, 1.15)))(scene(again, size, camera=offset))
        reshots.append(_hash(jpeg(image, 90)))
    return _hash(original_bytes), copies, reshots, _hash(jpeg(plain(rng, (1200, 900)), 90))


def _hash(data: bytes) -> int:
    phash = photo_facts(data, TZ).phash
    assert phash is not None
    return int(phash, 16)


def popcount(values: np.ndarray) -> np.ndarray:
    return np.bitwise_count(values.astype(np.uint64)).astype(np.int64)


def describe(name: str, distances: np.ndarray) -> None:
    q = np.percentile(distances, [0.1, 1, 50, 99, 99.9])
    print(
        f"  {name:<30} n={distances.size:>9,}  min={distances.min():>2}  p0.1={q[0]:>4.1f}  p1={q[1]:>4.1f}"
        f"  median={q[2]:>4.1f}  p99={q[3]:>4.1f}  p99.9={q[4]:>4.1f}  max={distances.max():>2}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    started = time.monotonic()
    seeds = [args.seed * 1_000_003 + index for index in range(args.count)]
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(measure_one, seeds, chunksize=4))
    originals = np.array([r[0] for r in results], dtype=np.uint64)
    copies = np.array([r[1] for r in results], dtype=np.uint64)  # (count, copies)
    reshots = np.array([r[2] for r in results], dtype=np.uint64)
    plains = np.array([r[3] for r in results], dtype=np.uint64)
    count = len(originals)
    print(f"{count} scenes, {len(COPIES)} copies each, {time.monotonic() - started:.0f} s")

    same_by_kind = popcount(copies ^ originals[:, None])
    print("same origin (original vs copy) — must match:")
    for column, name in enumerate(COPIES):
        describe(name, same_by_kind[:, column])
    same_all = same_by_kind.ravel()
    describe("ALL same-origin", same_all)
    no_crop = [column for column, name in enumerate(COPIES) if "crop" not in name]
    describe("same-origin without a crop", same_by_kind[:, no_crop].ravel())

    off_diagonal = ~np.eye(count, dtype=bool)
    upper = np.triu(off_diagonal)
    different = [popcount(originals[:, None] ^ originals[None, :])[upper]]
    for column in range(copies.shape[1]):
        different.append(popcount(copies[:, column][:, None] ^ originals[None, :])[off_diagonal])
    different_all = np.concatenate(different)
    print("different origin (scene i, original or copy, vs original of scene j ≠ i) — must not match:")
    describe("originals pairwise", different[0])
    describe("ALL different-origin", different_all)
    print(f"  closest different-origin distances: {np.sort(different_all)[:10].tolist()}")

    print("not used for the choice:")
    for column, name in enumerate(RESHOTS):
        describe(f"same scene re-shot, {name}", popcount(reshots[:, column] ^ originals))
    describe("plain pictures pairwise", popcount(plains[:, None] ^ plains[None, :])[upper])

    reshot5 = popcount(reshots[:, 0] ^ originals)
    plain_pairs = popcount(plains[:, None] ^ plains[None, :])[upper]
    print("threshold (match when distance <= T): false negatives, false positives per pair; also matched:"
          " re-shot moved5, plain pairs")
    best, best_fn = None, None
    for threshold in range(0, 21):
        fn = int((same_all > threshold).sum())
        fp = int((different_all <= threshold).sum())
        fp_rate = fp / different_all.size
        print(f"  T={threshold:>2}  FN {fn:>5}/{same_all.size} ({fn / same_all.size:7.3%})"
              f"  FP {fp:>6}/{different_all.size} ({fp_rate:.1e})"
              f"  moved5 {(reshot5 <= threshold).mean():6.1%}  plain {(plain_pairs <= threshold).mean():7.3%}")
        if fp_rate <= MAX_FALSE_POSITIVE_RATE and (best_fn is None or fn < best_fn):
            best, best_fn = threshold, fn
    print(f"chosen: T={best} (fewest false negatives with at most {MAX_FALSE_POSITIVE_RATE:.0e} false positives"
          " per pair; the smallest such T: phash sets 32 of 64 bits, so distances are even)")
    first, copy = f"{int(originals[0]):016x}", f"{int(copies[0, 0]):016x}"
    print(f"check with services.inspection.evidence.phash_distance: {first} vs its resize50 copy {copy}:"
          f" {phash_distance(first, copy)}")


if __name__ == "__main__":
    main()
