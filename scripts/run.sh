#!/usr/bin/env bash
# Set up and run the bot on this machine: a .venv, Duban installed, the database migrated, polling.
# Needs DUBAN_TOKEN (from @BotFather) in the environment or in .env; everything else has defaults
# (SQLite in data/duban.db, evidence in data/evidence).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check .
export PTB_TIMEDELTA=1
exec .venv/bin/duban run "$@"
