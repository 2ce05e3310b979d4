"""Files people send (photos and documents): which part of a message is the file, Telegram's size limit,
fetching it with getFile and storing it by content (services/core/storage.py)."""

from __future__ import annotations

import asyncio

from telegram import Document, Message, PhotoSize, Update

from handlers.common import deps
from handlers.context import Context
from services.core.files import FileLimits, IncomingFile

MAX_FILE_BYTES = 20 * 1024 * 1024  # the Bot API serves files up to 20 MB


def media_of(message: Message) -> PhotoSize | Document:
    """The largest size of a photo, or the document."""
    if message.photo:
        return message.photo[-1]
    assert message.document is not None
    return message.document


def limits(context: Context) -> FileLimits:
    """The settings' limits on what one person stores."""
    settings = deps(context).settings
    return FileLimits(per_draft=settings.max_files_per_draft, mb_per_day=settings.max_upload_mb_per_day)


def size_of(message: Message) -> int:
    """The file's size as Telegram reports it (0 when it does not say)."""
    return media_of(message).file_size or 0


def too_big(message: Message) -> bool:
    media = media_of(message)
    return bool(media.file_size and media.file_size > MAX_FILE_BYTES)


async def download(message: Message) -> bytes:
    return bytes(await (await media_of(message).get_file()).download_as_bytearray())


async def fetch(message: Message, context: Context, data: bytes | None = None) -> IncomingFile:
    """The file of ``message`` fetched (unless ``data`` holds it already) and stored by content."""
    media = media_of(message)
    data = await download(message) if data is None else data
    sha, key = await asyncio.to_thread(deps(context).storage.put, data)
    document = message.document if not message.photo else None
    return IncomingFile(
        data=data, sha256=sha, storage_key=key, telegram_file_id=media.file_id,
        telegram_file_unique_id=media.file_unique_id, kind="document" if document else "photo",
        mime_type=(document.mime_type or "application/octet-stream") if document else "image/jpeg",
        file_name=document.file_name if document else None)


MAX_PHOTO_BYTES = 10 * 1024 * 1024  # sendPhoto takes up to 10 MB; larger images go as documents


async def send_stored(update: Update, context: Context, found: list[tuple[str, str]]) -> None:
    """Reply with stored evidence files ((storage key, MIME type) each): images as photos, the rest as documents."""
    d, message = deps(context), update.effective_message
    assert message is not None
    if update.callback_query is not None:
        await update.callback_query.answer()  # the files take a moment
    for key, mime in found:
        data = await asyncio.to_thread(d.storage.get, key)
        if mime.startswith("image/") and len(data) <= MAX_PHOTO_BYTES:
            await message.reply_photo(data)
        else:
            await message.reply_document(data, filename=f"{key.rsplit('/', 1)[-1][:12]}.{mime.rsplit('/', 1)[-1]}")
