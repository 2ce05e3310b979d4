"""The bot's memory as an operator sees it (bench/soak.py measures the whole of it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_bot_starts_without_the_chart_library() -> None:
    """matplotlib is about 25 MB of a bot process (RSS 130 → 107 MB when the bot's modules are imported without it)
    and is needed only for /ranking's chart, a year-end affair: building the bot does not load it."""
    probe = ("import sys\n"
             "import bot.app.build, bot.serve.runner, bot.cli.main\n"
             "print(sorted(m for m in ('matplotlib', 'services.scoring.chart') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
