"""Run Alembic migrations that ship inside the package (works from an installed wheel)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database of ``engine`` to ``revision``."""

    def _run(connection) -> None:  # type: ignore[no-untyped-def]
        cfg = alembic_config(str(engine.url))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def _run(connection) -> str | None:  # type: ignore[no-untyped-def]
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(_run)


def head_revision() -> str:
    """The newest revision the code ships."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head())


async def is_current(engine: AsyncEngine) -> bool:
    """Whether the database of ``engine`` is at the newest revision (False for a database never migrated)."""
    try:
        return await current_revision(engine) == head_revision()
    except Exception:  # no such database file, cannot connect...: not current
        return False
