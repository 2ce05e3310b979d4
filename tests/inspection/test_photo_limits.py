"""Bounded photo analysis: a file that declares more pixels than its format may have is refused from its
header, unread; a format that cannot be decoded small is reduced at once after decoding; at most
MAX_ANALYSES photos are analysed at once; and the inspector is told politely.

Peak memory is measured in a fresh interpreter per file (its own peak RSS, ``ru_maxrss``), against the same
interpreter analysing a small photo in the same run: a ratio, never an absolute figure or a time.
"""

from __future__ import annotations

import asyncio
import io
import json
import struct
import subprocess
import sys
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

import imagehash
import pytest
from PIL import ExifTags, Image

from services.inspection.evidence import PHASH_THRESHOLD, phash_distance
from services.inspection.photo import MAX_ANALYSES, OTHER_PIXELS, analyse, photo_facts, pixel_cap
from tests.inspection.test_inspect import on_site_photo, seed, send_file, share, to_location
from tests.support.photos import jpeg, picture

SH = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]


def flat_png(width: int, height: int) -> bytes:
    """A black RGB PNG written row by row (a few hundred KB for 9,400 × 9,400; decoded, 4 bytes a pixel).

    Written by hand because Pillow would need the whole picture in memory to encode it."""
    row = b"\x00" + bytes(width * 3)  # filter byte "none", then the pixels
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


HOSTILE = flat_png(9400, 9400)  # the file: 88 MP in a few hundred KB


def test_the_hostile_png_is_too_large_and_refused_from_its_header() -> None:
    assert len(HOSTILE) < 400_000
    facts = photo_facts(HOSTILE, SH)
    assert facts.too_large and not facts.is_image
    assert (facts.width, facts.height, facts.phash) == (9400, 9400, None)


@pytest.mark.parametrize(("fmt", "size"), [("PNG", (6000, 4001)), ("GIF", (6000, 4001)), ("WEBP", (4000, 3001))])
def test_formats_decoded_whole_have_lower_caps_than_jpeg(fmt: str, size: tuple[int, int]) -> None:
    """Just over each cap (PNG and GIF 24 MP, WebP 12 MP): refused; the same picture as a JPEG is read."""
    grey = Image.new("L", size, 90)
    over = photo_facts(encoded(grey, fmt), SH)
    assert over.too_large and not over.is_image
    under = photo_facts(encoded(grey.crop((0, 0, size[0], size[1] - 1)), fmt), SH)  # exactly at the cap
    assert under.is_image and not under.too_large
    as_jpeg = photo_facts(encoded(grey, "JPEG"), SH)
    assert as_jpeg.is_image and (as_jpeg.width, as_jpeg.height) == size


def test_caps_per_format_never_exceed_pillows_own(monkeypatch: pytest.MonkeyPatch) -> None:
    assert pixel_cap("JPEG") == pixel_cap("MPO") == Image.MAX_IMAGE_PIXELS
    assert pixel_cap("HEIF") == 50_000_000 > 48_771_072  # an iPhone's 48 MP HEIC (8064 × 6048)
    assert pixel_cap("PNG") == pixel_cap("TIFF") == OTHER_PIXELS == 24_000_000
    assert pixel_cap("WEBP") == 12_000_000
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    assert pixel_cap("PNG") == pixel_cap("HEIF") == pixel_cap("JPEG") == 1_000_000


def test_a_reduced_picture_hashes_like_its_jpeg_and_upright() -> None:
    """A 1600 × 1200 PNG is decoded whole and reduced 4 times before hashing, and hashes like the JPEG. Stored
    sideways with orientation 6 (PNG: an EXIF block; TIFF: a tag Pillow applies as it loads), it is measured
    and hashed upright, turned once."""
    scene = picture(6, (1600, 1200))
    png, as_jpeg = photo_facts(encoded(scene, "PNG"), SH), photo_facts(encoded(scene, "JPEG", quality=92), SH)
    assert png.phash is not None and as_jpeg.phash is not None
    assert phash_distance(png.phash, as_jpeg.phash) <= PHASH_THRESHOLD
    sideways = scene.transpose(Image.Transpose.ROTATE_90)  # 1200 × 1600, upright after a 270° turn
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    for data in (encoded(sideways, "PNG", exif=exif), encoded(sideways, "TIFF", tiffinfo={274: 6})):
        facts = photo_facts(data, SH)
        assert facts.is_image and (facts.width, facts.height) == (1600, 1200)
        assert facts.phash is not None and phash_distance(facts.phash, as_jpeg.phash) <= PHASH_THRESHOLD


# --- peak memory, each file analysed in a fresh interpreter -----------------------------------------

