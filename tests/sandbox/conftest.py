"""The demo county, built once per test run by a real ``duban sandbox`` and copied for each test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.sandboxrig import build_template, copy_template


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("sandbox-template") / "data")


@pytest.fixture
def demo_data(demo_template: Path, tmp_path: Path) -> Path:
    return copy_template(demo_template, tmp_path / "data")
