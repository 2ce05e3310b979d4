"""An iPhone sends a photo as a file in HEIC: it is read like a JPEG (time and place from its EXIF, its
perceptual hash, which matches the same scene as a JPEG), so the flags work on it."""

from __future__ import annotations

from datetime import timedelta

from services.inspection.evidence import PHASH_THRESHOLD, phash_distance, photo_facts
from tests.inspection.test_inspect import seed, share, to_location
from tests.support.photos import jpeg

TZ_NOTE = "照片 1 的拍摄位置距现场 2224 米"


def test_heic_facts_are_read_like_a_jpeg(clock) -> None:
    taken = clock.now() - timedelta(hours=1)
    heic = photo_facts(jpeg(5, taken=taken, gps=(30.62, 104.06), fmt="HEIF"), clock.tz)
    same = photo_facts(jpeg(5, taken=taken, gps=(30.62, 104.06)), clock.tz)
    assert heic.is_image and heic.has_exif and heic.taken_at == taken
    assert (round(heic.latitude, 4), round(heic.longitude, 4)) == (30.62, 104.06)
    assert heic.phash is not None and same.phash is not None
    assert phash_distance(heic.phash, same.phash) <= PHASH_THRESHOLD


async def test_an_inspector_sends_heic_files_and_the_flags_see_them(bot) -> None:
    await seed(bot)
    inspector = bot.fake.user(500)
    await to_location(inspector)
    await share(inspector)
    far = jpeg(1, taken=bot.clock.now() - timedelta(hours=1), gps=(30.62, 104.06), fmt="HEIF")
    await inspector.send_document(far, "IMG_0001.HEIC", "image/heic")
    note = await inspector.wait_reply()
    assert "⚠️ " + TZ_NOTE + "，超出 300 米范围" in note.text  # its GPS was read
    await inspector.send_text("/done")
    await inspector.wait_reply()
    await inspector.send_text("现场情况")
    await inspector.wait_reply()
    await inspector.send_text("/skip")
    await inspector.press_button(await inspector.wait_reply(), "一般")
    assert TZ_NOTE in (await inspector.wait_reply()).text  # the summary names it before Confirm
