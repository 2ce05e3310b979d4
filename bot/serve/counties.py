"""The counties file: several counties served by one deployment, each with its own bot token and its
own database (so one county can never read another's data by construction).

    [[county]]
    code = "lx"
    name = "灵溪县"
    token_env = "DUBAN_TOKEN_LX"      # the name of the environment variable holding the token
    database_url = "postgresql+asyncpg://duban@db/duban_lx"
    bot_username = "lx_duban_bot"
    # optional: a local Bot API server for this county
    # bot_api_base_url = "http://127.0.0.1:8081/bot"
    # bot_api_file_url = "http://127.0.0.1:8081/file/bot"

Every problem is reported as ``<code>: <field>: <problem>`` (``#<n>`` for the n-th table when its
code is missing or unusable, ``?`` for the file as a whole). Problems are operator-facing
configuration errors and are in English, like the ``DUBAN_*`` settings errors.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.serve.errors import CountiesError
from config.settings import Settings

CODE_RE = re.compile(r"[a-z0-9_-]+")
REQUIRED = ("code", "name", "token_env", "database_url")
OPTIONAL = ("bot_username", "bot_api_base_url", "bot_api_file_url")
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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


def database_identity(url: str) -> tuple[str, ...]:
    """What makes two database URLs the same database: the file for SQLite (relative paths are
    read from the current directory), host, port and name for PostgreSQL (whoever logs in)."""
    u = make_url(url)
    if u.drivername.startswith("sqlite"):
        return ("sqlite", str(Path(u.database or "").expanduser().resolve()))
    return ("postgresql", (u.host or "localhost").lower(), str(u.port or 5432), u.database or "")


def _check_url(value: str) -> str:
    """A database URL normalised like DUBAN_DATABASE_URL; ValueError with the problem."""
    url = Settings._database_url(value)
    u = make_url(url)
    if not u.database or u.database == ":memory:":
        raise ValueError("must name a database (a file for SQLite, a database for PostgreSQL)")
    return url


def load_counties(path: Path, environ: Mapping[str, str] = os.environ, *, require_tokens: bool = True) -> list[County]:
    """Read and validate a counties file; CountiesError lists every problem.

    ``require_tokens=False`` (``duban migrate --counties``) skips the checks of the tokens, which a
    migration does not need."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CountiesError([f"?: file: {path} does not exist"], path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CountiesError([f"?: file: cannot read {path}: {exc}"], path) from None
    except tomllib.TOMLDecodeError as exc:
        raise CountiesError([f"?: file: not valid TOML: {exc}"], path) from None
    problems: list[str] = [f"?: {key}: unknown key (the file holds [[county]] tables only)"
                           for key in raw if key != "county"]
    tables: Any = raw.get("county", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise CountiesError([*problems, "?: county: must be [[county]] tables"], path)
    if not tables:
        raise CountiesError([*problems, "?: county: no [[county]] tables"], path)

    counties: list[County] = []
    first_code: dict[str, int] = {}
    databases: dict[tuple[str, ...], str] = {}
    tokens: dict[str, str] = {}
    for n, table in enumerate(tables, 1):
        code = table.get("code")
        usable = isinstance(code, str) and CODE_RE.fullmatch(code) is not None
        label = code if usable else f"#{n}"

        def bad(field: str, problem: str, label: str = label) -> None:
            problems.append(f"{label}: {field}: {problem}")

        for key in table:
            if key not in REQUIRED and key not in OPTIONAL:
                bad(key, "unknown key")
        values: dict[str, str | None] = {}
        for field in (*REQUIRED, *OPTIONAL):
            value = table.get(field)
            if value is None:
                if field in REQUIRED:
                    bad(field, "missing")
                values[field] = None
            elif not isinstance(value, str) or not value.strip():
                bad(field, "must be a non-empty string")
                values[field] = None
            else:
                values[field] = value.strip()
        before = len(problems)

        if values["code"] is not None and not usable:
            bad("code", f"{code!r} is not a county code (lowercase letters, digits, _ and - only)")
        elif usable:
            if code in first_code:
                bad("code", f"duplicate: county #{first_code[code]} has the same code")
            else:
                first_code[code] = n

        token_env = values["token_env"]
        if token_env is not None:
            if not _ENV_NAME_RE.fullmatch(token_env):
                bad("token_env", f"{token_env!r} is not the name of an environment variable")
            elif require_tokens:
                token = environ.get(token_env, "").strip()
                if not token:
                    bad("token_env", f"{token_env} is not set in the environment")
                else:
                    try:
                        Settings._token(SecretStr(token))
                    except ValueError as exc:
                        bad("token_env", f"{token_env} {exc}")
                    else:
                        if token in tokens:
                            bad("token_env", f"the same bot token as county {tokens[token]} (each county has its "
                                             "own bot)")
                        else:
                            tokens[token] = label

        database_url = values["database_url"]
        if database_url is not None:
            try:
                database_url = _check_url(database_url)
            except ValueError as exc:
                bad("database_url", str(exc).removeprefix("Value error, "))
                database_url = None
            else:
                identity = database_identity(database_url)
                if identity in databases:
                    bad("database_url", f"the same database as county {databases[identity]} (each county needs "
                                        "its own database)")
                else:
                    databases[identity] = label

        if values["bot_username"] is not None:
            try:
                Settings._username(values["bot_username"])
            except ValueError as exc:
                bad("bot_username", str(exc))
        for field in ("bot_api_base_url", "bot_api_file_url"):
            if values[field] is not None:
                try:
                    values[field] = Settings._url(values[field])
                except ValueError as exc:
                    bad(field, str(exc))

        if len(problems) == before and usable and all(values[f] is not None for f in REQUIRED):
            counties.append(County(
                code=code, name=values["name"], token_env=values["token_env"],  # type: ignore[arg-type]
                database_url=database_url,  # type: ignore[arg-type]
                bot_username=values["bot_username"], bot_api_base_url=values["bot_api_base_url"],
                bot_api_file_url=values["bot_api_file_url"],
            ))
    if problems:
        raise CountiesError(problems, path)
    return counties


def county_settings(settings: Settings, county: County, environ: Mapping[str, str] = os.environ) -> Settings:
    """The settings of one county: its token, database, bot username, Bot API URLs and its own
    evidence folder (``DUBAN_EVIDENCE_DIR/<code>``); everything else as the process was given."""
    token = environ.get(county.token_env)
    update: dict[str, Any] = {
        "token": SecretStr(token.strip()) if token and token.strip() else None,
        "database_url": county.database_url,
        "bot_username": county.bot_username,
        "evidence_dir": settings.evidence_dir / county.code,
    }
    if county.bot_api_base_url:
        update["bot_api_base_url"] = county.bot_api_base_url
    if county.bot_api_file_url:
        update["bot_api_file_url"] = county.bot_api_file_url
    return settings.model_copy(update=update)
