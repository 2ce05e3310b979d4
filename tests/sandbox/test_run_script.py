"""``scripts/run.sh`` without a token on a fresh copy of the project, with a fresh home: it sets itself up, starts
the sandbox, prints its address, and the web chat answers there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.support.sandboxrig import ROOT, SandboxProcess, environment


def fresh_clone(target: Path) -> Path:
    """The project's files as git has them (no .venv, no data), and a .venv that sees the test run's installed
    packages (so the script's own pip install has nothing to download but the build backend)."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
            (target / name).chmod(source.stat().st_mode)
    subprocess.run([sys.executable, "-m", "venv", str(target / ".venv")], check=True)
    site = next((target / ".venv" / "lib").glob("python3*/site-packages"))
    ours = [p for p in sys.path if p.endswith("site-packages")]
    (site / "test-run.pth").write_text("\n".join(ours) + "\n")
    return target


async def test_run_sh_without_a_token_starts_the_sandbox_and_prints_its_address(tmp_path) -> None:
    clone = fresh_clone(tmp_path / "duban")
    home = tmp_path / "home"
    home.mkdir()
    env = environment(home)
    assert "DUBAN_TOKEN" not in env and not (clone / ".env").exists()
    script = SandboxProcess(clone / "data", command=["bash", "scripts/run.sh", "--port", "0"], cwd=clone, env=env)
    async with script:
        async with aiohttp.ClientSession() as session, session.get(script.url + "/") as page:
            assert page.status == 200 and "督办" in await page.text()
        async with aiohttp.ClientSession() as session, session.get(script.url + "/api/state") as state:
            assert (await state.json())["bot"] == "duban_sandbox_bot"
        assert (clone / "data" / "sandbox.db").exists()
        assert any(script.url in line and "沙盒" in line for line in script.output)
