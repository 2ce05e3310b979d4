"""The operator's commands against the sandbox (``duban --sandbox …``) and ``duban sandbox``'s refusals."""

from __future__ import annotations

import socket
import subprocess
import sys

from openpyxl import load_workbook

from tests.support.sandboxrig import ROOT, environment


def duban(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=environment(),
                          capture_output=True, text=True, timeout=120)


async def test_plan_export_against_the_sandbox_writes_the_demo_countys_plan(demo_data, tmp_path) -> None:
    out = tmp_path / "plan.xlsx"
    done = duban("--sandbox", "--sandbox-data", str(demo_data), "plan", "export", "--out", str(out))
    assert done.returncode == 0, done.stderr
    book = load_workbook(out, read_only=True)
    sheets = {ws.title: [row for row in ws.iter_rows(min_row=2, values_only=True) if any(row)] for ws in book}
    people = next(rows for title, rows in sheets.items() if "人员" in title)
    assert len(people) == 20 and any("刘县长" in row for row in people)


async def test_a_bad_at_or_a_taken_port_is_refused_with_one_line(tmp_path) -> None:
    bad = duban("sandbox", "--data", str(tmp_path / "d"), "--at", "next tuesday")
    assert bad.returncode == 2 and "--at" in bad.stderr and "next tuesday" in bad.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = duban("sandbox", "--data", str(tmp_path / "d"), "--port", str(port))
    assert busy.returncode == 2 and f"端口 {port} 已被占用" in busy.stderr
