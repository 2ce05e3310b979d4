"""Evidence storage is bounded: files per draft and megabytes per person a day are checked before a file is
even downloaded, and files nothing refers to any more (a cancelled draft's, bytes of a refused step) are
collected once the grace period has passed."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from bot.app.jobs import run_scheduled
from models.core import AuditLog, EvidenceFile
from services.core.files import collect_orphans
from services.core.storage import LocalStorage
from tests.assessment.test_survey import a_link
from tests.assessment.test_survey_privacy import STRANGER, _answer
from tests.progress.test_report import PNG, seed
from tests.support.botrig import running_bot


def _stored(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")]


async def _at_files(cadre) -> None:
    await cadre.send_text("/report T1")
    await cadre.wait_reply()
    await cadre.send_text("350")
    await cadre.wait_reply()
    await cadre.send_text("/skip")
    assert "/done" in (await cadre.wait_reply()).text


async def test_a_draft_takes_no_more_files_than_the_limit_and_the_extra_is_not_downloaded(rig) -> None:
    """With two files per draft, a third is refused before getFile: two downloads, two stored files."""
    await seed(rig)
    async with running_bot(rig, max_files_per_draft=2):
        cadre = rig.fake.user(200)
        await _at_files(cadre)
        for n in range(3):
            await cadre.send_photo(PNG + bytes([n]))
            reply = (await cadre.wait_reply()).text
        assert "不能再添加" in reply
        assert len(rig.fake.requests_for("getFile")) == 2
        assert len(_stored(rig.settings.evidence_dir)) == 2
        await cadre.send_text("/done")
        assert "2 个" in (await cadre.wait_reply()).text


async def test_a_person_stores_no_more_than_the_day_allows(rig) -> None:
    """1 MB a day: a 600 KB file is taken, a second 600 KB file is refused before it is downloaded; the next
    day it is taken."""
    await seed(rig)
    big = b"\x89PNG\r\n\x1a\n" + bytes(600 * 1024)
    async with running_bot(rig, max_upload_mb_per_day=1):
        cadre = rig.fake.user(200)
        await _at_files(cadre)
        await cadre.send_document(big, "a.png", "image/png")
        assert "已收到 1 个" in (await cadre.wait_reply()).text
        await cadre.send_document(big + b"2", "b.png", "image/png")
        assert "1 MB 上限" in (await cadre.wait_reply()).text
        assert len(rig.fake.requests_for("getFile")) == 1
        rig.clock.advance(timedelta(days=1))
        await cadre.send_document(big + b"2", "b.png", "image/png")
        assert "已收到 2 个" in (await cadre.wait_reply()).text


async def test_files_nothing_refers_to_are_collected_after_the_grace_period(rig, tmp_path) -> None:
    """A cancelled draft's file and loose bytes without a row go after 7 days; a confirmed report's file and a
    file of a draft still open stay; the collection is audited."""
    await seed(rig)
    storage = LocalStorage(rig.settings.evidence_dir)
    async with running_bot(rig):
        cadre, other = rig.fake.user(200), rig.fake.user(201)
        await _at_files(cadre)  # confirmed with its photo
        await cadre.send_photo(PNG + b"kept")
        await cadre.wait_reply()
        await cadre.send_text("/done")
        summary = await cadre.wait_reply()
        await cadre.press_button(summary, "确认提交")
        await cadre.wait_reply()
        await _at_files(cadre)  # cancelled after its photo
        await cadre.send_photo(PNG + b"orphan")
        await cadre.wait_reply()
        await cadre.send_text("/cancel")
        await cadre.wait_reply()
        await _at_files(other)  # still open
        await other.send_photo(PNG + b"open")
        await other.wait_reply()
    _, loose = storage.put(b"bytes a refused step left behind")
    written = rig.clock.now().timestamp()  # the files' times on the test's clock
    for path in _stored(rig.settings.evidence_dir):
        os.utime(path, (written, written))
    assert len(_stored(rig.settings.evidence_dir)) == 4
    assert await collect_orphans(storage=storage, grace=timedelta(days=7), uow=rig.db.uow(), clock=rig.clock) == 0
    rig.clock.advance(timedelta(days=8))
    assert await collect_orphans(storage=storage, grace=timedelta(days=7), uow=rig.db.uow(), clock=rig.clock) == 2
    async with rig.db.uow() as uow:
        keys = {e.storage_key for e in (await uow.session.exec(select(EvidenceFile))).all()}
        (entry,) = (await uow.session.exec(select(AuditLog).where(AuditLog.action == "evidence.collect"))).all()
    assert len(keys) == 2 and loose not in keys
    assert {f"{p.parent.parent.name}/{p.parent.name}/{p.name}" for p in _stored(rig.settings.evidence_dir)} == keys
    assert entry.after["files"] == 2 and entry.after["rows"] == 1


async def test_the_scheduler_collects_once_a_day_and_forgets_passed_comment_windows(rig) -> None:
    """The tick's work: evidence collected at the day's first run only; a survey's comment window forgotten
    once it has passed."""
    token = await a_link(rig)
    async with running_bot(rig):
        await _answer(rig, token, STRANGER)
    storage = LocalStorage(rig.settings.evidence_dir)
    storage.put(b"left behind")
    old = (rig.clock.now() - timedelta(days=8)).timestamp()
    for path in _stored(rig.settings.evidence_dir):
        os.utime(path, (old, old))
    rig.clock.advance(timedelta(minutes=31))
    first = await run_scheduled(rig.clock.now(), db=rig.db, settings=rig.settings, clock=rig.clock)
    assert (first.evidence_collected, first.comments_purged) == (1, 1)
    again = await run_scheduled(rig.clock.now(), db=rig.db, settings=rig.settings, clock=rig.clock)
    assert (again.evidence_collected, again.comments_purged) == (None, 0)
    assert _stored(rig.settings.evidence_dir) == []
