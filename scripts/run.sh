#!/usr/bin/env bash
# Set up and run Duban on this machine: a .venv, Duban installed, then
#  - with DUBAN_TOKEN (from @BotFather, in the environment or in .env): the bot, database migrated, polling;
#  - without it: the sandbox (duban sandbox): a local Bot API, a web chat at the address it prints, a demo
#    county and a movable clock, all in data/ (sandbox.db), nothing sent to Telegram.
# Arguments go to `duban run` or `duban sandbox` (e.g. scripts/run.sh --port 8091).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check .
export PTB_TIMEDELTA=1
if [ -z "${DUBAN_TOKEN:-}" ] && ! grep -qs '^DUBAN_TOKEN=.' .env; then
  exec .venv/bin/duban sandbox "$@"
fi
exec .venv/bin/duban run "$@"
