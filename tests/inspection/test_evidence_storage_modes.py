"""Evidence files are the bot's user's only (0600), and so are their folders and the storage root (0700),
whatever the umask; a root an older version left open is closed when the first file is stored."""

from __future__ import annotations

from pathlib import Path

from services.core.storage import LocalStorage
from tests.models.test_file_modes import mode, umask
from tests.support.photos import jpeg


def test_stored_evidence_and_its_folders_are_the_owners_only(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    with umask(0o022):
        storage = LocalStorage(root)
        _, key = storage.put(jpeg(1))
    path = root / key
    assert storage.get(key) == jpeg(1)
    assert (mode(path), mode(path.parent), mode(path.parent.parent), mode(root)) == (0o600, 0o700, 0o700, 0o700)


def test_a_root_left_open_is_closed_by_the_first_file_stored(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    root.mkdir()
    root.chmod(0o755)
    with umask(0o022):
        LocalStorage(root).put(b"scan of an ID card")
    assert mode(root) == 0o700
