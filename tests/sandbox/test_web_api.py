"""The web chat's API: a file keeps its bytes (EXIF too) and can be downloaded again, a photo loses its EXIF as
Telegram's would; bad input is refused with one polite line in the person's language and changes nothing."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import aiohttp
from PIL import Image

from bot.sandbox.photos import site_photo
from tests.support.sandboxrig import INSPECTOR, SandboxProcess

ENGLISH_INSPECTOR = 7000007  # Inspector Sun


async def _upload(sandbox: SandboxProcess, person: int, data: bytes, name: str, kind: str) -> tuple[int, dict]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="image/jpeg")
    form.add_field("as", kind)
    async with aiohttp.ClientSession() as session, session.post(f"{sandbox.url}/api/chat/{person}/file",
                                                                data=form) as r:
        return r.status, await r.json()


async def _download(sandbox: SandboxProcess, file_id: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(f"{sandbox.url}/api/files/{file_id}") as r:
        assert r.status == 200
        return await r.read()


async def test_files_keep_their_bytes_photos_lose_their_exif_and_bad_input_is_refused(demo_data) -> None:
    async with SandboxProcess(demo_data) as sandbox:
        photo = site_photo(3, taken=datetime.fromisoformat("2026-06-15T09:30:00+08:00") - timedelta(hours=1),
                           gps=(30.6, 104.06))
        before = len(await sandbox.chat(INSPECTOR))
        assert (await _upload(sandbox, INSPECTOR, photo, "IMG_1.jpg", "document"))[0] == 200
        assert (await _upload(sandbox, INSPECTOR, photo, "IMG_2.jpg", "photo"))[0] == 200
        mine = [m for m in (await sandbox.chat(INSPECTOR))[before:] if m["from"] == "me"]
        as_file = await _download(sandbox, mine[0]["document"]["file_id"])
        as_photo = await _download(sandbox, mine[1]["photo"]["file_id"])
        assert as_file == photo and mine[0]["document"]["name"] == "IMG_1.jpg"
        assert Image.open(io.BytesIO(as_photo)).getexif() == {} and Image.open(io.BytesIO(photo)).getexif()

        async with aiohttp.ClientSession() as session:
            async def post(path: str, body: dict) -> tuple[int, dict]:
                async with session.post(sandbox.url + path, json=body) as r:
                    return r.status, await r.json()

            assert await post(f"/api/chat/{INSPECTOR}/location", {"latitude": 95, "longitude": 104}) == (
                400, {"error": "坐标无效：纬度在 -90 到 90 之间，经度在 -180 到 180 之间。"})
            status, body = await post(f"/api/chat/{ENGLISH_INSPECTOR}/location", {"latitude": "north"})
            assert status == 400 and body["error"].startswith("Invalid coordinates")
            assert (await post(f"/api/chat/{INSPECTOR}/text", {"text": "   "}))[0] == 400
            assert (await post(f"/api/chat/{INSPECTOR}/press", {"message_id": 1, "data": "nothing"}))[0] == 409
            assert (await post("/api/clock", {"step": "yesterday"}))[0] == 400
            async with session.post(f"{sandbox.url}/api/chat/12345/text", json={"text": "hi"}) as r:
                assert r.status == 404
        status, body = await _upload(sandbox, ENGLISH_INSPECTOR, b"%PDF-1.4 not a picture", "a.jpg", "photo")
        assert status == 400 and body["error"] == "That is not a picture; send it as a file."
        after = await sandbox.chat(INSPECTOR)
        assert len([m for m in after if m["from"] == "me"]) == len([m for m in after[:before] if m["from"] == "me"]) + 2