# The child's peak is its memory's high-water mark (VmHWM), which starts afresh with the new program. Not
# ru_maxrss: Linux carries that over from the process that started the child (here, the test's own size).
CHILD = """
import json, re, sys
from pathlib import Path
from zoneinfo import ZoneInfo
from services.inspection.photo import photo_facts
facts = photo_facts(Path(sys.argv[1]).read_bytes(), ZoneInfo("Asia/Shanghai"))
peak = int(re.search(r"VmHWM:\\s*(\\d+) kB", Path("/proc/self/status").read_text())[1]) * 1024
print(json.dumps({"image": facts.is_image, "too_large": facts.too_large, "peak": peak}))
"""


def analysed_apart(path: Path, data: bytes) -> dict:
    path.write_bytes(data)
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def test_peak_memory_of_the_hostile_png_is_that_of_a_small_photo(tmp_path: Path) -> None:
    """Unbounded, the 88 MP PNG peaked at 818 MB against 60 MB for a 640 × 480 JPEG (13 times)."""
    small = analysed_apart(tmp_path / "small.jpg", jpeg(1))
    hostile = analysed_apart(tmp_path / "hostile.png", HOSTILE)
    assert small["image"] and hostile["too_large"]
    assert hostile["peak"] <= small["peak"] * 1.25


def test_a_large_png_under_its_cap_is_decoded_once(tmp_path: Path) -> None:
    """A 5000 × 4000 PNG (20 MP, under the 24 MP cap) is decoded in RGB, 4 bytes a pixel (80 MB), and
    reduced at once: its peak is at most 5 bytes a pixel above a small photo's. Unreduced (hashed and
    turned at full size) it took 9."""
    small = analysed_apart(tmp_path / "small.jpg", jpeg(1))
    large = analysed_apart(tmp_path / "large.png", flat_png(5000, 4000))
    assert small["image"] and large["image"]
    assert large["peak"] - small["peak"] <= 5 * 5000 * 4000


# --- at most MAX_ANALYSES at once ---------------------------------------------------------------------


class CountingExecutor(ThreadPoolExecutor):
    """The loop's default executor, counting the jobs handed to it (asyncio.to_thread submits here)."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


async def test_at_most_max_analyses_photos_are_analysed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Twice MAX_ANALYSES photos at once, each held inside its hashing until the test lets go: when the first
    MAX_ANALYSES are held, the others have not been given a thread; let go, every photo is analysed."""
    inside, release, active, peak = threading.Semaphore(0), threading.Event(), [0], [0]
    lock, real_phash = threading.Lock(), imagehash.phash

    def held_phash(image, *args, **kwargs):  # type: ignore[no-untyped-def]
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        inside.release()
        release.wait()
        try:
            return real_phash(image, *args, **kwargs)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(imagehash, "phash", held_phash)
    executor = CountingExecutor(2 * MAX_ANALYSES)  # a thread for every photo, were there no gate
    loop = asyncio.get_running_loop()
    loop.set_default_executor(executor)
    waiter = ThreadPoolExecutor(1)
    try:
        photos = [jpeg(seed) for seed in range(2 * MAX_ANALYSES)]
        tasks = [asyncio.create_task(analyse(data, SH)) for data in photos]
        for _ in range(MAX_ANALYSES):
            assert await loop.run_in_executor(waiter, lambda: inside.acquire(timeout=60))
        assert executor.submitted == MAX_ANALYSES  # every task has started: the rest wait at the gate
        release.set()
        results = await asyncio.gather(*tasks)
    finally:
        release.set()
        waiter.shutdown()
    assert all(facts.is_image and facts.phash for facts in results)
    assert executor.submitted == 2 * MAX_ANALYSES and peak[0] == MAX_ANALYSES


# --- through the bot ---------------------------------------------------------------------------------


async def test_an_inspector_sending_a_huge_image_is_told_and_can_go_on(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    await to_location(inspector)
    await share(inspector)
    await inspector.send_document(HOSTILE, "scan.png", "image/png")
    refused = await inspector.wait_reply()
    assert refused.text == "这张图片的像素过多，无法分析。请发送手机相机拍摄的原始照片文件（JPEG 或 HEIC）。"
    root = bot.app.bot_data.storage.root
    assert await asyncio.to_thread(lambda: [p for p in root.rglob("*") if p.is_file()]) == []  # nothing kept
    note = await send_file(inspector, on_site_photo(bot))
    assert "照片 1 已收到" in note.text  # the same step takes the next photo, and it is the first
    assert len(await asyncio.to_thread(lambda: [p for p in root.rglob("*") if p.is_file()])) == 1
