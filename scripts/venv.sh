#!/usr/bin/env bash
# Creates (or updates) the project's virtual environment in .venv from pyproject.toml.
# Usage: scripts/venv.sh [extra]   e.g. "test" installs the test tools too.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "DigiKnow Desk needs Python 3.11 or newer; $("$python" --version 2>&1) was found." >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=.venv/.installed-${1:-app}
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet --editable ".${1:+[$1]}"
  touch "$stamp"
fi
