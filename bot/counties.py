"""The counties file: several counties served by one deployment, each with its own bot token and its
own database (so one county can never read another's data by construction).

    [[county]]
    code = "lx"
    name = "灵溪县"
    token_env = "DUBAN_TOKEN_LX"      # the name of the environment variable holding the token
    database_url = "postgresql+asyncpg://duban@db/duban_lx"
    bot_username = "lx_duban_bot"
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class County:
    code: str
    name: str
    token_env: str
    database_url: str
    bot_username: str | None = None
    # Optional: a local Bot API server for this county (default: DUBAN_BOT_API_BASE_URL / _FILE_URL).
    bot_api_base_url: str | None = None
    bot_api_file_url: str | None = None

    def token(self, environ: Mapping[str, str] = os.environ) -> str:
        return environ[self.token_env]


class CountiesError(Exception):
    """Every problem of a counties file, one line each: ``<code>: <field>: <problem>``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_counties(path: Path, environ: Mapping[str, str] = os.environ) -> list[County]:
    """Read and validate a counties file; CountiesError lists every problem."""
    raise NotImplementedError  # filled in by the counties work (issue #8)
