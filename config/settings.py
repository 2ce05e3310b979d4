"""Settings: environment variables with the ``DUBAN_`` prefix, optionally from ``.env``."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SUPPORTED_LOCALES = ("zh", "en")
_USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DUBAN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    token: SecretStr | None = None
    bot_username: str | None = None
    database_url: str = "sqlite+aiosqlite:///data/duban.db"
    bot_api_base_url: str = "https://api.telegram.org/bot"
    bot_api_file_url: str = "https://api.telegram.org/file/bot"
    timezone: str = "Asia/Shanghai"
    locale: str = "zh"
    evidence_dir: Path = Path("data/evidence")
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # Delivery of outgoing messages (the outbox worker).
    delivery_interval: float = 1.0
    per_chat_interval: float = 1.0
    delivery_max_attempts: int = 8
    # Pushes per second overall (Telegram allows about 30 per bot; the rest is left for replies).
    outbox_rate: float = 20.0
    # The scheduler: seconds between ticks (0 = no repeating tick, e.g. in flow tests), quiet hours
    # (ordinary reminders wait for the next working morning), working days before an unacknowledged
    # alert goes one step up.
    tick_interval: float = 60.0
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    ack_timeout_working_days: int = 1
    # How long handled update ids are kept (Telegram redelivers for at most 24 hours).
    handled_update_retention_days: int = 7
    # Evidence people send: files in one draft, megabytes of new files per person a day, and the days after
    # which files nothing refers to (a cancelled or abandoned draft's) are collected by the scheduler.
    max_files_per_draft: int = 20
    max_upload_mb_per_day: int = 200
    evidence_grace_days: int = 7
    # Supervision items (督办件): working hours (09:00–17:00 on working days) a unit has to sign for an item
    # (签收) before its light turns yellow and the reminder climbs to the unit's linked leaders.
    item_sign_hours: int = 8
    # Warning notices (预警通知单): working days a unit has to answer a red pace warning with its reason and next
    # steps before the notice climbs to its linked leaders (then the office), like an unacknowledged alert.
    warning_answer_working_days: int = 3
    # The public survey's key, held outside the database (services/assessment/survey_keys.py): without it
    # nobody can answer; keep it, as changing it closes the survey.
    survey_secret: SecretStr | None = None
    # PostgreSQL connections per county database per process (pool + overflow); SQLite ignores them.
    db_pool_size: int = Field(default=5, ge=1, le=100)
    db_max_overflow: int = Field(default=5, ge=0, le=100)
    # Webhook mode (``duban run --webhook URL``): the shared secret Telegram sends back in every request
    # (each county's own secret is derived from it), where our web server listens (behind a reverse
    # proxy that terminates TLS: loopback by default), and the largest request body accepted.
    webhook_secret: SecretStr | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8080
    # Serve /healthz and /metrics on this port (on DUBAN_WEBHOOK_HOST), polling or webhook mode; unset: none.
    health_port: int | None = None
    webhook_max_body: int = 1024 * 1024
    # Log lines: "text" for people at a terminal, "json" (one object a line) for log collectors.
    log_format: str = "text"
    # Updates of different chats handled at once (one chat's updates always wait for each other first).
    concurrent_updates: int = Field(default=64, ge=1, le=1024)
    # Per user: updates a second kept up (0: no throttle) and how many may come at once (an album counts
    # once); beyond that an update is dropped before any database work (one "too fast" line a minute).
    user_rate: float = 1.0
    user_burst: int = Field(default=30, ge=1, le=10_000)
    # Seconds between two "you are not registered" answers to the same stranger.
    stranger_reply_interval: float = 300.0
    # Our web server: seconds for a request's headers to arrive (from the connection's start or the
    # end of the previous response), seconds for its body, and open connections at most (more: refused).
    web_header_timeout: float = 10.0
    web_body_timeout: float = 10.0
    web_max_connections: int = Field(default=512, ge=1, le=100_000)
    # /healthz and /metrics on the webhook port only with ``Authorization: Bearer <this>`` (unset: not
    # served there; DUBAN_HEALTH_PORT serves them without it).
    metrics_token: SecretStr | None = None
    # /healthz turns unhealthy when the evidence folder's disk has less than this many MB free.
    health_min_free_mb: int = Field(default=1024, ge=0)
    # The leaders' dashboard (services/dashboard/, bot/serve/dashboard.py): in polling mode our web server
    # listens on DUBAN_WEB_PORT (webhook mode: on the webhook port); people reach it at DUBAN_PUBLIC_URL
    # (https, behind the proxy); map tiles only from DUBAN_MAP_TILES (a URL template with {z}/{x}/{y});
    # Telegram's initData is accepted for this many seconds after its auth_date; a session lasts this long.
    web_port: int | None = None
    public_url: str | None = None
    map_tiles: str | None = None
    dashboard_init_max_age: int = Field(default=3600, ge=10, le=7 * 24 * 3600)
    dashboard_session_hours: float = Field(default=8.0, gt=0, le=24 * 30)

    @field_validator("token")
    @classmethod
    def _token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value().strip():
            return None
        value = v.get_secret_value().strip()
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]{10,}", value):
            raise ValueError("does not look like a bot token (digits:letters from @BotFather)")
        return SecretStr(value)

    @field_validator("bot_username")
    @classmethod
    def _username(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip()
        if v.startswith("@"):
            raise ValueError("give the bot's username without the leading @")
        if not _USERNAME_RE.fullmatch(v):
            raise ValueError("is not a Telegram username")
        return v

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, v: str) -> str:
        v = v.strip()
        if v.startswith("postgresql://") or v.startswith("postgres://"):
            v = "postgresql+asyncpg://" + v.split("://", 1)[1]
        if v.startswith("sqlite://") and not v.startswith("sqlite+aiosqlite://"):
            v = "sqlite+aiosqlite://" + v.split("://", 1)[1]
        if not (v.startswith("sqlite+aiosqlite://") or v.startswith("postgresql+asyncpg://")):
            raise ValueError("must be sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB")
        return v

    @field_validator("bot_api_base_url", "bot_api_file_url")
    @classmethod
    def _url(cls, v: str) -> str:
        v = v.strip()
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("must be an http(s) URL")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("is not a known time zone such as Asia/Shanghai") from exc
        return v

    @field_validator("locale")
    @classmethod
    def _locale(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in SUPPORTED_LOCALES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
        return v

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, v: object) -> object:
        if isinstance(v, str):
            parts = [p for p in re.split(r"[,;\s]+", v.strip()) if p]
            try:
                return [int(p) for p in parts]
            except ValueError as exc:
                raise ValueError("must be Telegram user ids separated by commas") from exc
        if isinstance(v, int):
            return [v]
        return v

    @field_validator("delivery_interval", "per_chat_interval", "tick_interval")
    @classmethod
    def _non_negative(cls, v: float) -> float:
        if v < 0:
            raise ValueError("must not be negative")
        return v

    @field_validator("outbox_rate")
    @classmethod
    def _rate(cls, v: float) -> float:
        if not 0 < v <= 30:
            raise ValueError("must be above 0 and at most 30 (Telegram's limit per bot)")
        return v

    @field_validator("ack_timeout_working_days", "delivery_max_attempts")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be at least 1")
        return v

    @field_validator("max_files_per_draft", "max_upload_mb_per_day", "evidence_grace_days")
    @classmethod
    def _evidence_limit(cls, v: int) -> int:
        if not 1 <= v <= 100_000:
            raise ValueError("must be a whole number from 1 to 100000")
        return v

    @field_validator("survey_secret")
    @classmethod
    def _survey_secret(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value().strip():
            return None
        if len(v.get_secret_value().strip()) < 16:
            raise ValueError("is too short: use at least 16 random characters (e.g. from `openssl rand -hex 32`)")
        return SecretStr(v.get_secret_value().strip())

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value().strip():
            return None
        if len(v.get_secret_value().strip()) < 16:
            raise ValueError("is too short: use at least 16 random characters (e.g. from `openssl rand -hex 32`)")
        return SecretStr(v.get_secret_value().strip())

    @field_validator("webhook_host")
    @classmethod
    def _host(cls, v: str) -> str:
        v = v.strip().strip("[]")
        if not re.fullmatch(r"[A-Za-z0-9.:_-]+", v):
            raise ValueError("must be a host name or IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0")
        return v

    @field_validator("public_url", "map_tiles")
    @classmethod
    def _public_url(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip()
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("must be an http(s) URL")
        if info.field_name == "map_tiles" and not all(part in v for part in ("{z}", "{x}", "{y}")):
            raise ValueError("must be a tile URL template with {z}, {x} and {y}")
        return v.rstrip("/") if info.field_name == "public_url" else v

    @field_validator("webhook_port", "health_port", "web_port")
    @classmethod
    def _port(cls, v: int | None) -> int | None:
        if v is not None and not 0 <= v <= 65535:
            raise ValueError("must be a TCP port number (1-65535; 0 picks a free port)")
        return v

    @field_validator("webhook_max_body")
    @classmethod
    def _max_body(cls, v: int) -> int:
        if v < 1024:
            raise ValueError("must be at least 1024 bytes (Telegram's updates are up to a few kilobytes)")
        return v

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in ("text", "json"):
            raise ValueError("must be text or json")
        return v

    @field_validator("user_rate")
    @classmethod
    def _user_rate(cls, v: float) -> float:
        if v < 0:
            raise ValueError("must not be negative (0 turns the per-user throttle off)")
        return v

    @field_validator("stranger_reply_interval")
    @classmethod
    def _stranger_interval(cls, v: float) -> float:
        if v < 0:
            raise ValueError("must not be negative (seconds; 0 answers every message)")
        return v

    @field_validator("web_header_timeout", "web_body_timeout")
    @classmethod
    def _web_timeout(cls, v: float) -> float:
        if not 0 < v <= 600:
            raise ValueError("must be above 0 and at most 600 seconds")
        return v

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value().strip():
            return None
        value = v.get_secret_value().strip()
        if len(value) < 16 or not re.fullmatch(r"[\x21-\x7e]+", value):
            raise ValueError("must be at least 16 printable characters without spaces (e.g. `openssl rand -hex 32`)")
        return SecretStr(value)

    @field_validator("warning_answer_working_days")
    @classmethod
    def _warning_days(cls, v: int) -> int:
        if not 1 <= v <= 30:
            raise ValueError("must be a whole number of working days from 1 to 30")
        return v

    @field_validator("item_sign_hours")
    @classmethod
    def _item_sign_hours(cls, v: int) -> int:
        if not 1 <= v <= 200:
            raise ValueError("must be a whole number of working hours from 1 to 200 (8 is one working day)")
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def survey_key(self) -> str | None:
        """DUBAN_SURVEY_SECRET, or None when it is not set."""
        return self.survey_secret.get_secret_value() if self.survey_secret is not None else None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def require_token(self) -> str:
        if self.token is None:
            raise SettingsError(
                "DUBAN_TOKEN is not set: put the bot token from @BotFather in DUBAN_TOKEN (or in .env)"
            )
        return self.token.get_secret_value()


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err.get("loc") else "?"
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        raise SettingsError(f"DUBAN_{field.upper()} {msg}") from None
