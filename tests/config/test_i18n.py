"""Both languages carry every message, with the same placeholders, and nothing untranslated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config.i18n import LANGUAGES, catalogue, placeholders, t
from models.enums import Role
from services.people.menu import BY_ROLE, COMMON, PUBLIC

ROOT = Path(__file__).resolve().parents[2]
# Literal message ids passed to t(), th(), tr(...) or DomainError-style keys.
KEY_RE = re.compile(
    r"""\b(?:t|th|tr|_render|DomainError|NotFound|InvalidInput|fail)\(\s*["']([a-z_]+(?:\.[a-z0-9_]+)+)["']"""
)


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for folder in ("bot", "handlers", "services"):
        for path in (ROOT / folder).rglob("*.py"):
            keys |= set(KEY_RE.findall(path.read_text(encoding="utf-8")))
    keys |= {f"role.{r.value}" for r in Role}
    commands = set(COMMON) | set(PUBLIC) | {c for cs in BY_ROLE.values() for c in cs}
    keys |= {f"cmd.{c}" for c in commands}
    keys |= {f"invite.status.{s}" for s in ("unused", "used", "expired", "revoked")}
    return keys


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    zh, en = catalogue("zh"), catalogue("en")
    assert set(zh) == set(en), set(zh) ^ set(en)
    for key in zh:
        assert zh[key].strip() and en[key].strip(), f"untranslated: {key}"
        assert placeholders(zh[key]) == placeholders(en[key]), key


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_the_code_uses_exists(lang: str) -> None:
    missing = sorted(k for k in _used_keys() if k not in catalogue(lang))
    assert missing == []


def test_chinese_is_the_default_and_unknown_languages_fall_back_to_it() -> None:
    assert t("role.cadre") == "干部"
    assert t("role.cadre", "fr") == "干部"
    assert t("role.cadre", "en-US") == "cadre"
