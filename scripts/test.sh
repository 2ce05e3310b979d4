#!/usr/bin/env bash
# Set up (a .venv with Duban and its test tools) and run the whole test suite.
# PostgreSQL runs too when DUBAN_TEST_POSTGRES_URL is set, e.g.
#   DUBAN_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
export PTB_TIMEDELTA=1
exec .venv/bin/python -m pytest "$@"
