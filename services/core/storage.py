"""Evidence storage: one interface, content-addressed keys; never a file name chosen by a user.

Evidence is personal (faces, places, documents): its files are readable by the bot's user only (0600) and its
folders, the storage root included, open to that user only (0700)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

_OWNER_ONLY_FOLDER = 0o700


class Storage(Protocol):
    def put(self, data: bytes) -> tuple[str, str]:
        """Store ``data``; returns (sha256 hex, storage key). Storing the same bytes again is a no-op."""
        ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None:
        """Forget the bytes of ``key`` (nothing if they are gone already)."""
        ...

    def stored(self) -> Iterator[tuple[str, float]]:
        """Every stored key with the time its bytes were written (seconds since the epoch)."""
        ...


class LocalStorage:
    """Files under a directory, at ``ab/cd/<sha256>``: written atomically, never overwritten."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._root_checked = False

    @staticmethod
    def key_for(sha256: str) -> str:
        return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if len(parts) != 3 or not all(p and all(c in "0123456789abcdef" for c in p) for p in parts):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root.joinpath(*parts)

    def put(self, data: bytes) -> tuple[str, str]:
        digest = hashlib.sha256(data).hexdigest()
        key = self.key_for(digest)
        path = self._path(key)
        if path.exists():
            return digest, key
        self._folders(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")  # made 0600, kept by os.replace
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest, key

    def _folders(self, folder: Path) -> None:
        """The root, ``ab`` and ``ab/cd`` made 0700. A root left open by an older version is closed the first
        time (nothing under a 0700 root can be reached by others); one that is not ours is left as it is."""
        if not self._root_checked:
            self.root.mkdir(mode=_OWNER_ONLY_FOLDER, parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                if self.root.stat().st_mode & 0o077:
                    self.root.chmod(_OWNER_ONLY_FOLDER)
            self._root_checked = True
        folder.parent.mkdir(mode=_OWNER_ONLY_FOLDER, exist_ok=True)
        folder.mkdir(mode=_OWNER_ONLY_FOLDER, exist_ok=True)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def stored(self) -> Iterator[tuple[str, float]]:
        if not self.root.is_dir():
            return
        for path in self.root.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*"):
            if path.is_file() and not path.name.startswith("."):
                yield f"{path.parent.parent.name}/{path.parent.name}/{path.name}", path.stat().st_mtime
