"""A plan export lists people with their phone numbers: `duban` writes it, like every file it makes, for its
user only (main() sets the umask to 0o077), and gives the caller's umask back when it returns."""

from __future__ import annotations

import os

from tests.models.test_file_modes import mode, umask


async def test_a_workbook_written_by_the_command_line_is_the_owners_only(cli, tmp_path) -> None:
    out = tmp_path / "plan.xlsx"
    with umask(0o022):
        done = await cli("plan", "export", "--out", str(out))
        assert done.code == 0, done.err
        assert os.umask(0o022) == 0o022  # given back
    assert mode(out) == 0o600
